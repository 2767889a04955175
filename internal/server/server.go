package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"depot/internal/atomicfile"
	"depot/internal/certs"
	"depot/internal/config"
	"depot/internal/docroot"
	"depot/internal/errorlog"
	"depot/internal/logsink"
	"depot/internal/metrics"
	"depot/internal/outbound"
	"depot/internal/responder"
)

// Limits that bound slow and hostile clients. Bodies are never read (only
// GET and HEAD are served), so reading a request is quick for any honest
// client; writing a large file may take long, so there is no write
// timeout, only a send timeout: the most time a client may accept no
// byte of a response (Options.SendTimeout).
const (
	ReadHeaderTimeout = 10 * time.Second
	ReadTimeout       = 30 * time.Second
	IdleTimeout       = 75 * time.Second // nginx's keepalive_timeout
	// MaxHeaderBytes bounds the request line and headers together to
	// 16 KiB (nginx: large_client_header_buffers 4 8k). net/http reads
	// up to MaxHeaderBytes plus 4096 bytes of slack, so the value set is
	// 4 KiB less; TestHeaderLimitIs16KiB holds the sum to 16 KiB.
	MaxHeaderBytes  = 16<<10 - 4096
	ShutdownTimeout = 30 * time.Second
	// MaxConcurrentStreams caps the requests one HTTP/2 connection has in
	// flight (nginx's http2_max_concurrent_streams).
	MaxConcurrentStreams = 128
)

// Options are what the caller adds to a configuration.
type Options struct {
	// Responders, if set, returns the responders of a site (metalinks,
	// redirects, published pages). It is called again on every reload.
	Responders func(config.Site) []responder.Responder
	// Now is the clock of log lines; nil means time.Now.
	Now func() time.Time
	// ReadHeaderTimeout, ReadTimeout and IdleTimeout override the package
	// defaults when non-zero (tests use short ones).
	ReadHeaderTimeout, ReadTimeout, IdleTimeout time.Duration
	// SendTimeout and MaxResponses override the configuration's
	// send_timeout and max_responses when non-zero.
	SendTimeout  time.Duration
	MaxResponses int
	// Logf receives what the operator must hear about the server's own
	// files at once (standard error in depot serve): a log file that
	// cannot be written, and when it can be again. nil discards it.
	Logf func(format string, args ...any)
	// ACME, required when the configuration uses ACME, serves the
	// certificates it obtained on TLS listeners and answers its HTTP-01
	// challenges on plain clearnet ones. The caller runs it.
	ACME *certs.ACME
	// Metrics, if set, counts the requests of clearnet listeners. Onion
	// listeners never see it.
	Metrics *metrics.Metrics
	// NoLane leaves every request to net/http (see lane.go): for tests
	// that compare the two.
	NoLane bool
}

// Server runs every listener of one configuration.
type Server struct {
	opts   Options
	cfg    *config.Config
	sites  table
	access *logsink.File // nil when there is no clearnet listener
	errors *logsink.File

	listeners []net.Listener // bound, in configuration order
	tls       []*listenerTLS // by listener; nil for a plain one
	tickets   certs.Tickets  // session-ticket keys of the TLS listeners
	mu        sync.Mutex     // guards cfg and reloads
	connIDs   atomic.Uint64  // numbers clearnet connections, for the error log
	gate      *gate          // caps responses in flight
	conns     atomic.Pointer[connSet]
	cache     *fileCache               // small files, shared by every site and listener
	roots     map[string]*docroot.Root // by path, kept across reloads; guarded by mu
}

// MaxResponses is the cap on responses in flight in effect: the
// configuration's, or less under a low open-file limit.
func (s *Server) MaxResponses() int { return int(s.gate.max) }

// New builds the server for a validated configuration: it opens every
// site's root, but binds and creates nothing yet (see Listen).
func New(cfg *config.Config, opts Options) (*Server, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ReadHeaderTimeout == 0 {
		opts.ReadHeaderTimeout = ReadHeaderTimeout
	}
	if opts.ReadTimeout == 0 {
		opts.ReadTimeout = ReadTimeout
	}
	if opts.IdleTimeout == 0 {
		opts.IdleTimeout = IdleTimeout
	}
	if opts.SendTimeout <= 0 {
		opts.SendTimeout = time.Duration(cmp.Or(cfg.SendTimeout, config.DefaultSendTimeout))
	}
	if opts.MaxResponses <= 0 {
		opts.MaxResponses = cmp.Or(cfg.MaxResponses, config.DefaultMaxResponses)
	}
	s := &Server{opts: opts, cfg: cfg, gate: newGate(opts.MaxResponses), roots: map[string]*docroot.Root{}}
	roots, err := s.openRoots(cfg.Site)
	if err != nil {
		return nil, err
	}
	s.roots = roots
	s.cache = newFileCache(0, 0, opts.Now)
	s.cache.setLimits(cacheLimits(cfg.FileCache))
	st := newSites(cfg.Site, opts.Responders, s.gate, roots, s.cache)
	st.minimalErrors = cfg.ErrorLogDetail == config.ErrorLogMinimal
	s.sites.Store(st)
	s.tls = make([]*listenerTLS, len(cfg.Listen))
	for i, l := range cfg.Listen {
		if !l.TLS() {
			continue
		}
		if s.tls[i], err = s.newListenerTLS(l); err != nil {
			for _, r := range roots {
				r.Close()
			}
			return nil, fmt.Errorf("listen[%d] %s: %w", i, l.Address, err)
		}
	}
	return s, nil
}

// cacheLimits are the file cache's limits of a configuration.
func cacheLimits(fc config.FileCache) (maxFile, maxSize int64) {
	if fc.Off {
		return 0, 0
	}
	return int64(fc.MaxFile), int64(fc.MaxSize)
}

// openRoots returns the root of every site's root path: the one already
// open for that path (so that its cached files stay), or a new one. On an
// error it closes the roots it opened. s.mu is held, or s is not shared
// yet.
func (s *Server) openRoots(cfgs []config.Site) (map[string]*docroot.Root, error) {
	roots := map[string]*docroot.Root{}
	for _, c := range cfgs {
		if roots[c.Root] != nil {
			continue
		}
		if r := s.roots[c.Root]; r != nil {
			roots[c.Root] = r
			continue
		}
		r, err := docroot.Open(c.Root, s.opts.Now)
		if err != nil {
			for p, r := range roots {
				if s.roots[p] != r {
					r.Close()
				}
			}
			return nil, err
		}
		roots[c.Root] = r
	}
	return roots, nil
}

// closeRoots closes every root (Close, and the end of Serve).
func (s *Server) closeRoots() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.roots {
		r.Close()
	}
}

// AccessLog and ErrorLog are the clearnet log files (nil without a
// clearnet listener, and before Listen), for rotation.
func (s *Server) AccessLog() *logsink.File { return s.access }
func (s *Server) ErrorLog() *logsink.File  { return s.errors }

// Listen binds every listener, or none: if one fails, those already bound
// are closed and the error names the listener. Only once all are bound
// does it create anything: log_dir (its last element only) and the log
// files, for clearnet listeners. A failed Listen leaves nothing behind.
func (s *Server) Listen() error {
	for i, l := range s.cfg.Listen {
		ln, err := listen(l)
		if err != nil {
			s.closeListeners()
			return fmt.Errorf("listen[%d] %s: %w", i, l.Address, err)
		}
		s.listeners = append(s.listeners, ln)
	}
	if err := s.openLogs(); err != nil {
		s.closeListeners()
		return err
	}
	return nil
}

// Close undoes New and Listen for a start that fails before Serve: it
// closes the listeners, the log files and the sites' roots.
func (s *Server) Close() error {
	s.closeListeners()
	s.closeRoots()
	return s.closeLogs()
}

// closeListeners closes what Listen bound, removing the unix sockets it
// created.
func (s *Server) closeListeners() {
	for _, ln := range s.listeners {
		ln.Close() // a *net.UnixListener removes its socket file
	}
	s.listeners = nil
}

// openLogs opens access.log and error.log when a clearnet listener
// exists. A write failure (a full disk) is reported on Options.Logf when
// it starts, and there and in error.log when it ends, with the lines lost.
func (s *Server) openLogs() error {
	if !slices.ContainsFunc(s.cfg.Listen, func(l config.Listen) bool { return !l.Onion }) {
		return nil
	}
	if err := atomicfile.MakeDir(s.cfg.LogDir, 0o750); err != nil {
		return fmt.Errorf("log_dir: %w", err)
	}
	opts := logsink.FileOptions{Report: s.reportIncident, Now: s.opts.Now}
	var err error
	if s.access, err = logsink.OpenWith(filepath.Join(s.cfg.LogDir, "access.log"), opts); err == nil {
		s.errors, err = logsink.OpenWith(filepath.Join(s.cfg.LogDir, "error.log"), opts)
	}
	if err != nil {
		s.closeLogs()
		s.access, s.errors = nil, nil
		return err
	}
	return nil
}

// reportIncident tells the operator that a log file cannot be written, and
// when it can again with how many lines were lost: on Logf at once, and as
// an error-log line once writing works again (the error log may be on the
// same full disk, so it is not written to before).
func (s *Server) reportIncident(in logsink.Incident) {
	if s.opts.Logf != nil {
		s.opts.Logf("%v", in)
	}
	if in.End.IsZero() {
		return
	}
	_, _ = s.errors.Write(errorlog.Append(nil, &errorlog.Entry{
		Time: in.End, Level: errorlog.Alert, PID: os.Getpid(), Message: in.String(),
	}))
}

func listen(l config.Listen) (net.Listener, error) {
	if !l.IsUnix() {
		return net.Listen("tcp", l.Address)
	}
	path := l.SocketPath()
	// A socket left by a previous run that died is removed; any other file
	// at that path is not ours to delete.
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("%s exists and is not a socket", path)
		}
		if c, err := outbound.DialSelf(context.Background(), "unix", path); err == nil {
			c.Close()
			return nil, fmt.Errorf("%s is in use by another process", path)
		}
		os.Remove(path)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	// Read and write for depot's user and the socket's group only: the
	// local tor reaches an onion socket through its group (socket_group),
	// and nobody else can reach it at all.
	if err := os.Chmod(path, 0o660); err != nil {
		ln.Close()
		return nil, err
	}
	if l.SocketGroup != "" {
		gid, err := config.LookupGroup(l.SocketGroup)
		if err == nil {
			err = os.Lchown(path, -1, gid)
		}
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("socket_group %q: %w", l.SocketGroup, err)
		}
	}
	return ln, nil
}

// Addrs are the bound addresses, in configuration order (after Listen).
func (s *Server) Addrs() []net.Addr {
	addrs := make([]net.Addr, len(s.listeners))
	for i, ln := range s.listeners {
		addrs[i] = ln.Addr()
	}
	return addrs
}

// Serve serves on every bound listener until ctx is done, then stops
// gracefully (see stop), flushes and closes the logs. It returns the first
// serving error, or nil after a clean shutdown.
func (s *Server) Serve(ctx context.Context) error {
	if s.listeners == nil {
		return errors.New("server: Serve called before Listen")
	}
	httpsPort := s.httpsPort()
	conns := newConnSet(s.gate.connLimit)
	s.conns.Store(conns)
	var servers []*http.Server
	var tops []net.Listener
	for i, l := range s.cfg.Listen {
		srv, h := s.httpServer(l, conns)
		if h != nil {
			h.edge = s.edgeFor(l, httpsPort)
		}
		g := &guardListener{Listener: s.listeners[i], sendTimeout: s.opts.SendTimeout, conns: conns}
		var ln net.Listener = g
		switch {
		case l.Onion:
		case l.TLS():
			g.ids = &s.connIDs
			if err := serveH2(srv, h); err != nil {
				return err
			}
			var mkLane func(func(net.Conn) bool) *lane
			if !s.opts.NoLane {
				mkLane = func(deliver func(net.Conn) bool) *lane { return newLane(srv, h, deliver) }
			}
			ln = newTLSListener(g, s.tls[i].cfg, s.opts.ReadHeaderTimeout, h, mkLane)
		case s.opts.NoLane:
			g.ids = &s.connIDs
			ln = recordingListener{g} // logs what net/http refuses itself
		default:
			g.ids = &s.connIDs
			ln = newLaneListener(g, func(deliver func(net.Conn) bool) *lane { return newLane(srv, h, deliver) })
		}
		servers = append(servers, srv)
		tops = append(tops, ln)
	}
	stopping := make(chan struct{})
	errc := make(chan error, len(servers))
	for i, srv := range servers {
		go func() {
			err := srv.Serve(tops[i])
			select {
			case <-stopping:
				err = nil // the stop closed the listener
			default:
				if errors.Is(err, http.ErrServerClosed) {
					err = nil
				}
			}
			errc <- err
		}()
	}

	tctx, stopTickets := context.WithCancel(ctx)
	defer stopTickets()
	go s.tickets.Run(tctx)

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	close(stopping)
	s.stop(servers, tops, conns)
	// A connection's last line (a refused request) is written after net/http
	// forgets it; the logs close after that.
	conns.waitFinished(5 * time.Second)
	for _, l := range s.cfg.Listen {
		if l.IsUnix() {
			os.Remove(l.SocketPath())
		}
	}
	s.closeRoots()
	return errors.Join(serveErr, s.closeLogs())
}

// stop ends serving gracefully, within ShutdownTimeout: it stops
// accepting, closes every HTTP/1 connection that has received nothing of
// a request, and lets the others finish the request they are receiving
// or answering, then closes them (see connSet.drain). So a request whose
// bytes arrived is answered, and any other is refused by closing the
// connection before it is read, which a client may retry (RFC 9112
// §9.3.1). (net/http's Shutdown alone drops a request that it finishes
// reading after the stop began, and closes a connection that is
// receiving one as idle.) HTTP/2 connections then get net/http's GOAWAY
// and finish their streams.
func (s *Server) stop(servers []*http.Server, listeners []net.Listener, conns *connSet) {
	ctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	for _, ln := range listeners {
		ln.Close()
	}
	select {
	case <-conns.drain():
	case <-ctx.Done():
	}
	var wg sync.WaitGroup
	for _, srv := range servers {
		wg.Go(func() {
			if err := srv.Shutdown(ctx); err != nil {
				srv.Close()
			}
		})
	}
	wg.Wait()
	conns.closeAll()
}

// httpServer builds the http.Server of one listener and, for a clearnet
// one, its handler chain (which also logs what net/http refuses).
func (s *Server) httpServer(l config.Listen, conns *connSet) (*http.Server, *clearnetHandler) {
	srv := &http.Server{
		ReadHeaderTimeout: s.opts.ReadHeaderTimeout,
		ReadTimeout:       s.opts.ReadTimeout,
		IdleTimeout:       s.opts.IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		ConnContext:       withConn,
		ConnState:         connIdle,
		HTTP2:             &http.HTTP2Config{MaxConcurrentStreams: MaxConcurrentStreams},
		// "OPTIONS *" reaches the handler, which answers it (405) and, on
		// clearnet, logs it; net/http's own answer would leave no trace.
		DisableGeneralOptionsHandler: true,
	}
	if l.Onion {
		srv.Handler = guardHandler{next: newOnion(&s.sites), sendTimeout: s.opts.SendTimeout, conns: conns}
		srv.ConnContext = markOnion(srv.ConnContext)
		// net/http's own messages (accept errors, panics) name the client
		// too: on an onion listener they go nowhere.
		srv.ErrorLog = log.New(io.Discard, "", 0)
		return srv, nil
	}
	h := newClearnet(&s.sites, s.access, s.errors, s.opts.Now, s.opts.Metrics)
	srv.Handler = guardHandler{next: h, sendTimeout: s.opts.SendTimeout, conns: conns}
	srv.ErrorLog = log.New(&serverErrors{w: s.errors, now: s.opts.Now}, "", 0)
	srv.ConnContext = s.clearnetContext
	srv.ConnState = h.connState
	return srv, h
}

// Reload swaps in a new configuration's sites. It builds the whole new
// table before swapping, so a failure leaves the old one serving. Changes
// to listeners or log_dir need a restart; Reload reports them as an error
// after applying the rest.
func (s *Server) Reload(cfg *config.Config) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	roots, err := s.openRoots(cfg.Site)
	if err != nil {
		return err
	}
	s.cache.setLimits(cacheLimits(cfg.FileCache))
	st := newSites(cfg.Site, s.opts.Responders, s.gate, roots, s.cache)
	st.minimalErrors = cfg.ErrorLogDetail == config.ErrorLogMinimal
	s.sites.Store(st)
	for p, r := range s.roots {
		if roots[p] == r {
			// The same path: look at it now rather than within a second,
			// for an operator who reloads after a deploy.
			r.Moved(r.Current())
			continue
		}
		// A root no site has any more: its files leave the cache now.
		// Requests in flight may still hold it; it closes after them,
		// taking along what they put in the cache meanwhile.
		s.cache.dropRoot(r)
		time.AfterFunc(ShutdownTimeout, func() {
			s.cache.dropRoot(r)
			r.Close()
		})
	}
	s.roots = roots
	var restart []string
	if !slices.EqualFunc(cfg.Listen, s.cfg.Listen, config.Listen.Equal) {
		restart = append(restart, "listen")
	}
	if cfg.ACMECA() != s.cfg.ACMECA() || !slices.Equal(cfg.ACMEHosts(), s.cfg.ACMEHosts()) || cfg.ACME != s.cfg.ACME {
		restart = append(restart, "acme")
	}
	if cfg.LogDir != s.cfg.LogDir {
		restart = append(restart, "log_dir")
	}
	s.cfg.Site, s.cfg.FileCache = cfg.Site, cfg.FileCache
	if len(restart) > 0 {
		return fmt.Errorf("sites reloaded, but changes to %v take effect only after a restart", restart)
	}
	return nil
}

// ReopenLogs reopens the log files (after an external logrotate).
func (s *Server) ReopenLogs() error {
	if s.access == nil {
		return nil
	}
	return errors.Join(s.access.Reopen(), s.errors.Reopen())
}

func (s *Server) closeLogs() error {
	var errs []error
	for _, f := range []*logsink.File{s.access, s.errors} {
		if f != nil {
			errs = append(errs, f.Close())
		}
	}
	return errors.Join(errs...)
}

// serverErrors turns net/http's own log messages into nginx-style lines.
// A message that names a client ("... from 203.0.113.7:4711: ...") gets
// that address in its client field too, where `depot logs search --ip`
// finds it.
type serverErrors struct {
	w   io.Writer
	now func() time.Time
}

func (e *serverErrors) Write(p []byte) (int, error) {
	msg := strings.TrimRight(string(p), "\n")
	entry := errorlog.Entry{Time: e.now(), Level: "info", PID: os.Getpid(), Message: msg, Client: clientIn(msg)}
	if _, err := e.w.Write(errorlog.Append(nil, &entry)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// clientIn finds the first "address:port" word of a message and returns
// the address.
func clientIn(msg string) string {
	for _, w := range strings.Fields(msg) {
		host, port, err := net.SplitHostPort(strings.TrimRight(w, ":,;"))
		if err != nil || port == "" {
			continue
		}
		if a, err := netip.ParseAddr(host); err == nil {
			return a.String()
		}
	}
	return ""
}

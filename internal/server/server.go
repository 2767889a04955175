package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"depot/internal/atomicfile"
	"depot/internal/config"
	"depot/internal/errorlog"
	"depot/internal/logfiles"
	"depot/internal/outbound"
)

// Limits that bound slow and hostile clients. Bodies are never read (only
// GET and HEAD are served), so reading a request is quick for any honest
// client; writing a large file may take long, so there is no write timeout.
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
)

// Options are what the caller adds to a configuration.
type Options struct {
	// Responders, if set, returns the responders of a site (metalinks,
	// redirects, published pages). It is called again on every reload.
	Responders func(config.Site) []Responder
	// Now is the clock of log lines; nil means time.Now.
	Now func() time.Time
	// ReadHeaderTimeout, ReadTimeout and IdleTimeout override the package
	// defaults when non-zero (tests use short ones).
	ReadHeaderTimeout, ReadTimeout, IdleTimeout time.Duration
	// Logf receives what the operator must hear about the server's own
	// files at once (standard error in depot serve): a log file that
	// cannot be written, and when it can be again. nil discards it.
	Logf func(format string, args ...any)
}

// Server runs every listener of one configuration.
type Server struct {
	opts   Options
	cfg    *config.Config
	sites  table
	access *logfiles.File // nil when there is no clearnet listener
	errors *logfiles.File

	listeners []net.Listener
	servers   []*http.Server
	mu        sync.Mutex // guards cfg and reloads
}

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
	st, err := newSites(cfg.Site, opts.Responders)
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, cfg: cfg}
	s.sites.Store(st)
	return s, nil
}

// AccessLog and ErrorLog are the clearnet log files (nil without a
// clearnet listener, and before Listen), for rotation.
func (s *Server) AccessLog() *logfiles.File { return s.access }
func (s *Server) ErrorLog() *logfiles.File  { return s.errors }

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
	s.sites.Load().close()
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
	opts := logfiles.FileOptions{Report: s.reportIncident, Now: s.opts.Now}
	var err error
	if s.access, err = logfiles.OpenWith(filepath.Join(s.cfg.LogDir, "access.log"), opts); err == nil {
		s.errors, err = logfiles.OpenWith(filepath.Join(s.cfg.LogDir, "error.log"), opts)
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
func (s *Server) reportIncident(in logfiles.Incident) {
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
// accepting, lets requests in flight finish (up to ShutdownTimeout),
// flushes and closes the logs. It returns the first serving error, or nil
// after a clean shutdown.
func (s *Server) Serve(ctx context.Context) error {
	if s.listeners == nil {
		return errors.New("server: Serve called before Listen")
	}
	errc := make(chan error, len(s.listeners))
	for i, l := range s.cfg.Listen {
		srv := s.httpServer(l)
		s.servers = append(s.servers, srv)
		ln := s.listeners[i]
		if !l.Onion && !l.TLS() {
			ln = recordingListener{ln} // logs what net/http refuses itself
		}
		go func() {
			var err error
			if l.TLS() {
				err = srv.ServeTLS(ln, l.TLSCert, l.TLSKey)
			} else {
				err = srv.Serve(ln)
			}
			if errors.Is(err, http.ErrServerClosed) {
				err = nil
			}
			errc <- err
		}()
	}

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, srv := range s.servers {
		wg.Go(func() {
			if err := srv.Shutdown(sctx); err != nil {
				srv.Close()
			}
		})
	}
	wg.Wait()
	for _, l := range s.cfg.Listen {
		if l.IsUnix() {
			os.Remove(l.SocketPath())
		}
	}
	s.sites.Load().close()
	return errors.Join(serveErr, s.closeLogs())
}

func (s *Server) httpServer(l config.Listen) *http.Server {
	srv := &http.Server{
		ReadHeaderTimeout: s.opts.ReadHeaderTimeout,
		ReadTimeout:       s.opts.ReadTimeout,
		IdleTimeout:       s.opts.IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		ConnContext:       withConn,
	}
	if l.Onion {
		srv.Handler = newOnion(&s.sites)
		srv.ConnContext = markOnion(srv.ConnContext)
		// net/http's own messages (TLS handshakes, accept errors) name the
		// client too: on an onion listener they go nowhere.
		srv.ErrorLog = log.New(io.Discard, "", 0)
	} else {
		h := newClearnet(&s.sites, s.access, s.errors, s.opts.Now)
		srv.Handler = h
		srv.ErrorLog = log.New(&serverErrors{w: s.errors, now: s.opts.Now}, "", 0)
		if !l.TLS() {
			// With recordingListener (see Serve): what net/http refuses
			// before any handler is logged too.
			srv.ConnState = h.connState
			srv.ConnContext = recordingContext
		}
	}
	if l.TLS() {
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return srv
}

// Reload swaps in a new configuration's sites. It builds the whole new
// table before swapping, so a failure leaves the old one serving. Changes
// to listeners or log_dir need a restart; Reload reports them as an error
// after applying the rest.
func (s *Server) Reload(cfg *config.Config) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := newSites(cfg.Site, s.opts.Responders)
	if err != nil {
		return err
	}
	old := s.sites.Swap(st)
	// Requests in flight may still hold the old roots; give them time.
	time.AfterFunc(ShutdownTimeout, func() { old.close() })
	var restart []string
	if !slices.Equal(cfg.Listen, s.cfg.Listen) {
		restart = append(restart, "listen")
	}
	if cfg.LogDir != s.cfg.LogDir {
		restart = append(restart, "log_dir")
	}
	s.cfg.Site = cfg.Site
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
	for _, f := range []*logfiles.File{s.access, s.errors} {
		if f != nil {
			errs = append(errs, f.Close())
		}
	}
	return errors.Join(errs...)
}

// serverErrors turns net/http's own log messages into nginx-style lines.
type serverErrors struct {
	w   io.Writer
	now func() time.Time
}

func (e *serverErrors) Write(p []byte) (int, error) {
	msg := strings.TrimRight(string(p), "\n")
	line := errorlog.Append(nil, &errorlog.Entry{Time: e.now(), Level: "info", PID: os.Getpid(), Message: msg})
	if _, err := e.w.Write(line); err != nil {
		return 0, err
	}
	return len(p), nil
}

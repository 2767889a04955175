package audit

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"depot/internal/accesslog"
	"depot/internal/config"
	"depot/internal/logread"
	"depot/internal/outbound"
)

// target is the network and address of listener l.
func target(l config.Listen) (network, addr string) {
	if l.IsUnix() {
		return "unix", l.SocketPath()
	}
	return "tcp", l.Address
}

// dial connects to listener l (through outbound.DialSelf, which reaches
// this machine only and records nothing).
func dial(ctx context.Context, l config.Listen) (net.Conn, error) {
	network, addr := target(l)
	return outbound.DialSelf(ctx, network, addr)
}

// client returns an HTTP client that reaches listener l wherever the
// request URL points, and the scheme to use. It uses no proxy, whatever
// the environment says, follows no redirect and never reaches another
// machine.
func client(l config.Listen) (*http.Client, string) {
	scheme := "http"
	tr := outbound.SelfTransport(target(l))
	if l.TLS() {
		scheme = "https"
		// depot talking to itself: the certificate is the operator's
		// business and is checked at start.
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}, scheme
}

// answer is one response, body read whole.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// fetch sends method path with Host host to listener l and reads the
// whole answer.
func fetch(ctx context.Context, l config.Listen, method, host, path string) (*answer, error) {
	c, scheme := client(l)
	req, err := http.NewRequestWithContext(ctx, method, scheme+"://"+host+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "depot-audit")
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", l.Address, unwrapURL(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s: reading the answer to %s: %w", l.Address, path, err)
	}
	return &answer{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// unwrapURL drops net/http's "Get \"URL\":" prefix, which names the
// audit's made-up URL rather than the listener.
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// siteHost is a Host header that reaches site i: its first named host, or
// a name no site claims when it is the "*" site.
func siteHost(cfg *config.Config, i int) string {
	for _, h := range cfg.Site[i].Hosts {
		if h != "*" {
			return h
		}
	}
	return "depot-audit.invalid"
}

// notRunning returns why the live checks cannot run, or "" when at least
// one listener accepts connections.
func notRunning(ctx context.Context, cfg *config.Config) string {
	var down []string
	for _, l := range cfg.Listen {
		dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		c, err := dial(dctx, l)
		cancel()
		if err == nil {
			c.Close()
			return ""
		}
		down = append(down, l.Address)
	}
	return fmt.Sprintf("depot serve is not running with this configuration (nothing accepts connections on %s): the live checks were skipped, the offline checks ran; start it to audit it, or pass --offline", strings.Join(down, ", "))
}

// checkLogging sends marked requests to every listener and reads the log
// directory: the clearnet markers must be logged with the client address,
// the onion markers must appear nowhere.
func checkLogging(ctx context.Context, o Options) []Result {
	cfg := o.Config
	clear := Result{ID: "clearnet-logged", Policy: policyLogs}
	onion := Result{ID: "onion-not-logged", Policy: policyOnion}
	clearMark, onionMark := marker(), marker()
	dirs := watchedDirs(cfg)
	before := sizes(cfg, dirs) // read only what is written from now on
	var clearSent, onionSent int
	var clearErrs, onionErrs []string
	// Onion first: when the clearnet lines sent after them have reached
	// the files, anything the onion requests had written would have too.
	for _, pass := range []bool{true, false} {
		for i, l := range cfg.Listen {
			if l.Onion != pass {
				continue
			}
			mark := clearMark
			if l.Onion {
				mark = onionMark
			}
			for _, p := range []string{"/" + mark + "/missing", "/?" + mark} {
				if _, err := fetch(ctx, l, http.MethodGet, host(cfg), p); err != nil {
					msg := fmt.Sprintf("listen[%d] %v", i, err)
					if l.Onion {
						onionErrs = append(onionErrs, msg)
					} else {
						clearErrs = append(clearErrs, msg)
					}
					break
				}
				if l.Onion {
					onionSent++
				} else {
					clearSent++
				}
			}
		}
	}

	var access []string
	var errorLines int
	var onionHits []string
	var err error
	deadline := time.Now().Add(o.FlushWait)
	for {
		access, errorLines, onionHits, err = readNew(cfg, dirs, before, clearMark, onionMark)
		if err != nil || len(access) >= clearSent && errorLines > 0 || clearSent == 0 || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if err != nil {
			break
		}
	}
	switch {
	case len(clearErrs) > 0:
		clear.Status, clear.Detail = Fail, strings.Join(clearErrs, "; ")
	case err != nil:
		clear.Status, clear.Detail = Fail, err.Error()
	case clearSent == 0:
		clear.Status, clear.Detail = Warn, "no clearnet listener: nothing is logged"
	case len(access) < clearSent:
		clear.Status, clear.Detail = Fail, fmt.Sprintf("sent %d requests to clearnet listeners, found %d lines in %s within %s", clearSent, len(access), filepath.Join(cfg.LogDir, "access.log"), o.FlushWait)
	case errorLines == 0:
		clear.Status, clear.Detail = Fail, "a clearnet 404 left no line in "+filepath.Join(cfg.LogDir, "error.log")
	default:
		clear.Status = Pass
		clear.Detail = fmt.Sprintf("%d marked requests: %d combined-format lines with the client address in access.log, %d in error.log", clearSent, len(access), errorLines)
		for _, line := range access {
			var l accesslog.Line
			if err := accesslog.Parse([]byte(line), &l); err != nil || len(l.Addr) == 0 || string(l.Addr) == "-" {
				clear.Status, clear.Detail = Fail, "not a combined line with a client address: "+line
			}
		}
	}
	switch {
	case err != nil:
		onion.Status, onion.Detail = Fail, err.Error()
	case len(onionHits) > 0:
		onion.Status, onion.Detail = Fail, "onion requests were logged in "+strings.Join(onionHits, ", ")
	case len(onionErrs) > 0:
		onion.Status, onion.Detail = Fail, strings.Join(onionErrs, "; ")
	case onionSent == 0:
		onion.Status, onion.Detail = Fail, "no onion listener to test"
	default:
		onion.Status, onion.Detail = Pass, fmt.Sprintf("%d marked requests to onion listeners; no trace in any file of %s", onionSent, strings.Join(dirs, " or "))
	}
	return []Result{clear, onion}
}

// host is the Host header for the logging check's requests: a configured
// host name.
func host(cfg *config.Config) string {
	for i := range cfg.Site {
		if h := siteHost(cfg, i); h != "depot-audit.invalid" {
			return h
		}
	}
	return "localhost"
}

// watchedDirs are where a request could leave a trace: log_dir, and
// data_dir when it is elsewhere.
func watchedDirs(cfg *config.Config) []string {
	dirs := []string{cfg.LogDir}
	if config.Resolve(cfg.DataDir) != config.Resolve(cfg.LogDir) {
		dirs = append(dirs, cfg.DataDir)
	}
	return dirs
}

// sizes notes the size of every regular file under dirs (site roots
// excepted).
func sizes(cfg *config.Config, dirs []string) map[string]int64 {
	m := map[string]int64{}
	walkFiles(cfg, dirs, func(p string, info fs.FileInfo) { m[p] = info.Size() })
	return m
}

// walkFiles calls fn for every regular file under dirs, site roots and
// exit lists excepted.
func walkFiles(cfg *config.Config, dirs []string, fn func(string, fs.FileInfo)) {
	var skip []string
	for _, s := range cfg.Site {
		skip = append(skip, config.Resolve(s.Root))
	}
	skip = append(skip, config.Resolve(cfg.Stats.ExitLists))
	for _, dir := range dirs {
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if d.IsDir() {
				if p != dir && slices.Contains(skip, config.Resolve(p)) {
					return filepath.SkipDir
				}
				return nil
			}
			if info, err := d.Info(); err == nil && info.Mode().IsRegular() {
				fn(p, info)
			}
			return nil
		})
	}
}

// readNew reads every file under dirs from the size it had before, with
// the log reader (a new file, or one that shrank, from its start and
// whatever its compression): the lines of access.log holding clearMark,
// how many lines of error.log hold it with the client, and the files that
// hold onionMark anywhere.
func readNew(cfg *config.Config, dirs []string, before map[string]int64, clearMark, onionMark string) (access []string, errorLines int, onionHits []string, err error) {
	clearB, onionB := []byte(clearMark), []byte(onionMark)
	walkFiles(cfg, dirs, func(p string, info fs.FileInfo) {
		from := before[p]
		if info.Size() == from || err != nil {
			return
		}
		var r *logread.Reader
		var oerr error
		if from > 0 && info.Size() > from {
			r, oerr = logread.OpenRange(p, from, info.Size())
		}
		if r == nil && (oerr == nil || errors.As(oerr, new(*logread.Error))) {
			// New, shrunk or compressed: from the start. The markers are
			// new, so what is read again cannot hold one.
			r, oerr = logread.Open(p)
		}
		if oerr != nil {
			err = oerr
			return
		}
		defer r.Close()
		hit := false
		base := filepath.Base(p)
		inLogDir := filepath.Dir(p) == filepath.Clean(cfg.LogDir)
		for {
			line, rerr := r.Next()
			if rerr != nil {
				// A compressed file still being written ends early: what
				// it holds so far was read.
				if rerr != io.EOF && !errors.Is(rerr, logread.ErrTruncated) {
					err = rerr
				}
				break
			}
			if bytes.Contains(line, onionB) {
				hit = true
			}
			if inLogDir && bytes.Contains(line, clearB) {
				switch base {
				case "access.log":
					access = append(access, string(line))
				case "error.log":
					if bytes.Contains(line, []byte("client: ")) {
						errorLines++
					}
				}
			}
		}
		if hit {
			onionHits = append(onionHits, p)
		}
	})
	return access, errorLines, onionHits, err
}

// pageListener is the first clearnet (or, with onion, onion) listener
// that answers with the sites' pages, or nil. A listener with
// redirect_https answers every request with a 301 to HTTPS, so what
// visitors read is on the TLS listener it sends them to.
func pageListener(cfg *config.Config, onion bool) *config.Listen {
	for i, l := range cfg.Listen {
		if l.Onion == onion && !l.RedirectHTTPS {
			return &cfg.Listen[i]
		}
	}
	return nil
}

// checkCSP asks the first clearnet listener that serves pages for each
// site's front page and checks the Content-Security-Policy that keeps
// browsers on the site's origin.
func checkCSP(ctx context.Context, cfg *config.Config) Result {
	r := Result{ID: "content-security-policy", Policy: policyLocal}
	l := pageListener(cfg, false)
	if l == nil {
		r.Status, r.Detail = Skip, "no clearnet listener serves the sites"
		return r
	}
	var got []string
	for i := range cfg.Site {
		a, err := fetch(ctx, *l, http.MethodGet, siteHost(cfg, i), "/")
		if err != nil {
			r.Status, r.Detail = Fail, err.Error()
			return r
		}
		csp := a.header.Get("Content-Security-Policy")
		if !strings.HasPrefix(csp, "default-src 'self'") {
			r.Status, r.Detail = Fail, fmt.Sprintf("site[%d] answers %s without a same-origin Content-Security-Policy (got %q)", i, l.Address, csp)
			return r
		}
		got = append(got, fmt.Sprintf("site[%d]", i))
	}
	r.Status, r.Detail = Pass, strings.Join(got, ", ")+" send Content-Security-Policy: default-src 'self'"
	return r
}

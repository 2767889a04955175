package audit

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"depot/internal/accesslog"
	"depot/internal/config"
	"depot/internal/outbound"
)

// client returns an HTTP client that reaches listener l wherever the
// request URL points, and the scheme to use.
func client(l config.Listen) (*http.Client, string) {
	network, addr := "tcp", l.Address
	if l.IsUnix() {
		network, addr = "unix", l.SocketPath()
	} else if host, port, err := net.SplitHostPort(addr); err == nil {
		switch host {
		case "", "0.0.0.0":
			addr = net.JoinHostPort("127.0.0.1", port)
		case "::":
			addr = net.JoinHostPort("::1", port)
		}
	}
	scheme := "http"
	// Straight to depot, whatever the environment says; never to another
	// machine.
	tr := outbound.SelfTransport(network, addr)
	if l.TLS() {
		scheme = "https"
		// depot talking to itself: the certificate is the operator's
		// business and is checked at start.
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}, scheme
}

// host is the Host header for audit requests: a configured host name.
func host(cfg *config.Config) string {
	for _, s := range cfg.Site {
		for _, h := range s.Hosts {
			if h != "*" {
				return h
			}
		}
	}
	return "localhost"
}

// get sends GET path to listener l.
func get(ctx context.Context, cfg *config.Config, l config.Listen, path string) (*http.Response, error) {
	c, scheme := client(l)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+host(cfg)+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "depot-audit")
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (is depot serve running with this configuration?)", l.Address, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp, nil
}

// checkLogging sends marked requests to every listener and reads the log
// directory: the clearnet markers must be logged with the client address,
// the onion markers must appear nowhere.
func checkLogging(ctx context.Context, o Options) []Result {
	cfg := o.Config
	clear := Result{ID: "clearnet-logged", Policy: policyLogs}
	onion := Result{ID: "onion-not-logged", Policy: policyOnion}
	clearMark, onionMark := marker(), marker()
	before := sizes(cfg.LogDir) // read only what is written from now on
	var clearSent, onionSent int
	var errs []string
	for _, l := range cfg.Listen {
		mark := clearMark
		if l.Onion {
			mark = onionMark
		}
		for _, p := range []string{"/" + mark + "/missing", "/?" + mark} {
			if _, err := get(ctx, cfg, l, p); err != nil {
				errs = append(errs, err.Error())
				continue
			}
			if l.Onion {
				onionSent++
			} else {
				clearSent++
			}
		}
	}
	if len(errs) > 0 {
		d := strings.Join(errs, "; ")
		clear.Status, clear.Detail = Fail, d
		onion.Status, onion.Detail = Fail, d
		return []Result{clear, onion}
	}
	select {
	case <-ctx.Done():
	case <-time.After(o.FlushWait):
	}

	access, errorLines, onionHits, err := scanLogs(cfg.LogDir, before, clearMark, onionMark)
	switch {
	case err != nil:
		clear.Status, clear.Detail = Fail, err.Error()
	case clearSent == 0:
		clear.Status, clear.Detail = Warn, "no clearnet listener: nothing is logged"
	case len(access) < clearSent:
		clear.Status, clear.Detail = Fail, fmt.Sprintf("sent %d requests to clearnet listeners, found %d lines in %s", clearSent, len(access), filepath.Join(cfg.LogDir, "access.log"))
	case errorLines == 0:
		clear.Status, clear.Detail = Fail, "a clearnet 404 left no line in error.log"
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
	case onionSent == 0:
		onion.Status, onion.Detail = Fail, "no onion listener to test"
	case len(onionHits) > 0:
		onion.Status, onion.Detail = Fail, "onion requests were logged in "+strings.Join(onionHits, ", ")
	default:
		onion.Status, onion.Detail = Pass, fmt.Sprintf("%d marked requests to onion listeners; no trace in any file of %s", onionSent, cfg.LogDir)
	}
	return []Result{clear, onion}
}

// sizes notes the size of every file in dir.
func sizes(dir string) map[string]int64 {
	m := map[string]int64{}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if info, err := e.Info(); err == nil && info.Mode().IsRegular() {
			m[e.Name()] = info.Size()
		}
	}
	return m
}

// scanLogs reads every plain file in dir, from the size it had before
// (from the start if it is new or shrank): the lines of access.log holding
// clearMark, how many lines of error.log hold it, and the files that hold
// onionMark anywhere.
func scanLogs(dir string, before map[string]int64, clearMark, onionMark string) (access []string, errorLines int, onionHits []string, err error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, 0, nil, err
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		p := filepath.Join(dir, e.Name())
		f, err := os.Open(p)
		if err != nil {
			return nil, 0, nil, err
		}
		if info, err := f.Stat(); err == nil && info.Size() >= before[e.Name()] {
			f.Seek(before[e.Name()], io.SeekStart)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		hit := false
		for sc.Scan() {
			line := sc.Text()
			if strings.Contains(line, onionMark) {
				hit = true
			}
			if strings.Contains(line, clearMark) {
				switch e.Name() {
				case "access.log":
					access = append(access, line)
				case "error.log":
					if strings.Contains(line, "client: ") {
						errorLines++
					}
				}
			}
		}
		f.Close()
		if hit {
			onionHits = append(onionHits, p)
		}
	}
	return access, errorLines, onionHits, nil
}

// checkCSP asks a clearnet listener for each site's front page and checks
// the Content-Security-Policy that keeps browsers on the site's origin.
func checkCSP(ctx context.Context, cfg *config.Config) Result {
	r := Result{ID: "content-security-policy", Policy: policyLocal}
	for _, l := range cfg.Listen {
		if l.Onion {
			continue
		}
		resp, err := get(ctx, cfg, l, "/")
		if err != nil {
			r.Status, r.Detail = Fail, err.Error()
			return r
		}
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.HasPrefix(csp, "default-src 'self'") {
			r.Status, r.Detail = Fail, fmt.Sprintf("%s answers without a same-origin Content-Security-Policy (got %q)", l.Address, csp)
			return r
		}
		r.Status, r.Detail = Pass, "Content-Security-Policy: "+csp
		return r
	}
	r.Status, r.Detail = Skip, "no clearnet listener"
	return r
}

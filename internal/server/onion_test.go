package server

import (
	"fmt"
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"depot/internal/metrics"
)

// snapshot reads every file under dir.
func snapshot(t testing.TB, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		files[p] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestOnionRequestsLeaveLogsUnchanged sends ordinary, 404, hostile,
// malformed and aborted requests to the onion listener and finds the log
// directory byte-for-byte unchanged, after shutdown has flushed everything.
func TestOnionRequestsLeaveLogsUnchanged(t *testing.T) {
	ts := startServer(t, `onion_location = "http://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.onion"`,
		Options{ReadHeaderTimeout: 200 * time.Millisecond, SendTimeout: 500 * time.Millisecond, MaxResponses: 1})
	addBig(t, ts)
	// One clearnet request first, so the files have content to compare.
	body(t, get(t, ts.clearnet, "/nothing-here"))
	before := snapshot(t, ts.logDir)
	ts.readLog(t, "access.log")
	before = snapshot(t, ts.logDir)
	if len(before[filepath.Join(ts.logDir, "access.log")]) == 0 || len(before[filepath.Join(ts.logDir, "error.log")]) == 0 {
		t.Fatal("clearnet request was not logged; the comparison below would prove nothing")
	}

	body(t, get(t, ts.onion, "/"))
	body(t, get(t, ts.onion, "/r9.9/missing"))
	body(t, get(t, ts.onion, "/.git/config"))
	raw(t, ts.onion, "GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n")
	raw(t, ts.onion, "\x16\x03\x01garbage\r\n\r\n")
	raw(t, ts.onion, "GET / HTTP/1.1\r\nHost: x\r\n"+string(make([]byte, 20000))+"\r\n\r\n")
	// Aborted: headers never finished, then the client goes away.
	if c, err := net.Dial("tcp", ts.onion); err == nil {
		c.Write([]byte("GET /iso/Qubes-R4.2.iso HTTP/1.1\r\nHost: x\r\n"))
		c.Close()
	}
	// Aborted mid-body.
	if c, err := net.Dial("tcp", ts.onion); err == nil {
		c.Write([]byte("GET /iso/Qubes-R4.2.iso HTTP/1.1\r\nHost: x\r\n\r\n"))
		c.Read(make([]byte, 10))
		c.Close()
	}
	// Slow client that trips the header timeout.
	if c, err := net.Dial("tcp", ts.onion); err == nil {
		c.Write([]byte("GET / HTTP/1.1\r\n"))
		time.Sleep(400 * time.Millisecond)
		c.Close()
	}

	// A client that reads nothing holds the one place for responses: the
	// next request gets 503; then the send timeout cuts the first off.
	stalled := dialSmall(t, ts.onion)
	io.WriteString(stalled, "GET /big.iso HTTP/1.1\r\nHost: x\r\n\r\n")
	waitFor(t, "the onion response in flight", func() bool { return ts.srv.gate.n.Load() == 1 })
	if r := get(t, ts.onion, "/"); r.StatusCode != 503 {
		t.Errorf("onion request past max_responses: %d, want 503", r.StatusCode)
	}
	waitFor(t, "the stalled onion client to be cut off", func() bool { return ts.srv.gate.n.Load() == 0 })

	ts.stop(t)
	after := snapshot(t, ts.logDir)
	if len(after) != len(before) {
		t.Errorf("log directory had %d files, now %d", len(before), len(after))
	}
	for p, content := range before {
		if after[p] != content {
			t.Errorf("%s changed after onion requests:\nbefore %q\nafter  %q", p, content, after[p])
		}
	}
}

// countingWriter counts writes. It stands in for a log file.
type countingWriter struct{ n atomic.Int64 }

func (c *countingWriter) Write(p []byte) (int, error) { c.n.Add(1); return len(p), nil }

// TestOnionChainMakesZeroWrites drives the onion and clearnet chains side by
// side over the same sites: the clearnet chain's counting sinks see writes,
// and nothing in the onion chain can.
func TestOnionChainMakesZeroWrites(t *testing.T) {
	ts := startServer(t, "", Options{})
	access, errs := &countingWriter{}, &countingWriter{}
	clear := newClearnet(&ts.srv.sites, access, errs, time.Now, nil)
	onion := newOnion(&ts.srv.sites)

	rec := &discardWriter{h: map[string][]string{}}
	for _, p := range []string{"/", "/missing", "/.git/config", "/listing/"} {
		onion.ServeHTTP(rec, mustRequest(t, p))
	}
	if access.n.Load() != 0 || errs.n.Load() != 0 {
		t.Fatalf("onion requests reached a sink: %d access, %d error writes", access.n.Load(), errs.n.Load())
	}
	clear.ServeHTTP(rec, mustRequest(t, "/missing"))
	if access.n.Load() != 1 || errs.n.Load() != 1 {
		t.Fatalf("clearnet 404 made %d access and %d error writes, want 1 and 1", access.n.Load(), errs.n.Load())
	}
}

// TestOnionChainHasNoWriter reads onion.go: it must import nothing that can
// log or write, and its handler type must hold only the site table.
func TestOnionChainHasNoWriter(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "onion.go", nil, parser.ImportsOnly|parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		if path != "net/http" {
			t.Errorf("onion.go imports %q; the onion chain may import only net/http", path)
		}
	}
	full, err := parser.ParseFile(token.NewFileSet(), "onion.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	ast.Inspect(full, func(n ast.Node) bool {
		if ts, ok := n.(*ast.TypeSpec); ok {
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				return true
			}
			for _, field := range st.Fields.List {
				if id, ok := field.Type.(*ast.StarExpr); !ok || id.X.(*ast.Ident).Name != "table" {
					t.Errorf("%s has a field of type %T; it may hold only *table", ts.Name.Name, field.Type)
				}
			}
		}
		if fd, ok := n.(*ast.FuncDecl); ok && fd.Name.Name == "newOnion" && fd.Type.Params.NumFields() != 1 {
			t.Errorf("newOnion takes %d parameters; it must take only the site table", fd.Type.Params.NumFields())
		}
		return true
	})
}

// TestOnionPathImportsNoLogger reads every file an onion request passes
// through besides onion.go (the listener's guard, the guardHandler and its
// limits, the sites, their files and cache): none may import anything
// that writes logs, nor any depot package that does or imports one
// (docroot, responder, sitepath). Only the clearnet files (chains.go, refused.go,
// tlslisten.go, server.go) do.
func TestOnionPathImportsNoLogger(t *testing.T) {
	logging := func(path string) bool {
		switch path {
		case "depot/internal/accesslog", "depot/internal/errorlog", "depot/internal/logfiles", "depot/internal/logsink", "log", "log/slog", "log/syslog":
			return true
		}
		return false
	}
	// leadsToLog reports the chain of depot packages from pkg to a logging
	// import, if there is one.
	var leadsToLog func(pkg string, seen map[string]bool) []string
	leadsToLog = func(pkg string, seen map[string]bool) []string {
		if logging(pkg) {
			return []string{pkg}
		}
		if !strings.HasPrefix(pkg, "depot/") || seen[pkg] {
			return nil
		}
		seen[pkg] = true
		bp, err := build.Import(pkg, ".", 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range bp.Imports {
			if chain := leadsToLog(imp, seen); chain != nil {
				return append([]string{pkg}, chain...)
			}
		}
		return nil
	}
	for _, file := range []string{"conn.go", "limits.go", "cork.go", "site.go", "files.go", "cache.go", "hosts.go", "onionmark.go"} {
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if chain := leadsToLog(path, map[string]bool{}); chain != nil {
				t.Errorf("%s imports %s; it is on the onion path and may not log", file, strings.Join(chain, " → "))
			}
		}
	}
}

// depotSeries gathers m and returns every depot_http_* sample as
// "name{labels} value" lines.
func depotSeries(t testing.TB, m *metrics.Metrics) []string {
	t.Helper()
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range families {
		if !strings.HasPrefix(f.GetName(), "depot_http_") {
			continue
		}
		for _, s := range f.GetMetric() {
			var labels []string
			for _, l := range s.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			out = append(out, fmt.Sprintf("%s{%s} %v %v", f.GetName(), strings.Join(labels, ","), s.GetCounter().GetValue(), s.GetHistogram().GetSampleCount()))
		}
	}
	return out
}

// TestOnionRequestsFeedNoMetric runs a server with metrics on and sends
// ordinary, missing, hidden, hostile, malformed and oversized requests to
// its onion listener: no request metric exists afterwards. The same
// requests on the clearnet listener are counted, so the check can fail.
func TestOnionRequestsFeedNoMetric(t *testing.T) {
	m := metrics.New()
	ts := startServer(t, "", Options{Metrics: m})
	send := func(addr string) {
		body(t, get(t, addr, "/"))
		body(t, get(t, addr, "/r9.9/missing"))
		body(t, get(t, addr, "/.git/config"))
		raw(t, addr, "GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n")
		raw(t, addr, "\x16\x03\x01garbage\r\n\r\n")
		raw(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n"+string(make([]byte, 20000))+"\r\n\r\n")
		raw(t, addr, "BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n")
	}
	send(ts.onion)
	if got := depotSeries(t, m); len(got) > 0 {
		t.Fatalf("onion requests fed metrics:\n%s", strings.Join(got, "\n"))
	}
	send(ts.clearnet)
	// Refused requests are counted when their connection closes.
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := strings.Join(depotSeries(t, m), "\n")
		if strings.Contains(got, "code=4xx,method=other,site=-") && strings.Contains(got, "code=2xx,method=GET,site=*") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("clearnet requests were not all counted; the onion check above proves nothing:\n%s", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

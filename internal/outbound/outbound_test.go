package outbound

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"depot/internal/proxy/proxytest"
)

// fixedClock is a settable clock.
type fixedClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fixedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fixedClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func resolvConf(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRecordFile: what a Record notes is merged into the file in the
// documented format, counts added, times widened; DNS entries appear
// exactly when a name was dialled directly.
func TestRecordFile(t *testing.T) {
	clock := &fixedClock{t: time.Date(2026, 11, 29, 6, 15, 30, 123, time.UTC)}
	conf := resolvConf(t, "# comment\nnameserver 10.0.0.53\nnameserver fe80::1%eth0\nsearch example\n")
	path := filepath.Join(t.TempDir(), "data", FileName)

	rec := NewRecord(RecordOptions{Now: clock.Now, ResolvConf: conf})
	rec.note("192.0.2.10", "443", MirrorCheck, false)
	rec.note("192.0.2.10", "443", MirrorCheck, false)
	if err := rec.Flush(path); err != nil {
		t.Fatal(err)
	}
	f, err := ReadRecord(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Resolver != ResolverNone || len(f.Destinations) != 1 {
		t.Fatalf("after IP dials: %+v, want one destination and resolver none", f)
	}

	clock.Set(clock.Now().Add(time.Hour))
	rec.note("Mirror.Example.NET.", "443", MirrorCheck, true)
	rec.note("192.0.2.10", "443", MirrorCheck, false)
	rec.note("deb.debian.org", "80", ProxyDirect, true)
	if err := rec.Flush(path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The documented format, read without this package's types.
	var raw struct {
		Version      int `json:"version"`
		Destinations []struct {
			Host, Port, Purpose, First, Last string
			Count                            int
		} `json:"destinations"`
		Resolver string `json:"resolver"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	type dest struct {
		host, port, purpose, first, last string
		count                            int
	}
	var got []dest
	for _, d := range raw.Destinations {
		got = append(got, dest{d.Host, d.Port, d.Purpose, d.First, d.Last, d.Count})
	}
	want := []dest{
		// Resolving the proxy's name dates the DNS entry to the day only.
		{"10.0.0.53", "53", "dns", "2026-11-29T00:00:00Z", "2026-11-29T07:15:30Z", 2},
		{"fe80::1", "53", "dns", "2026-11-29T00:00:00Z", "2026-11-29T07:15:30Z", 2},
		{"192.0.2.10", "443", "mirror-check", "2026-11-29T06:15:30Z", "2026-11-29T07:15:30Z", 3},
		{"mirror.example.net", "443", "mirror-check", "2026-11-29T07:15:30Z", "2026-11-29T07:15:30Z", 1},
		// The proxy's destinations are kept to the day.
		{"deb.debian.org", "80", "proxy-direct", "2026-11-29T00:00:00Z", "2026-11-29T00:00:00Z", 1},
	}
	if raw.Version != 1 || raw.Resolver != "local" {
		t.Errorf("version %d resolver %q, want 1 and local", raw.Version, raw.Resolver)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d destinations, want %d:\n%s", len(got), len(want), b)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("destination %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("file mode %v (%v), want 0644", st.Mode(), err)
	}
	if left, _ := os.ReadDir(filepath.Dir(path)); len(left) != 1 {
		t.Errorf("data dir holds %v, want only %s (no lock or temp file)", left, FileName)
	}
}

func TestResolversDefault(t *testing.T) {
	for _, conf := range []string{"", "search example\n"} {
		got := Resolvers(resolvConf(t, conf))
		if strings.Join(got, ",") != "127.0.0.1,::1" {
			t.Errorf("resolv.conf %q: got %v, want Go's defaults 127.0.0.1 and ::1", conf, got)
		}
	}
}

// TestFlushMergesConcurrentWriters: serve and a cron stats run flushing
// into the same file lose none of each other's entries.
func TestFlushMergesConcurrentWriters(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	const writers, rounds = 4, 25
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			rec := NewRecord(RecordOptions{})
			for range rounds {
				rec.note("192.0.2.1", "443", MirrorCheck, false)
				rec.note("192.0.2."+string(rune('2'+w)), "443", ExitLists, false)
				if err := rec.Flush(path); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	f, err := ReadRecord(path)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, d := range f.Destinations {
		total += d.Count
	}
	if len(f.Destinations) != writers+1 || total != 2*writers*rounds {
		t.Errorf("got %d destinations and %d connections, want %d and %d", len(f.Destinations), total, writers+1, 2*writers*rounds)
	}
}

// TestFlushFailureKeepsPending: a flush that cannot write keeps what was
// recorded for the next one.
func TestFlushFailureKeepsPending(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	os.WriteFile(blocker, nil, 0o644)
	rec := NewRecord(RecordOptions{})
	rec.note("192.0.2.1", "443", ACME, false)
	if err := rec.Flush(filepath.Join(blocker, FileName)); err == nil {
		t.Fatal("flush into a path below a file succeeded")
	}
	rec.note("192.0.2.1", "443", ACME, false)
	path := filepath.Join(dir, FileName)
	if err := rec.Flush(path); err != nil {
		t.Fatal(err)
	}
	f, err := ReadRecord(path)
	if err != nil || len(f.Destinations) != 1 || f.Destinations[0].Count != 2 {
		t.Errorf("got %+v, %v; want the ACME destination with both connections", f, err)
	}
}

func TestFlushExpiresAndReplacesCorrupt(t *testing.T) {
	clock := &fixedClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	path := filepath.Join(t.TempDir(), FileName)
	rec := NewRecord(RecordOptions{Now: clock.Now})
	rec.note("192.0.2.1", "443", MirrorCheck, false)
	if err := rec.Flush(path); err != nil {
		t.Fatal(err)
	}
	clock.Set(clock.Now().Add(Expiry + time.Hour))
	rec.note("192.0.2.2", "443", MirrorCheck, false)
	if err := rec.Flush(path); err != nil {
		t.Fatal(err)
	}
	f, _ := ReadRecord(path)
	if len(f.Destinations) != 1 || f.Destinations[0].Host != "192.0.2.2" {
		t.Errorf("got %+v, want only the destination contacted within %v", f.Destinations, Expiry)
	}

	os.WriteFile(path, []byte("{not json"), 0o644)
	rec.note("192.0.2.3", "443", MirrorCheck, false)
	err := rec.Flush(path)
	if err == nil || !strings.Contains(err.Error(), "replaced") {
		t.Errorf("got %v, want an error saying the unreadable record was replaced", err)
	}
	if f, err := ReadRecord(path); err != nil || len(f.Destinations) != 1 || f.Destinations[0].Host != "192.0.2.3" {
		t.Errorf("after replacing: %+v, %v", f, err)
	}
}

func TestReadRecord(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadRecord(filepath.Join(dir, FileName)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: got %v, want fs.ErrNotExist", err)
	}
	tests := []struct{ name, content, want string }{
		{"version", `{"version":2,"destinations":[],"resolver":"none"}`, "version 2"},
		{"resolver", `{"version":1,"destinations":[],"resolver":"maybe"}`, "resolver"},
		{"garbage", `<html>`, "delete it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, tt.name)
			os.WriteFile(p, []byte(tt.content), 0o644)
			if _, err := ReadRecord(p); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error with %q", err, tt.want)
			}
		})
	}
	// A symlink is not followed.
	target := filepath.Join(dir, "target")
	os.WriteFile(target, []byte(`{"version":1,"destinations":[],"resolver":"none"}`), 0o644)
	link := filepath.Join(dir, "link")
	os.Symlink(target, link)
	if _, err := ReadRecord(link); err == nil {
		t.Error("ReadRecord followed a symlink")
	}
}

// TestKeep: the file exists as soon as Keep starts (an empty record
// says depot ran and contacted nobody), and what is recorded is written
// by the end.
func TestKeep(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	rec := NewRecord(RecordOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { rec.Keep(ctx, path, time.Hour, func(err error) { t.Error(err) }); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if f, err := ReadRecord(path); err == nil {
			if len(f.Destinations) != 0 || f.Resolver != ResolverNone {
				t.Errorf("initial record %+v, want empty", f)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Keep did not write the record at start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	rec.note("192.0.2.1", "443", ACME, false)
	cancel()
	<-done
	f, err := ReadRecord(path)
	if err != nil || len(f.Destinations) != 1 {
		t.Errorf("after Keep ended: %+v, %v; want the ACME destination", f, err)
	}
}

// closingListener accepts connections on loopback and closes them.
func closingListener(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln
}

func TestDialerRecordsAndRefuses(t *testing.T) {
	ln := closingListener(t)
	rec := NewRecord(RecordOptions{})
	d := &Dialer{Purpose: ACME, Record: rec}
	c, err := d.DialContext(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	if got := rec.Pending(); len(got) != 1 || got[0].Host != "127.0.0.1" || got[0].Port != port || got[0].Purpose != ACME {
		t.Errorf("recorded %+v, want 127.0.0.1:%s acme", got, port)
	}
	for _, tt := range []struct {
		name    string
		d       *Dialer
		network string
	}{
		{"no purpose", &Dialer{}, "tcp"},
		{"unknown purpose", &Dialer{Purpose: "telemetry"}, "tcp"},
		{"dns is not dialled", &Dialer{Purpose: DNS}, "tcp"},
		{"udp", &Dialer{Purpose: ACME}, "udp"},
		{"unix", &Dialer{Purpose: ACME}, "unix"},
	} {
		if _, err := tt.d.DialContext(context.Background(), tt.network, ln.Addr().String()); err == nil {
			t.Errorf("%s: dialled", tt.name)
		}
	}
}

// TestClientIgnoresProxyEnvironment: clients built here go straight to
// the destination whatever HTTP_PROXY says.
func TestClientIgnoresProxyEnvironment(t *testing.T) {
	var proxied atomic.Int32
	envProxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proxied.Add(1)
		io.WriteString(w, "via the environment's proxy")
	}))
	defer envProxy.Close()
	t.Setenv("HTTP_PROXY", envProxy.URL)
	t.Setenv("HTTPS_PROXY", envProxy.URL)
	t.Setenv("NO_PROXY", "")
	c := NewClient(ExitLists, nil, 300*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://192.0.2.1/", nil) // TEST-NET-1: not loopback, unreachable
	if resp, err := c.Do(req); err == nil {
		resp.Body.Close()
		t.Errorf("reached 192.0.2.1: %s", resp.Status)
	}
	if n := proxied.Load(); n != 0 {
		t.Errorf("the environment's proxy got %d requests, want none", n)
	}
}

func TestDialSelf(t *testing.T) {
	ln := closingListener(t)
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	for _, addr := range []string{ln.Addr().String(), "localhost:" + port, "0.0.0.0:" + port} {
		c, err := DialSelf(context.Background(), "tcp", addr)
		if err != nil {
			t.Errorf("%s: %v", addr, err)
			continue
		}
		c.Close()
	}
	for _, addr := range []string{"192.0.2.1:" + port, "example.org:" + port, "[2001:db8::1]:" + port} {
		if c, err := DialSelf(context.Background(), "tcp", addr); err == nil {
			c.Close()
			t.Errorf("%s: DialSelf reached an address that is not this machine's", addr)
		}
	}
	if _, err := DialSelf(context.Background(), "udp", ln.Addr().String()); err == nil {
		t.Error("DialSelf over udp")
	}
}

// TestSOCKS5RecordsOnlyTheSOCKSServer: through tor, depot connects to the
// SOCKS port only, hands it the name, and resolves nothing.
func TestSOCKS5RecordsOnlyTheSOCKSServer(t *testing.T) {
	backend, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer backend.Close()
	go func() {
		for {
			c, err := backend.Accept()
			if err != nil {
				return
			}
			io.WriteString(c, "hello")
			c.Close()
		}
	}()
	socks := proxytest.NewSOCKS5(t, backend.Addr().String())
	path := filepath.Join(t.TempDir(), FileName)
	rec := NewRecord(RecordOptions{ResolvConf: resolvConf(t, "nameserver 10.0.0.53\n")})
	d, err := SOCKS5(socks.Addr, &Dialer{Purpose: ProxyUpstream, Record: rec})
	if err != nil {
		t.Fatal(err)
	}
	c, err := d.DialContext(context.Background(), "tcp", "repo.example.org:443")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(c)
	c.Close()
	if string(b) != "hello" {
		t.Errorf("through SOCKS: got %q", b)
	}
	if r := socks.Requests(); len(r) != 1 || r[0].AddrType != proxytest.ATypDomain || r[0].Host != "repo.example.org" {
		t.Errorf("SOCKS server got %+v, want the name repo.example.org", r)
	}
	if err := rec.Flush(path); err != nil {
		t.Fatal(err)
	}
	f, err := ReadRecord(path)
	if err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(socks.Addr)
	if len(f.Destinations) != 1 || f.Destinations[0].Host != host || f.Destinations[0].Port != port ||
		f.Destinations[0].Purpose != ProxyUpstream || f.Resolver != ResolverNone {
		t.Errorf("record %+v, want only %s for proxy-upstream and resolver none", f, socks.Addr)
	}
}

package mirrors

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"depot/internal/config"
	"depot/internal/mirrors/mirrorstest"
	"depot/internal/outbound"
)

func originFiles() map[string]string {
	return map[string]string{
		repoPath:                       repomd(1000),
		"deb/dists/bookworm/InRelease": "Origin: depot\n",
		"iso/Qubes-R4.2.iso":           strings.Repeat("i", 4096),
		"r4.2/current/host/fc37/a.rpm": "not checked",
	}
}

// TestHostileMirrors checks that every kind of misbehaviour is bounded by
// the timeout and recorded with the right status.
func TestHostileMirrors(t *testing.T) {
	const timeout = 500 * time.Millisecond
	cases := []struct {
		name string
		url  func(t *testing.T) string
		want Status // for repomd.xml
		// trusted: only a failure (down) of any file untrusts a mirror.
		trusted bool
	}{
		{"honest", nil, Fresh, true},
		{"refused", func(t *testing.T) string { return mirrorstest.Refusing(t) }, Down, false},
		{"black hole", func(t *testing.T) string { return mirrorstest.Silent(t) }, Down, false},
		{"slow headers", func(t *testing.T) string { return mirrorstest.Slow(t, time.Minute).URL }, Down, false},
		{"slow drip", func(t *testing.T) string { return mirrorstest.Drip(t, 50*time.Millisecond).URL }, Down, false},
		// The endless server never ends a HEAD either, so the ISO is down.
		{"endless body", func(t *testing.T) string { return mirrorstest.Endless(t).URL }, Stale, false},
		{"wrong size", func(t *testing.T) string { return mirrorstest.WrongSize(t, 10).URL }, Stale, true},
		{"redirect loop", func(t *testing.T) string { return mirrorstest.RedirectLoop(t).URL }, Down, false},
		{"huge headers", func(t *testing.T) string { return mirrorstest.HugeHeaders(t, 1<<20).URL }, Down, false},
		{"404", func(t *testing.T) string { return mirrorstest.Dir(t, t.TempDir()).URL }, Down, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fx := newFixture(t, originFiles())
			var u string
			if tc.url == nil {
				dir := filepath.Join(t.TempDir(), "m")
				copyTree(t, fx.root, dir)
				u = mirrorstest.Dir(t, dir).URL
			} else {
				u = tc.url(t)
			}
			fx.cfg.Mirror = []config.Mirror{{Name: "m", URL: u}}
			fx.svc = fx.open(t, timeout)
			start := time.Now()
			rd, err := fx.svc.Check(context.Background())
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			// A hostile mirror holds a check for a minute or forever if
			// nothing bounds it; bounded, the round ends near the timeout.
			// The margin is wide so that a loaded machine cannot fail it.
			if d := time.Since(start); d > 20*timeout {
				t.Errorf("round took %v; the timeout (%v) did not bound it", d, timeout)
			}
			rep := fx.svc.Status()
			got := fileStatus(rep, "m", repoPath)
			if got.Status != tc.want {
				t.Errorf("repomd.xml: got %s (%s), want %s", got.Status, got.Error, tc.want)
			}
			if tc.want != Fresh && got.Error == "" {
				t.Errorf("no error recorded for %s", got.Status)
			}
			wantTrusted := tc.trusted
			if rep.Mirrors[0].Trusted != wantTrusted {
				t.Logf("files: %+v", rep.Mirrors[0].Files)
				t.Errorf("trusted = %v, want %v (round %+v)", rep.Mirrors[0].Trusted, wantTrusted, rd)
			}
		})
	}
}

func fileStatus(rep Report, mirror, name string) FileCheck {
	for _, m := range rep.Mirrors {
		if m.Name != mirror {
			continue
		}
		for _, f := range m.Files {
			if f.Name == name {
				return f
			}
		}
	}
	return FileCheck{Status: "missing"}
}

// TestRoundTimeIsTheTimeout checks 100 mirrors × 20 files, all too slow:
// the round ends after about one timeout, not after their sum.
func TestRoundChecksMirrorsAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("opens ~800 loopback connections")
	}
	const timeout = 2 * time.Second
	files := map[string]string{}
	for i := range 20 {
		files[fmt.Sprintf("r%d/repodata/repomd.xml", i)] = repomd(i + 1)
	}
	fx := newFixture(t, files)
	// Every mirror is too slow: it holds each request until the checker
	// gives up. The handler counts the requests it holds at once.
	var mu sync.Mutex
	var held, peak int
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		held++
		peak = max(peak, held)
		mu.Unlock()
		<-r.Context().Done()
		mu.Lock()
		held--
		mu.Unlock()
	}))
	t.Cleanup(slow.Close)
	for i := range 100 {
		fx.cfg.Mirror = append(fx.cfg.Mirror, config.Mirror{Name: fmt.Sprintf("m%03d", i), URL: fmt.Sprintf("%s/m%d/", slow.URL, i)})
	}
	fx.svc = fx.open(t, timeout)
	rd, err := fx.svc.Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rd.Files != 20 || len(rd.Failed) != 100 {
		t.Errorf("got %d files and %d failed mirrors, want 20 and 100", rd.Files, len(rd.Failed))
	}
	// Checked one mirror after another, about perMirrorConns requests
	// would be held at once (twice that while a cancelled one unwinds),
	// and the round would take 100 timeouts. Checked at once, the first
	// requests of all 100 mirrors are held together. This observes the
	// concurrency itself, not the time it saves.
	mu.Lock()
	got := peak
	mu.Unlock()
	if got < 10*perMirrorConns {
		t.Errorf("at most %d requests were held at once; checking every mirror at once holds far more than one mirror's %d", got, perMirrorConns)
	}
	rep := fx.svc.Status()
	for _, m := range rep.Mirrors {
		if m.Counts[Down] != 20 {
			t.Fatalf("%s: %d down, want 20", m.Name, m.Counts[Down])
		}
	}
}

// TestRedirectToOtherHostRefused: depot connects only to configured
// mirrors, so a mirror that redirects elsewhere is down, and the other
// host is never contacted.
func TestRedirectToOtherHostRefused(t *testing.T) {
	fx := newFixture(t, originFiles())
	elsewhere := mirrorstest.Dir(t, fx.root)
	// Same address, other host name: a different host to the client.
	target := strings.Replace(elsewhere.URL, "127.0.0.1", "localhost", 1)
	fx.cfg.Mirror = []config.Mirror{{Name: "r", URL: mirrorstest.RedirectTo(t, target).URL}}
	fx.svc = fx.open(t, time.Second)
	if _, err := fx.svc.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	f := fileStatus(fx.svc.Status(), "r", repoPath)
	if f.Status != Down || !strings.Contains(f.Error, "another host") {
		t.Errorf("got %s (%s), want down for a redirect to another host", f.Status, f.Error)
	}
	if n := elsewhere.Total(); n != 0 {
		t.Errorf("the other host got %d requests, want 0", n)
	}
}

// TestTrustOnlyAfterCompleteRound: a mirror that failed is not offered
// again until a whole round of checks of it succeeds, and a cancelled
// round changes nothing.
func TestTrustOnlyAfterCompleteRound(t *testing.T) {
	fx := newFixture(t, originFiles())
	mdir := filepath.Join(t.TempDir(), "m")
	copyTree(t, fx.root, mdir)
	m := mirrorstest.Dir(t, mdir)
	fx.cfg.Mirror = []config.Mirror{{Name: "m", URL: m.URL}}
	fx.svc = fx.open(t, time.Second)
	offered := func() bool {
		return strings.Contains(fx.get(t, "/"+repoPath+".metalink", "").Body.String(), m.URL)
	}
	check := func(ctx context.Context) {
		t.Helper()
		if _, err := fx.svc.Check(ctx); err != nil && ctx.Err() == nil {
			t.Fatal(err)
		}
	}

	check(context.Background())
	if !offered() {
		t.Fatal("healthy mirror not offered after a good round")
	}
	m.SetDir(t.TempDir()) // every file now 404s: a broken mirror
	check(context.Background())
	if offered() {
		t.Fatal("mirror still offered after a failed round")
	}
	m.SetDir(mdir) // back, but not rechecked
	if offered() {
		t.Fatal("mirror offered again before a recheck")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	check(ctx)
	if offered() {
		t.Fatal("a cancelled round made the mirror trusted")
	}
	check(context.Background())
	if !offered() {
		t.Fatal("mirror not offered after a complete good round")
	}
}

// TestPartialMirror: a mirror with subdir and content is only checked for
// what it carries.
func TestPartialMirror(t *testing.T) {
	fx := newFixture(t, originFiles())
	mdir := t.TempDir()
	copyTree(t, fx.root, mdir)
	m := mirrorstest.Dir(t, mdir)
	fx.cfg.Mirror = []config.Mirror{{Name: "p", URL: m.URL, Subdir: "r4.2/", Content: []string{"yum"}}}
	fx.svc = fx.open(t, time.Second)
	if _, err := fx.svc.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	rep := fx.svc.Status()
	if n := len(rep.Mirrors[0].Files); n != 1 {
		t.Fatalf("partial mirror has %d files, want 1: %+v", n, rep.Mirrors[0].Files)
	}
	if m.Requests("/deb/dists/bookworm/InRelease") != 0 || m.Requests("/iso/Qubes-R4.2.iso") != 0 {
		t.Error("partial mirror was asked for files it does not carry")
	}
}

// TestCheckRecordsDestinations: a check round connects through outbound,
// so each mirror contacted is recorded for the audit with purpose
// mirror-check.
func TestCheckRecordsDestinations(t *testing.T) {
	fx := newFixture(t, originFiles())
	dir := filepath.Join(t.TempDir(), "m")
	copyTree(t, fx.root, dir)
	u := mirrorstest.Dir(t, dir).URL
	fx.cfg.Mirror = []config.Mirror{{Name: "m", URL: u}}
	rec := outbound.NewRecord(outbound.RecordOptions{Now: fx.clock.Now})
	svc, err := New(fx.cfg, Options{Now: fx.clock.Now, Timeout: 5 * time.Second, Outbound: rec})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	if _, err := svc.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	pu, _ := url.Parse(u)
	got := rec.Pending()
	if len(got) != 1 || got[0].Host != pu.Hostname() || got[0].Port != pu.Port() || got[0].Purpose != outbound.MirrorCheck || got[0].Count < 1 {
		t.Errorf("recorded %+v, want %s for mirror-check", got, pu.Host)
	}
}

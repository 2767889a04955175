package mirrors

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"depot/internal/config"
	"depot/internal/mirrors/mirrorstest"
	"depot/internal/outbound"
	"depot/internal/proxy/proxytest"
)

const interval = 15 * time.Minute // the default check interval

// nodes are two depot nodes with their own copies of the origin and their
// own data, on one clock: the checker, whose status JSON is served by a
// real HTTP server, and a follower that takes its state from there.
type nodes struct {
	checker, follower *fixture
	status            *httptest.Server
	stateFrom         string
	fresh, behind     *mirrorstest.Mirror
	stale             *mirrorstest.Mirror
}

// newNodes builds the network of newNetwork (fresh, behind, stale and down
// mirrors) seen by two nodes, each hashing its own copy of every version
// of the origin as it is published, and runs one check round on the
// checker.
func newNodes(t *testing.T) *nodes {
	clk := newClock()
	c := newFixtureAt(t, clk, originFiles())
	f := newFixtureAt(t, clk, originFiles())
	publish := func(ts int) {
		for _, fx := range []*fixture{c, f} {
			write(t, fx.root, map[string]string{repoPath: repomd(ts)})
			if _, err := fx.svc.refresh(fx.root, repoPath, KindYum); err != nil {
				t.Fatal(err)
			}
		}
	}
	dirs := map[string]string{}
	for _, n := range []string{"fresh", "behind", "stale"} {
		dirs[n] = filepath.Join(t.TempDir(), n)
	}
	copyTree(t, c.root, dirs["stale"]) // version 1000, never hashed
	publish(2000)
	clk.Advance(time.Hour)
	copyTree(t, c.root, dirs["behind"])
	publish(3000)
	copyTree(t, c.root, dirs["fresh"])
	n := &nodes{checker: c, follower: f,
		fresh: mirrorstest.Dir(t, dirs["fresh"]), behind: mirrorstest.Dir(t, dirs["behind"]), stale: mirrorstest.Dir(t, dirs["stale"])}
	ms := []config.Mirror{
		{Name: "stale", URL: n.stale.URL, Country: "US", Continent: "NA"},
		{Name: "down", URL: mirrorstest.Refusing(t), Country: "DE", Continent: "EU"},
		{Name: "behind", URL: n.behind.URL, Country: "DE", Continent: "EU"},
		{Name: "fresh", URL: n.fresh.URL, Country: "US", Continent: "NA", Onion: "http://fresh.onion/"},
	}
	n.status = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, rs := range c.svc.Responders(c.site()) {
			if handled, _ := rs.Respond(w, r); handled {
				return
			}
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(n.status.Close)
	n.stateFrom = n.status.URL + "/mirrors/status.json"

	// The onion answers of answers need the site's onion name; it is set
	// here, before either service runs, since they read the configuration.
	c.cfg.Site[0].OnionLocation = "http://site.onion"
	f.cfg.Site[0].OnionLocation = "http://site.onion"
	c.cfg.Mirror = ms
	c.svc.Reload(c.cfg)
	no := false
	f.cfg.Mirror = ms
	f.cfg.Mirrors = config.MirrorChecks{Checker: &no, StateFrom: n.stateFrom}
	f.svc.Reload(f.cfg)
	if _, err := c.svc.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	return n
}

// answers are what a client of either node gets for the repository's
// metalink (plain, from Germany, over an onion address) and the image's
// Metalink 4, by target.
func (fx *fixture) answers(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, q := range []struct{ target, host string }{
		{"/" + repoPath + ".metalink", ""},
		{"/" + repoPath + ".metalink?country=de", ""},
		{"/" + repoPath + ".metalink", "abc.onion"},
		{"/iso/Qubes-R4.2.iso.meta4", ""},
	} {
		rec := fx.get(t, q.target, q.host)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s (Host %q): status %d", q.target, q.host, rec.Code)
		}
		out[q.target+" "+q.host] = rec.Body.String()
	}
	return out
}

func sameAnswers(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %s: the follower answers\n%s\nthe checker\n%s", what, k, got[k], w)
		}
	}
}

// baseOnly checks that a node's metalink lists the site's own base_url
// and nothing else.
func (fx *fixture) baseOnly(t *testing.T, what string) {
	t.Helper()
	m := parseML3(t, fx.get(t, "/"+repoPath+".metalink", "").Body.String())
	if got := m.urls(); len(got) != 1 || got[0] != "http://origin.example/"+repoPath {
		t.Errorf("%s: metalink URLs %v, want base_url alone", what, got)
	}
}

// TestFollowerServesCheckersMetalinks: a node with checker = false serves
// exactly the checker's metalinks once it has fetched its state, having
// contacted no mirror, and follows the checker's next round.
func TestFollowerServesCheckersMetalinks(t *testing.T) {
	n := newNodes(t)
	before := n.fresh.Total() + n.behind.Total() + n.stale.Total()
	n.follower.baseOnly(t, "before the first fetch")
	if _, err := n.follower.svc.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := n.checker.answers(t)
	sameAnswers(t, "after one fetch", n.follower.answers(t), want)
	m := parseML3(t, want["/"+repoPath+".metalink "])
	if got := strings.Join(m.urls(), " "); got != n.fresh.URL+repoPath+" "+n.behind.URL+repoPath+" http://origin.example/"+repoPath {
		t.Errorf("checker's metalink lists %s; want fresh, behind, base_url", got)
	}
	if after := n.fresh.Total() + n.behind.Total() + n.stale.Total(); after != before {
		t.Errorf("the follower made %d requests to mirrors; it must make none", after-before)
	}

	// The next round: the origin moves on, the behind mirror catches up,
	// the fresh one does not. One fetch later the follower agrees again.
	n.checker.clock.Advance(interval)
	for _, fx := range []*fixture{n.checker, n.follower} {
		write(t, fx.root, map[string]string{repoPath: repomd(4000)})
	}
	synced := filepath.Join(t.TempDir(), "behind-synced")
	copyTree(t, n.checker.root, synced)
	n.behind.SetDir(synced)
	if _, err := n.checker.svc.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := n.follower.svc.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	want = n.checker.answers(t)
	sameAnswers(t, "after the next round", n.follower.answers(t), want)
	m = parseML3(t, want["/"+repoPath+".metalink "])
	if got := strings.Join(m.urls(), " "); got != n.behind.URL+repoPath+" "+n.fresh.URL+repoPath+" http://origin.example/"+repoPath {
		t.Errorf("checker's metalink after the round lists %s; want behind (now fresh), fresh (now behind), base_url", got)
	}

	// The follower's status says where its results come from.
	rep := n.follower.svc.Status()
	if rep.StateFrom == nil || rep.StateFrom.URL != n.stateFrom || rep.StateFrom.Error != "" || rep.StateFrom.MaxAgeSeconds != int64(2*interval/time.Second) {
		t.Errorf("follower's report state_from = %+v", rep.StateFrom)
	}
	if n.checker.svc.Status().StateFrom != nil {
		t.Error("the checker's report has state_from")
	}
}

// TestFollowerRunFetchesAtStart: Run on a follower fetches at once, and
// never checks a mirror.
func TestFollowerRunFetchesAtStart(t *testing.T) {
	n := newNodes(t)
	before := n.fresh.Total()
	want := n.checker.answers(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.follower.svc.Run(ctx, func(err error) { t.Errorf("run: %v", err) }); close(done) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(10 * time.Second)
	for n.follower.answers(t)["/"+repoPath+".metalink "] != want["/"+repoPath+".metalink "] {
		if time.Now().After(deadline) {
			t.Fatal("the follower's metalink never matched the checker's")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n.fresh.Total() != before {
		t.Error("the follower's Run contacted a mirror")
	}
}

// TestFollowerFallsBack: when the checker is down, the follower keeps its
// results until they are two intervals old, then lists base_url only,
// even for a metalink cached a moment before; when the checker is up but
// its results are old (it stopped checking), the same. Both recover with
// the checker's next round.
func TestFollowerFallsBack(t *testing.T) {
	t.Run("checker down", func(t *testing.T) {
		n := newNodes(t)
		if _, err := n.follower.svc.Sync(context.Background()); err != nil {
			t.Fatal(err)
		}
		n.status.Close()
		n.checker.clock.Advance(interval)
		_, err := n.follower.svc.Sync(context.Background())
		if err == nil || !strings.Contains(err.Error(), n.stateFrom) {
			t.Fatalf("fetch from a stopped checker: got %v, want an error naming %s", err, n.stateFrom)
		}
		if got := parseML3(t, n.follower.get(t, "/"+repoPath+".metalink", "").Body.String()).urls(); len(got) != 3 {
			t.Errorf("results one interval old: metalink URLs %v, want fresh, behind and base_url still", got)
		}
		n.checker.clock.Advance(interval) // exactly two intervals: still used
		if got := parseML3(t, n.follower.get(t, "/"+repoPath+".metalink", "").Body.String()).urls(); len(got) != 3 {
			t.Errorf("results two intervals old: metalink URLs %v, want them still used", got)
		}
		n.checker.clock.Advance(time.Second) // no fetch in between: the cached metalink expires
		n.follower.baseOnly(t, "results older than two intervals")
		rep := n.follower.svc.Status()
		if rep.StateFrom.Error == "" {
			t.Error("the follower's report does not say that the last fetch failed")
		}
		for _, m := range rep.Mirrors {
			if m.Name == "fresh" && (!m.TooOld || m.Summary() != "expired") {
				t.Errorf("mirror fresh: too_old %v, summary %q; want true, expired", m.TooOld, m.Summary())
			}
		}
	})
	t.Run("checker up, results old", func(t *testing.T) {
		n := newNodes(t)
		n.checker.clock.Advance(2*interval + time.Second)
		if _, err := n.follower.svc.Sync(context.Background()); err != nil {
			t.Fatal(err)
		}
		n.follower.baseOnly(t, "fetched results older than two intervals")
		if _, err := n.checker.svc.Check(context.Background()); err != nil {
			t.Fatal(err)
		}
		if _, err := n.follower.svc.Sync(context.Background()); err != nil {
			t.Fatal(err)
		}
		sameAnswers(t, "after the checker's next round", n.follower.answers(t), n.checker.answers(t))
	})
}

// TestFollowerOwnVersions: the follower offers a mirror only for a
// version it lists itself, and only mirrors it has under the same name
// and URL.
func TestFollowerOwnVersions(t *testing.T) {
	n := newNodes(t)
	write(t, n.follower.root, map[string]string{repoPath: repomd(5000)}) // synced ahead of the checker
	n.follower.cfg.Mirror = append([]config.Mirror(nil), n.follower.cfg.Mirror...)
	for i := range n.follower.cfg.Mirror {
		if n.follower.cfg.Mirror[i].Name == "behind" {
			n.follower.cfg.Mirror[i].URL = "https://elsewhere.example/"
		}
	}
	n.follower.svc.Reload(n.follower.cfg)
	if _, err := n.follower.svc.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	// fresh holds 3000, now an alternate here: it is "behind" here and
	// still offered; behind is another mirror here; stale never was.
	m := parseML3(t, n.follower.get(t, "/"+repoPath+".metalink", "").Body.String())
	if got := strings.Join(m.urls(), " "); got != n.fresh.URL+repoPath+" http://origin.example/"+repoPath {
		t.Errorf("follower ahead of the checker lists %s; want the fresh mirror (holding an alternate) and base_url", got)
	}
	if n.follower.svc.Status().Mirrors[2].LastCheck.IsZero() == false {
		t.Error("a mirror configured under another URL here took the checker's results")
	}

	// Synced to a version neither the checker nor any mirror has seen
	// but without history (a fresh install): nothing but base_url.
	fresh := newFixtureAt(t, n.checker.clock, map[string]string{repoPath: repomd(6000)})
	no := false
	fresh.cfg.Mirror = n.checker.cfg.Mirror
	fresh.cfg.Mirrors = config.MirrorChecks{Checker: &no, StateFrom: n.stateFrom}
	fresh.svc.Reload(fresh.cfg)
	if _, err := fresh.svc.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	fresh.baseOnly(t, "a follower whose only version no mirror holds")
}

// TestFollowerRefusesBadState: what is not the checker's report is
// refused with the URL and the reason, and the results held are kept.
func TestFollowerRefusesBadState(t *testing.T) {
	n := newNodes(t)
	if _, err := n.follower.svc.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	var good Report
	if err := json.Unmarshal([]byte(n.checker.get(t, "/mirrors/status.json", "").Body.String()), &good); err != nil {
		t.Fatal(err)
	}
	ahead := good
	ahead.Mirrors = append([]MirrorReport(nil), good.Mirrors...)
	ahead.Mirrors[0].LastCheck = n.checker.clock.Now().Add(time.Hour)
	aheadJSON, _ := json.Marshal(ahead)
	cases := []struct {
		name string
		h    http.HandlerFunc
		want string
	}{
		{"404", http.NotFound, "HTTP 404 Not Found; state_from must be the checking node's mirror_status_path"},
		{"html", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>")) }, "not a mirror status report"},
		{"other JSON", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"mirrors":[]}`)) }, `no "generated" time`},
		{"huge", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "40000000")
			w.Write([]byte(`{"generated":"2026-11-29T04:00:00Z","x":"`))
		}, "larger than 33554432 bytes"},
		{"clock ahead", func(w http.ResponseWriter, r *http.Request) { w.Write(aheadJSON) }, "synchronise the clocks"},
		{"redirect elsewhere", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://192.0.2.1/status.json", http.StatusFound)
		}, "redirect to another host"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bad := httptest.NewServer(tc.h)
			defer bad.Close()
			cfg := *n.follower.cfg
			cfg.Mirrors.StateFrom = bad.URL + "/status.json"
			n.follower.svc.Reload(&cfg)
			_, err := n.follower.svc.Sync(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error with %q", err, tc.want)
			}
			if !strings.Contains(err.Error(), bad.URL) {
				t.Errorf("error %q does not name state_from", err)
			}
			if got := parseML3(t, n.follower.get(t, "/"+repoPath+".metalink", "").Body.String()).urls(); len(got) != 3 {
				t.Errorf("after a refused report, metalink URLs %v; want the results held kept", got)
			}
		})
	}
}

// TestFollowerRecordsDestinations: the follower's fetches go through
// outbound with purpose mirror-state, directly or through state_via's
// SOCKS server, which then receives the onion name unresolved.
func TestFollowerRecordsDestinations(t *testing.T) {
	n := newNodes(t)
	open := func(cfg *config.Config) (*Service, *outbound.Record) {
		rec := outbound.NewRecord(outbound.RecordOptions{Now: n.checker.clock.Now})
		svc, err := New(cfg, Options{Now: n.checker.clock.Now, Timeout: 5 * time.Second, Outbound: rec})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { svc.Close() })
		return svc, rec
	}

	svc, rec := open(n.follower.cfg)
	if _, err := svc.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	su, _ := url.Parse(n.stateFrom)
	if got := rec.Pending(); len(got) != 1 || got[0].Host != su.Hostname() || got[0].Port != su.Port() || got[0].Purpose != outbound.MirrorState {
		t.Errorf("direct: recorded %+v, want only %s for mirror-state", got, su.Host)
	}

	const onion = "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz2345.onion"
	socks := proxytest.NewSOCKS5(t, su.Host)
	cfg := *n.follower.cfg
	cfg.Mirrors.StateFrom = "http://" + onion + "/mirrors/status.json"
	cfg.Mirrors.StateVia = "socks5://" + socks.Addr
	svc, rec = open(&cfg)
	if _, err := svc.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := socks.Requests(); len(got) != 1 || got[0].AddrType != proxytest.ATypDomain || got[0].Host != onion || got[0].Port != 80 {
		t.Errorf("the SOCKS server was asked %+v, want %s:80 by name", got, onion)
	}
	sh, sp, _ := strings.Cut(socks.Addr, ":")
	if got := rec.Pending(); len(got) != 1 || got[0].Host != sh || got[0].Port != sp || got[0].Purpose != outbound.MirrorState {
		t.Errorf("via tor: recorded %+v, want only the SOCKS server %s for mirror-state (and no resolver)", got, socks.Addr)
	}
	// This service started without the follower's history: it lists the
	// current version only, so the behind mirror is not offered.
	if urls := parseML3(t, mustMetalink(t, svc, n.follower.site())).urls(); len(urls) != 2 || urls[0] != n.fresh.URL+repoPath {
		t.Errorf("via tor: metalink URLs %v, want the checker's fresh mirror and base_url", urls)
	}
}

func mustMetalink(t *testing.T, svc *Service, site config.Site) string {
	t.Helper()
	body, err := svc.Metalink(site, repoPath, "", false)
	if err != nil || body == nil {
		t.Fatalf("metalink: %v", err)
	}
	return string(body)
}

// TestRolesRefused: a follower does not check, a checker does not fetch.
func TestRolesRefused(t *testing.T) {
	n := newNodes(t)
	if _, err := n.follower.svc.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "mirrors.checker = false") {
		t.Errorf("Check on a follower: got %v", err)
	}
	if _, err := n.checker.svc.Sync(context.Background()); err == nil || !strings.Contains(err.Error(), "checks the mirrors itself") {
		t.Errorf("Sync on the checker: got %v", err)
	}
}

func TestNextSync(t *testing.T) {
	now := time.Date(2026, 11, 29, 4, 0, 0, 0, time.UTC)
	const timeout = 30 * time.Second
	cases := []struct {
		name   string
		newest time.Time
		want   time.Duration
	}{
		{"nothing held", time.Time{}, lateRetry},
		{"round just ended", now, interval + timeout + syncMargin},
		{"round ended 10 minutes ago", now.Add(-10 * time.Minute), 5*time.Minute + timeout + syncMargin},
		{"next round due within the margin", now.Add(-interval - timeout - syncMargin + time.Second), syncMargin},
		{"next round overdue", now.Add(-interval - timeout - syncMargin - time.Second), lateRetry},
		{"checker long gone", now.Add(-24 * time.Hour), lateRetry},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := nextSync(now, tc.newest, interval, timeout); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	// Whatever the phase, a follower of a running checker never holds
	// results older than two intervals: each fetch comes before the
	// results it holds reach that age, and gets the next round.
	for phase := time.Duration(0); phase < interval+timeout; phase += 7 * time.Second {
		newest := now.Add(-phase)
		next := now.Add(nextSync(now, newest, interval, timeout))
		if age := next.Sub(newest); age > 2*interval {
			t.Errorf("phase %v: the next fetch comes when the results are %v old", phase, age)
		}
		if next.Before(newest.Add(interval + timeout)) {
			t.Errorf("phase %v: the next fetch comes before the checker's next round can have ended", phase)
		}
	}
}

// TestFollowerStateKept: what the follower fetched, and when, is in its
// state file, so that `depot mirrors status` (another process) and a
// restart know it; a node that becomes the checker forgets it.
func TestFollowerStateKept(t *testing.T) {
	n := newNodes(t)
	if _, err := n.follower.svc.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	again := n.follower.open(t, time.Second)
	rep := again.Status()
	if rep.StateFrom == nil || !rep.StateFrom.Fetched.Equal(n.checker.clock.Now()) || rep.StateFrom.URL != n.stateFrom {
		t.Fatalf("reopened follower: state_from %+v, want fetched at %v from %s", rep.StateFrom, n.checker.clock.Now(), n.stateFrom)
	}
	if got := parseML3(t, mustMetalink(t, again, n.follower.site())).urls(); len(got) != 3 {
		t.Errorf("reopened follower: metalink URLs %v, want the checker's two mirrors and base_url", got)
	}
	n.follower.cfg.Mirrors = config.MirrorChecks{}
	again.Reload(n.follower.cfg)
	if _, err := again.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	if again.state.From != nil || again.Status().StateFrom != nil {
		t.Errorf("a node that checks keeps state_from %+v", again.state.From)
	}
}

package mirrors

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"depot/internal/config"
	"depot/internal/metalink"
	"depot/internal/mirrors/mirrorstest"
)

type ml3 struct {
	Files []struct {
		Timestamp int64 `xml:"http://fedorahosted.org/mirrormanager timestamp"`
		Size      int64 `xml:"size"`
		Alts      []struct {
			Timestamp int64 `xml:"http://fedorahosted.org/mirrormanager timestamp"`
		} `xml:"http://fedorahosted.org/mirrormanager alternates>alternate"`
		Hashes []struct {
			Type  string `xml:"type,attr"`
			Value string `xml:",chardata"`
		} `xml:"verification>hash"`
		URLs []struct {
			Location   string `xml:"location,attr"`
			Preference int    `xml:"preference,attr"`
			Value      string `xml:",chardata"`
		} `xml:"resources>url"`
	} `xml:"files>file"`
}

func parseML3(t *testing.T, body string) ml3 {
	t.Helper()
	var m ml3
	if err := xml.Unmarshal([]byte(body), &m); err != nil || len(m.Files) != 1 {
		t.Fatalf("metalink does not parse (%v):\n%s", err, body)
	}
	return m
}

func (m ml3) urls() []string {
	var out []string
	for _, u := range m.Files[0].URLs {
		out = append(out, u.Value)
	}
	return out
}

// network is an origin with three mirrors in three states of sync.
type network struct {
	*fixture
	fresh, behind, stale *mirrorstest.Mirror
	down                 string
}

// newNetwork: "fresh" holds the current repomd.xml, "behind" the previous
// one, "stale" one from before the history, "down" refuses connections.
func newNetwork(t *testing.T) *network {
	fx := newFixture(t, originFiles())
	dirs := map[string]string{}
	for _, n := range []string{"fresh", "behind", "stale"} {
		dirs[n] = filepath.Join(t.TempDir(), n)
	}
	copyTree(t, fx.root, dirs["stale"]) // version 1000, never in history
	write(t, fx.root, map[string]string{repoPath: repomd(2000)})
	if _, err := fx.svc.refresh(fx.root, repoPath, KindYum); err != nil {
		t.Fatal(err)
	}
	fx.clock.Advance(time.Hour)
	copyTree(t, fx.root, dirs["behind"])
	write(t, fx.root, map[string]string{repoPath: repomd(3000)})
	copyTree(t, fx.root, dirs["fresh"])
	nw := &network{fixture: fx,
		fresh: mirrorstest.Dir(t, dirs["fresh"]), behind: mirrorstest.Dir(t, dirs["behind"]),
		stale: mirrorstest.Dir(t, dirs["stale"]), down: mirrorstest.Refusing(t)}
	fx.cfg.Mirror = []config.Mirror{
		{Name: "stale", URL: nw.stale.URL, Country: "US", Continent: "NA"},
		{Name: "down", URL: nw.down, Country: "DE", Continent: "EU"},
		{Name: "behind", URL: nw.behind.URL, Country: "DE", Continent: "EU"},
		{Name: "fresh", URL: nw.fresh.URL, Country: "US", Continent: "NA", Onion: "http://fresh.onion/"},
	}
	fx.svc.Reload(fx.cfg)
	if _, err := fx.svc.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	return nw
}

func TestMetalink(t *testing.T) {
	nw := newNetwork(t)
	rec := nw.get(t, "/"+repoPath+".metalink", "")
	if rec.Code != 200 {
		t.Fatalf("status %d", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != metalink.ContentType3 {
		t.Errorf("Content-Type %q, want %q", ct, metalink.ContentType3)
	}
	m := parseML3(t, rec.Body.String())
	f := m.Files[0]
	if f.Timestamp != 3000 || f.Size != int64(len(repomd(3000))) {
		t.Errorf("got timestamp %d size %d, want 3000 and %d", f.Timestamp, f.Size, len(repomd(3000)))
	}
	if len(f.Hashes) != 4 {
		t.Errorf("got %d hashes, want md5, sha1, sha256, sha512", len(f.Hashes))
	}
	if len(f.Alts) != 1 || f.Alts[0].Timestamp != 2000 {
		t.Errorf("got alternates %+v, want the one version of the last 48 h (2000)", f.Alts)
	}
	want := []string{nw.fresh.URL + repoPath, nw.behind.URL + repoPath, "http://origin.example/" + repoPath}
	if got := m.urls(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("got URLs\n %v\nwant (fresh, behind, base_url; no stale, no down)\n %v", got, want)
	}

	// A client in Germany: fresh still before behind, both before base_url.
	m = parseML3(t, nw.get(t, "/"+repoPath+".metalink?country=de", "").Body.String())
	if got := m.urls(); got[0] != nw.fresh.URL+repoPath {
		t.Errorf("country=de: got %v, fresh must stay first", got)
	}

	// On an onion listener: only onion mirrors, and no base URL without
	// onion_base_url, whatever the Host header says.
	for _, host := range []string{"abc.onion", "yum.example.org"} {
		m = parseML3(t, nw.getOnion(t, "/"+repoPath+".metalink", host).Body.String())
		if got := strings.Join(m.urls(), " "); got != "http://fresh.onion/"+repoPath {
			t.Errorf("onion listener, Host %s, no onion_base_url: got %v, want the onion mirror only", host, got)
		}
	}
	// A clearnet listener asked with an onion Host is still clearnet.
	m = parseML3(t, nw.get(t, "/"+repoPath+".metalink", "abc.onion").Body.String())
	if got := m.urls(); len(got) != 3 || got[2] != "http://origin.example/"+repoPath {
		t.Errorf("clearnet listener, onion Host: got %v, want the clearnet answer", got)
	}
	// With onion_base_url, the site's onion address comes last.
	nw.cfg.Site[0].OnionLocation = "http://site.onion"
	nw.cfg.Site[0].OnionBaseURL = "http://site2.onion/repo/"
	nw.svc.Reload(nw.cfg) // as SIGHUP does: cached answers are dropped
	m = parseML3(t, nw.getOnion(t, "/"+repoPath+".metalink", "yum.example.org").Body.String())
	if got := strings.Join(m.urls(), " "); got != "http://fresh.onion/"+repoPath+" http://site2.onion/repo/"+repoPath {
		t.Errorf("onion client: got %v", got)
	}
	nw.cfg.Site[0].OnionBaseURL = ""
	nw.svc.Reload(nw.cfg)

	// Alternates age out of the window; the behind mirror goes with them.
	nw.clock.Advance(49 * time.Hour)
	m = parseML3(t, nw.get(t, "/"+repoPath+".metalink", "").Body.String())
	if len(m.Files[0].Alts) != 0 || len(m.urls()) != 2 {
		t.Errorf("after 49 h: alternates %v, urls %v; want none and fresh + base_url", m.Files[0].Alts, m.urls())
	}
}

func TestMetalinkCache(t *testing.T) {
	nw := newNetwork(t)
	p := "/" + repoPath + ".metalink"
	first := nw.get(t, p, "").Body.String()
	builds := nw.svc.caches.builds()
	if again := nw.get(t, p, "").Body.String(); again != first || nw.svc.caches.builds() != builds {
		t.Fatal("second request was rebuilt; want it served from the cache")
	}
	// The file changes: rebuilt with the new hash.
	write(t, nw.root, map[string]string{repoPath: repomd(4000)})
	future := nw.clock.Now().Add(time.Hour)
	os.Chtimes(filepath.Join(nw.root, repoPath), future, future)
	nw.clock.Advance(2 * statTTL) // a change is seen within statTTL
	m := parseML3(t, nw.get(t, p, "").Body.String())
	if m.Files[0].Timestamp != 4000 {
		t.Errorf("after the file changed: timestamp %d, want 4000", m.Files[0].Timestamp)
	}
	// Both mirrors now hold recent versions (behind); base_url last.
	if got := m.urls(); len(got) != 3 || len(m.Files[0].Alts) != 2 || got[2] != "http://origin.example/"+repoPath {
		t.Errorf("after the file changed: urls %v, alternates %v; want both mirrors as behind, then base_url", got, m.Files[0].Alts)
	}
	// The state changes: rebuilt.
	builds = nw.svc.caches.builds()
	nw.svc.Reload(nw.cfg)
	nw.get(t, p, "")
	if nw.svc.caches.builds() != builds+1 {
		t.Error("not rebuilt after the mirror state changed")
	}
}

func TestMetalinkNotOurs(t *testing.T) {
	nw := newNetwork(t)
	for _, p := range []string{
		"/nothere/repodata/repomd.xml.metalink",
		"/r4.2/../r4.2/current/host/fc37/repodata/repomd.xml.metalink",
		"/.git/repodata/repomd.xml.metalink",
		"/r4.2/current/host/fc37/repodata/repomd.xml",
	} {
		if rec := nw.get(t, p, ""); rec.Code != 0 {
			t.Errorf("%s: handled with %d; want it left to the site", p, rec.Code)
		}
	}
}

func TestMeta4AndRedirect(t *testing.T) {
	nw := newNetwork(t)
	iso := "/iso/Qubes-R4.2.iso"
	rec := nw.get(t, iso+".meta4", "")
	if rec.Code != 200 || rec.Header().Get("Content-Type") != metalink.ContentType4 {
		t.Fatalf("meta4: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	var m4 struct {
		File struct {
			Size int64  `xml:"size"`
			Hash string `xml:"hash"`
			URLs []struct {
				Location string `xml:"location,attr"`
				Priority int    `xml:"priority,attr"`
				Value    string `xml:",chardata"`
			} `xml:"url"`
		} `xml:"file"`
	}
	if err := xml.Unmarshal(rec.Body.Bytes(), &m4); err != nil {
		t.Fatal(err)
	}
	// Every mirror except down holds an ISO of the right size.
	if m4.File.Size != 4096 || len(m4.File.Hash) != 64 || len(m4.File.URLs) != 4 {
		t.Errorf("meta4: size %d hash %q urls %+v", m4.File.Size, m4.File.Hash, m4.File.URLs)
	}
	if last := m4.File.URLs[len(m4.File.URLs)-1]; last.Value != "http://origin.example"+iso {
		t.Errorf("meta4: last URL %q, want base_url", last.Value)
	}

	rec = nw.get(t, iso, "")
	if rec.Code != 302 {
		t.Fatalf("ISO GET: %d, want 302", rec.Code)
	}
	loc := rec.Header().Get("Location")
	if !strings.HasSuffix(loc, iso) || strings.Contains(loc, nw.down) {
		t.Errorf("redirected to %q", loc)
	}
	// Onion clients go only to onion mirrors, whatever their Host says;
	// an onion Host on a clearnet listener changes nothing.
	for _, host := range []string{"abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuv.onion", "yum.example.org"} {
		rec = nw.getOnion(t, iso, host)
		if loc := rec.Header().Get("Location"); rec.Code != 302 || loc != "http://fresh.onion"+iso {
			t.Errorf("onion listener, Host %s: %d %q, want 302 to the onion mirror", host, rec.Code, loc)
		}
	}
	rec = nw.get(t, iso, "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuv.onion")
	if loc := rec.Header().Get("Location"); rec.Code != 302 || strings.Contains(loc, ".onion") {
		t.Errorf("clearnet listener, onion Host: %d %q, want 302 to a clearnet mirror", rec.Code, loc)
	}
	// Small files and unchecked files are served here.
	for _, p := range []string{"/" + repoPath, "/r4.2/current/host/fc37/a.rpm"} {
		if rec := nw.get(t, p, ""); rec.Code != 0 {
			t.Errorf("%s: %d, want served locally", p, rec.Code)
		}
	}
	// An ISO changed since the check is verified nowhere.
	write(t, nw.root, map[string]string{"iso/Qubes-R4.2.iso": strings.Repeat("j", 5000)})
	if rec := nw.get(t, iso, ""); rec.Code != 0 {
		t.Errorf("changed ISO: %d, want served locally", rec.Code)
	}
	// Repository metadata above the threshold goes only to a mirror with
	// exactly the current version.
	nw.cfg.Site[0].RedirectMinSize = 1
	for range 5 {
		rec := nw.get(t, "/"+repoPath, "")
		if loc := rec.Header().Get("Location"); rec.Code != 302 || loc != nw.fresh.URL+repoPath {
			t.Fatalf("repomd.xml: %d %q, want only the fresh mirror", rec.Code, loc)
		}
	}
}

func TestStatusPage(t *testing.T) {
	nw := newNetwork(t)
	html := nw.get(t, "/mirrors/", "")
	if html.Code != 200 || !strings.HasPrefix(html.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("page: %d", html.Code)
	}
	body := strings.ToLower(html.Body.String())
	for _, bad := range []string{"<script", "style=", "http://fonts", "https://", "onload"} {
		if strings.Contains(body, bad) {
			t.Errorf("status page contains %q", bad)
		}
	}
	for _, want := range []string{"fresh", "behind", "stale", "down", `href="status.css"`} {
		if !strings.Contains(body, want) {
			t.Errorf("status page lacks %q", want)
		}
	}
	if css := nw.get(t, "/mirrors/status.css", ""); css.Code != 200 || !strings.HasPrefix(css.Header().Get("Content-Type"), "text/css") {
		t.Errorf("stylesheet: %d", css.Code)
	}
	var rep Report
	js := nw.get(t, "/mirrors/status.json", "")
	if err := json.Unmarshal(js.Body.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	want := map[string]Status{"fresh": Fresh, "behind": Behind, "stale": Stale, "down": Down}
	for name, st := range want {
		if got := fileStatus(rep, name, repoPath).Status; got != st {
			t.Errorf("%s: got %s, want %s", name, got, st)
		}
	}
	var tbl strings.Builder
	if err := WriteTable(&tbl, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(tbl.String(), "MIRROR") || !strings.Contains(tbl.String(), "down") {
		t.Errorf("table:\n%s", tbl.String())
	}
}

// TestStatusPageRedirectsWithoutSlash: "/mirrors" answered 404 while
// "/statistics" redirected; it now redirects to "/mirrors/" the same way,
// query kept, with a Location that is a path on this origin, so that an
// onion client is sent to its onion address and nowhere else.
func TestStatusPageRedirectsWithoutSlash(t *testing.T) {
	nw := newNetwork(t)
	for _, onion := range []bool{false, true} {
		get := nw.get
		if onion {
			get = nw.getOnion
		}
		for _, tt := range []struct{ target, location string }{
			{"/mirrors", "/mirrors/"},
			{"/mirrors?lang=en", "/mirrors/?lang=en"},
		} {
			rec := get(t, tt.target, "yum.example.org")
			if loc := rec.Header().Get("Location"); rec.Code != 301 || loc != tt.location {
				t.Errorf("onion=%v GET %s: %d Location %q, want 301 to %q", onion, tt.target, rec.Code, loc, tt.location)
			}
			if onion && strings.Contains(rec.Body.String(), "://") {
				t.Errorf("onion GET %s: the body names an address: %q", tt.target, rec.Body.String())
			}
		}
		// Neither a longer name nor an unknown file below is the page.
		for _, target := range []string{"/mirrorsx", "/mirrors/other"} {
			if rec := get(t, target, "yum.example.org"); rec.Code != 0 {
				t.Errorf("onion=%v GET %s: %d, want left to the site", onion, target, rec.Code)
			}
		}
	}
}

// TestTreeName: the responders answer only for the names the site's
// resolver gives, and only for paths it need not clean; every other path
// falls through to the site, which answers it as it answers any file.
func TestTreeName(t *testing.T) {
	for _, tt := range []struct {
		target string
		want   string
		ok     bool
	}{
		{"/r4.2/repodata/repomd.xml.metalink", "r4.2/repodata/repomd.xml.metalink", true},
		{"/iso/Qubes-R4.2.iso.meta4", "iso/Qubes-R4.2.iso.meta4", true},
		{"/", "", false},
		{"/r4.2/", "", false},
		{"/r4.2//repodata/repomd.xml.metalink", "", false},
		{"/r4.2/./repodata/repomd.xml.metalink", "", false},
		{"/r4.2/../etc/passwd", "", false},
		{"/%2e%2e/etc/passwd", "", false},
		{"/.git/config", "", false},
		{"/r4.2/.hidden.iso", "", false},
		{"/a%5c..%5cb.iso", "", false},
		{"/a%00.iso", "", false},
	} {
		t.Run(tt.target, func(t *testing.T) {
			u, err := url.Parse(tt.target)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := treeName(u.Path)
			if got != tt.want || ok != tt.ok {
				t.Errorf("treeName(%q) = %q, %v; want %q, %v", u.Path, got, ok, tt.want, tt.ok)
			}
		})
	}
}

package mirrors

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pelletier/go-toml/v2"

	"depot/internal/config"
)

// FuzzParseList: whatever the list holds, every mirror returned has an
// absolute http(s) URL ending in "/" whose host parses back to the
// mirror's name, a unique name, and survives the TOML round trip.
func FuzzParseList(f *testing.F) {
	for _, tc := range listCases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		ms, _ := ParseList(strings.NewReader(in))
		names := map[string]bool{}
		for _, m := range ms {
			if !strings.HasPrefix(m.URL, "http://") && !strings.HasPrefix(m.URL, "https://") || !strings.HasSuffix(m.URL, "/") {
				t.Fatalf("bad URL %q", m.URL)
			}
			u, err := url.Parse(m.URL)
			if err != nil || !strings.HasPrefix(m.Name, u.Hostname()) || config.URLHostProblem(u) != "" {
				t.Fatalf("URL %q does not parse back to host %q (%v)", m.URL, m.Name, err)
			}
			if names[m.Name] {
				t.Fatalf("duplicate name %q", m.Name)
			}
			names[m.Name] = true
		}
		var b strings.Builder
		if err := WriteTOML(&b, ms); err != nil {
			t.Fatal(err)
		}
		var out struct {
			Mirror []config.Mirror `toml:"mirror"`
		}
		if err := toml.Unmarshal([]byte(b.String()), &out); err != nil {
			t.Fatalf("printed TOML does not parse: %v\n%s", err, b.String())
		}
		if len(out.Mirror) != len(ms) {
			t.Fatalf("round trip: %d mirrors, want %d", len(out.Mirror), len(ms))
		}
		for i := range ms {
			if out.Mirror[i].URL != ms[i].URL || out.Mirror[i].Name != ms[i].Name || out.Mirror[i].Subdir != ms[i].Subdir {
				t.Fatalf("round trip: %+v, want %+v", out.Mirror[i], ms[i])
			}
		}
	})
}

// FuzzAdoptReport: whatever the checking node's status JSON holds, a
// follower adopts results only for the mirrors it has under the same name
// and URL and for the files it has, and never trusts a result it cannot
// classify against its own versions.
func FuzzAdoptReport(f *testing.F) {
	now := time.Date(2026, 11, 29, 4, 0, 0, 0, time.UTC)
	cfg := &config.Config{Mirror: []config.Mirror{{Name: "a", URL: "https://a.example/"}, {Name: "b", URL: "https://b.example/", Content: []string{"iso"}}}}
	cur := Version{}
	cur.Hashes.SHA256 = strings.Repeat("ab", 32)
	cur.Size = 10
	files := map[string]*OriginFile{
		"r/repodata/repomd.xml": {Kind: KindYum, Versions: []Version{cur}},
		"x.iso":                 {Kind: KindISO, Versions: []Version{cur}},
	}
	present := map[string]job{"r/repodata/repomd.xml": {name: "r/repodata/repomd.xml", kind: KindYum}, "x.iso": {name: "x.iso", kind: KindISO}}
	for _, seed := range []string{
		`{"generated":"2026-11-29T04:00:00Z","mirrors":[{"name":"a","url":"https://a.example/","trusted":true,"last_check":"2026-11-29T03:50:00Z",` +
			`"files":[{"name":"r/repodata/repomd.xml","status":"fresh","sha256":"` + cur.Hashes.SHA256 + `","size":10},{"name":"x.iso","status":"down","error":"timed out"}]}]}`,
		`{"generated":"2026-11-29T04:00:00Z","mirrors":[{"name":"b","url":"https://elsewhere/","trusted":true,"last_check":"2026-11-29T03:50:00Z","files":[{"name":"x.iso","status":"fresh","size":10}]}]}`,
		`{"generated":"2026-11-29T04:00:00Z","mirrors":[{"name":"a","url":"https://a.example/","last_check":"2027-01-01T00:00:00Z"}]}`,
		`{"mirrors":[]}`, `[]`, `{"generated":"x"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		rep, err := decodeReport(body, now)
		if err != nil {
			return
		}
		s := &Service{cfg: cfg, state: newState()}
		s.state.Files = files
		var rd Round
		s.adopt(cfg, rep, present, &rd)
		for name, ms := range s.state.Mirrors {
			var m *config.Mirror
			for i := range cfg.Mirror {
				if cfg.Mirror[i].Name == name {
					m = &cfg.Mirror[i]
				}
			}
			if m == nil {
				t.Fatalf("adopted mirror %q, which is not configured", name)
			}
			var theirs *MirrorReport
			for i := range rep.Mirrors {
				if rep.Mirrors[i].Name == name {
					theirs = &rep.Mirrors[i]
				}
			}
			if theirs == nil || theirs.URL != m.URL {
				t.Fatalf("adopted mirror %q under another URL", name)
			}
			if ms.LastRound.After(now.Add(maxClockAhead)) {
				t.Fatalf("adopted a round that ends in the future: %v", ms.LastRound)
			}
			for fname, r := range ms.Files {
				f, ok := files[fname]
				if !ok {
					t.Fatalf("adopted a result for %q, which this node does not have", fname)
				}
				st := classify(f, r, now, time.Hour)
				if st == Fresh && (r.Down || r.Error != "" || f.Kind != KindISO && r.SHA256 != cur.Hashes.SHA256 || f.Kind == KindISO && r.Size != cur.Size) {
					t.Fatalf("%s on %s is fresh from %+v", fname, name, r)
				}
			}
		}
	})
}

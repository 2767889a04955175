package mirrors

import (
	"net/url"
	"strings"
	"testing"

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

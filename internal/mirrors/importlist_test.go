package mirrors

import (
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"

	"depot/internal/config"
)

var listCases = []struct {
	name    string
	in      string
	want    []config.Mirror
	wantErr string
}{
	{"qubes list", `# Qubes OS mirrors
https://ftp.qubes-os.org/repo/yum/

http://mirror.example.net/qubes  r4.2/   # partial
https://mirror.example.net/qubes2/
`, []config.Mirror{
		{Name: "ftp.qubes-os.org", URL: "https://ftp.qubes-os.org/repo/yum/"},
		{Name: "mirror.example.net", URL: "http://mirror.example.net/qubes/", Subdir: "r4.2/"},
		{Name: "mirror.example.net-2", URL: "https://mirror.example.net/qubes2/"},
	}, ""},
	{"bad lines reported with numbers", "ftp://x/\nhttps://ok.example/\nhttps://a/ b c\nhttps://s/ ../x\n", []config.Mirror{
		{Name: "ok.example", URL: "https://ok.example/"},
	}, "line 1"},
	{"duplicate", "https://a.example/\nhttps://a.example/\n", []config.Mirror{{Name: "a.example", URL: "https://a.example/"}}, "line 2"},
	{"empty", "\n# nothing\n", nil, ""},
	// A host is a name or an address as written: escapes in it decode to
	// something else (here invalid UTF-8) and do not round-trip.
	{"escape in host", "https://ftp.q%80x.example/\nhttps://ftp.q%41x.example/\nhttps://[::1%25lo]/\n", nil, "line 1"},
	{"bad host names", "https://a_b.example/\nhttps://-a.example/\nhttps://a..example/\nhttps://a.example:0/\n", nil, "line 4"},
	{"hosts kept", "https://[2001:db8::1]:8443/x/\nhttps://10.0.0.1/\nhttp://abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion/\n", []config.Mirror{
		{Name: "2001:db8::1", URL: "https://[2001:db8::1]:8443/x/"},
		{Name: "10.0.0.1", URL: "https://10.0.0.1/"},
		{Name: "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion", URL: "http://abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion/"},
	}, ""},
}

func TestParseList(t *testing.T) {
	for _, tc := range listCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseList(strings.NewReader(tc.in))
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("err = %v, want %q", err, tc.wantErr)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d mirrors %+v, want %d", len(got), got, len(tc.want))
			}
			for i := range got {
				if got[i].Name != tc.want[i].Name || got[i].URL != tc.want[i].URL || got[i].Subdir != tc.want[i].Subdir {
					t.Errorf("mirror %d: got %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

// TestWriteTOMLRoundTrip: what import prints decodes back, strictly, to
// the same mirrors and validates.
func TestWriteTOMLRoundTrip(t *testing.T) {
	in := []config.Mirror{
		{Name: `we"ird\name`, URL: "https://a.example/x/", Subdir: "r4.2/"},
		{Name: "b", URL: "https://b.example/", Country: "DE", Continent: "EU", Content: []string{"iso"}},
	}
	var b strings.Builder
	if err := WriteTOML(&b, in); err != nil {
		t.Fatal(err)
	}
	var out struct {
		Mirror []config.Mirror `toml:"mirror"`
	}
	if err := toml.Unmarshal([]byte(b.String()), &out); err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if len(out.Mirror) != 2 || out.Mirror[0].Name != in[0].Name || out.Mirror[1].Content[0] != "iso" || out.Mirror[1].Country != "DE" {
		t.Errorf("round trip: got %+v\n%s", out.Mirror, b.String())
	}
}

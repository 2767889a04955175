package stats

import (
	"fmt"
	"testing"

	"depot/internal/config"
)

func logLine(addr, when, req string, status int) string {
	return fmt.Sprintf(`%s - - [%s] "%s" %d 123 "-" "libdnf (Fedora 37; generic; Linux.x86_64)"`, addr, when, req, status)
}

const when = "15/Oct/2026:12:00:00 +0000"

// classifyCases seed the fuzz target too.
var classifyCases = []struct {
	name    string
	line    string
	want    verdict
	release string
}{
	{"metalink", logLine("203.0.113.7", when, "GET /r4.2/current/host/fc37/repodata/repomd.xml.metalink HTTP/1.1", 200), countedV4, "r4.2"},
	{"repomd", logLine("203.0.113.7", when, "GET /r4.3/current/vm/fc41/repodata/repomd.xml HTTP/1.1", 200), countedV4, "r4.3"},
	{"countme query stripped", logLine("203.0.113.7", when, "GET /r4.2/current/vm/fc37/repodata/repomd.xml?countme=1 HTTP/1.1", 200), countedV4, "r4.2"},
	{"query that looks like the file", logLine("203.0.113.7", when, "GET /r4.2/index.html?x=/repomd.xml HTTP/1.1", 200), notCounted, ""},
	{"percent-encoded path", logLine("203.0.113.7", when, "GET /r4.2/current/vm/fc37/repodata/repomd%2Exml HTTP/1.1", 200), countedV4, "r4.2"},
	{"percent-encoded release", logLine("203.0.113.7", when, "GET /r4%2E2/current/repodata/repomd.xml HTTP/1.1", 200), countedV4, "r4.2"},
	{"percent-encoded releasever", logLine("203.0.113.7", when, "GET /r%24releasever/current/vm/fc37/repodata/repomd.xml HTTP/1.1", 200), notCounted, ""},
	{"releasever", logLine("203.0.113.7", when, "GET /r$releasever/current/vm/fc37/repodata/repomd.xml HTTP/1.1", 200), notCounted, ""},
	{"asc does not count", logLine("203.0.113.7", when, "GET /r4.2/current/vm/fc37/repodata/repomd.xml.asc HTTP/1.1", 200), notCounted, ""},
	{"personal repository", logLine("203.0.113.7", when, "GET /~woju/r4.2/repodata/repomd.xml HTTP/1.1", 200), notCounted, ""},
	{"repo prefix", logLine("203.0.113.7", when, "GET /repo/yum/r4.1/current/vm/fc32/repodata/repomd.xml HTTP/1.1", 200), countedV4, "r4.1"},
	{"yum prefix", logLine("203.0.113.7", when, "GET /yum/r4.2/current/vm/fc37/repodata/repomd.xml HTTP/1.1", 200), countedV4, "r4.2"},
	{"double slash", logLine("203.0.113.7", when, "GET //yum/r4.2/current/repodata/repomd.xml HTTP/1.1", 200), countedV4, "r4.2"},
	{"contrib prefix", logLine("203.0.113.7", when, "GET /contrib/r4.2/current/repodata/repomd.xml HTTP/1.1", 200), notCounted, ""},
	{"contrib in release", logLine("203.0.113.7", when, "GET /yum/r4.2-contrib/repodata/repomd.xml HTTP/1.1", 200), notCounted, ""},
	{"contrib deeper is fine", logLine("203.0.113.7", when, "GET /r4.2/contrib/repodata/repomd.xml HTTP/1.1", 200), countedV4, "r4.2"},
	{"file as release", logLine("203.0.113.7", when, "GET /repomd.xml HTTP/1.1", 200), notCounted, ""},
	{"space in target", logLine("203.0.113.7", when, "GET /r4.2/my dir/repodata/repomd.xml HTTP/1.1", 200), countedV4, "r4.2"},
	{"nginx hex escape", logLine("203.0.113.7", when, `GET /r4.2/caf\xC3\xA9/repodata/repomd.xml HTTP/1.1`, 200), countedV4, "r4.2"},
	{"HEAD", logLine("203.0.113.7", when, "HEAD /r4.2/current/repodata/repomd.xml HTTP/1.1", 200), notCounted, ""},
	{"POST", logLine("203.0.113.7", when, "POST /r4.2/current/repodata/repomd.xml HTTP/1.1", 200), notCounted, ""},
	{"304 counts", logLine("203.0.113.7", when, "GET /r4.2/current/repodata/repomd.xml HTTP/1.1", 304), countedV4, "r4.2"},
	{"302 counts", logLine("203.0.113.7", when, "GET /r4.2/current/repodata/repomd.xml.metalink HTTP/1.1", 302), countedV4, "r4.2"},
	{"399 counts", logLine("203.0.113.7", when, "GET /r4.2/current/repodata/repomd.xml HTTP/1.1", 399), countedV4, "r4.2"},
	{"404 does not", logLine("203.0.113.7", when, "GET /r9.9/current/repodata/repomd.xml HTTP/1.1", 404), notCounted, ""},
	{"500 does not", logLine("203.0.113.7", when, "GET /r4.2/current/repodata/repomd.xml HTTP/1.1", 500), notCounted, ""},
	{"199 does not", logLine("203.0.113.7", when, "GET /r4.2/current/repodata/repomd.xml HTTP/1.1", 199), notCounted, ""},
	{"ipv4-mapped", logLine("::ffff:203.0.113.7", when, "GET /r4.2/current/repodata/repomd.xml HTTP/1.1", 200), countedV4, "r4.2"},
	{"ipv6", logLine("2001:db8::1", when, "GET /r4.2/current/repodata/repomd.xml HTTP/1.1", 200), countedV6, "r4.2"},
	{"ipv4 pseudonym", logLine("100::4:0:cb00:7107", when, "GET /r4.2/current/repodata/repomd.xml HTTP/1.1", 200), countedV4, "r4.2"},
	{"ipv4 pseudonym, tor", logLine("100::4:1:cb00:7107", when, "GET /r4.2/current/repodata/repomd.xml HTTP/1.1", 200), countedV4, "r4.2"},
	{"ipv4 pseudonym, long spelling", logLine("0100:0:0:0:0004:0000:CB00:7107", when, "GET /r4.2/current/repodata/repomd.xml HTTP/1.1", 200), countedV4, "r4.2"},
	{"ipv6 pseudonym", logLine("3fff:6:1:2:3:4:5:6", when, "GET /r4.2/current/repodata/repomd.xml HTTP/1.1", 200), countedV6, "r4.2"},
	{"discard prefix, no pseudonym", logLine("100::1", when, "GET /r4.2/current/repodata/repomd.xml HTTP/1.1", 200), countedV6, "r4.2"},
	{"host name", logLine("client.example.org", when, "GET /r4.2/current/repodata/repomd.xml HTTP/1.1", 200), notCounted, ""},
	{"leading zero address", logLine("203.0.113.07", when, "GET /r4.2/current/repodata/repomd.xml HTTP/1.1", 200), notCounted, ""},
	{"garbage", "garbage line without structure", malformed, ""},
	{"empty", "", malformed, ""},
	{"dash request", `203.0.113.7 - - [15/Oct/2026:12:00:00 +0000] "-" 400 0 "-" "-"`, notCounted, ""},
	{"truncated", `203.0.113.7 - - [15/Oct/2026:12:00:00 +0000] "GET /r4.2/repodata/repomd.xml HT`, malformed, ""},
}

func TestClassify(t *testing.T) {
	for _, tc := range classifyCases {
		t.Run(tc.name, func(t *testing.T) {
			c := newClassifier(nil)
			var out classified
			got := c.classify([]byte(tc.line+"\n"), &out)
			if got != tc.want {
				t.Fatalf("got verdict %d, want %d", got, tc.want)
			}
			if (got == countedV4 || got == countedV6) && string(out.release) != tc.release {
				t.Errorf("got release %q, want %q", out.release, tc.release)
			}
		})
	}
}

// A pseudonym is read as what it records: its ID or /64 and Tor flag.
func TestClassifyPseudonym(t *testing.T) {
	c := newClassifier(nil)
	for _, tc := range []struct {
		addr   string
		want   verdict
		v4     uint32
		tor    bool
		p64    uint64
		pseudo bool
	}{
		{"100::4:0:cb00:7107", countedV4, 0xcb007107, false, 0, true},
		{"100::4:1:cb00:7107", countedV4, 0xcb007107, true, 0, true},
		{"100::4:1:cb00:7107%eth0", countedV4, 0xcb007107, true, 0, true},
		{"3fff:6:1:2:3:4:5:6", countedV6, 0, false, 0x0001000200030004, true},
		{"2001:db8:1:2::9", countedV6, 0, false, 0x20010db800010002, false},
		{"203.0.113.7", countedV4, 0xcb007107, false, 0, false},
	} {
		var out classified
		got := c.classify([]byte(logLine(tc.addr, when, "GET /r4.2/x/repomd.xml HTTP/1.1", 200)), &out)
		if got != tc.want || out.v4 != tc.v4 || out.tor != tc.tor || out.p64 != tc.p64 || out.pseudo != tc.pseudo {
			t.Errorf("%s: got verdict %d v4 %#x tor %v p64 %#x pseudo %v; want %d %#x %v %#x %v",
				tc.addr, got, out.v4, out.tor, out.p64, out.pseudo, tc.want, tc.v4, tc.tor, tc.p64, tc.pseudo)
		}
	}
}

func TestClassifyMappedAddress(t *testing.T) {
	c := newClassifier(nil)
	var a, b classified
	c.classify([]byte(logLine("::FFFF:203.0.113.7", when, "GET /r4.2/x/repomd.xml HTTP/1.1", 200)), &a)
	c.classify([]byte(logLine("203.0.113.7", when, "GET /r4.2/x/repomd.xml HTTP/1.1", 200)), &b)
	if a.v4 != b.v4 || a.v4 != 203<<24|113<<8|7 {
		t.Errorf("got %08x and %08x, want the same IPv4 address", a.v4, b.v4)
	}
}

func TestAptRule(t *testing.T) {
	rule, err := NewRule(config.StatsRule{Path: AptRuleExample, Exclude: []string{`/debug/`}, ExcludeRelease: []string{`-backports$`}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path, want string
		ok         bool
	}{
		{"/deb/dists/bookworm/InRelease", "bookworm", true},
		{"/dists/trixie/Release", "trixie", true},
		{"/dists/trixie/Release.gpg", "", false},
		{"/dists/bookworm-backports/InRelease", "", false},
		{"/debug/dists/bookworm/InRelease", "", false},
	} {
		t.Run(tc.path, func(t *testing.T) {
			rel, ok := rule.Release([]byte(tc.path))
			if ok != tc.ok || string(rel) != tc.want {
				t.Errorf("got %q, %v; want %q, %v", rel, ok, tc.want, tc.ok)
			}
		})
	}
	if _, err := NewRule(config.StatsRule{Path: `^/dists/([^/]+)/InRelease$`}); err == nil {
		t.Error("a rule without a release capture was accepted")
	}
}

package logfiles

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"time"

	"depot/internal/accesslog"
	"depot/internal/month"
	"depot/internal/pseudonym"
	"depot/internal/torexit"
)

const testExit = "198.51.100.66"

// testRewriter pseudonymises October 2026 and undated lines, with fixed
// keys, and knows one Tor exit active on 2026-10-05.
func testRewriter(t testing.TB) *lineRewriter {
	t.Helper()
	f, err := torexit.Parse(strings.NewReader("@type tordnsel 1.0\nExitNode AAAA\nPublished 2026-10-05 00:00:00\nLastStatus 2026-10-05 12:00:00\nExitAddress " + testExit + " 2026-10-05 00:00:00\n"))
	if err != nil {
		t.Fatal(err)
	}
	b := torexit.NewBuilder()
	b.Add(f, time.Date(2026, 10, 5, 12, 0, 0, 0, time.UTC))
	from := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	return &lineRewriter{
		months:  []pseudoMonth{{month: month.MustParse("2026-10"), from: from.Unix(), to: from.AddDate(0, 1, 0).Unix(), m: fixedMapper(t, 1)}},
		undated: fixedMapper(t, 2),
		exits:   b.Set(),
	}
}

func fixedMapper(t testing.TB, seed byte) *pseudonym.Mapper {
	t.Helper()
	m, err := pseudonym.NewMapper(bytes.NewReader(bytes.Repeat([]byte{seed}, 16)))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// pseudo is what the October mapper (or the undated one) makes of addr.
func pseudo(t testing.TB, seed byte, addr string, tor bool) string {
	t.Helper()
	p, err := fixedMapper(t, seed).Map(netip.MustParseAddr(addr), tor)
	if err != nil {
		t.Fatal(err)
	}
	return p.String()
}

func rewriteOne(t testing.TB, r *lineRewriter, line string) string {
	t.Helper()
	var sc lineScanner
	var s lineScan
	sc.scan([]byte(line), &s)
	m := r.mapper(s.unix)
	if m == nil || len(s.spans) == 0 {
		return line
	}
	out, err := r.rewrite(nil, []byte(line), &s, m)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func accessLine(addr, when string) string {
	return addr + ` - - [` + when + `] "GET /r4.2/current/vm/fc37/repodata/repomd.xml HTTP/1.1" 200 1345 "http://203.0.113.250/" "libdnf"`
}

// pseudonymiseLineCases seed the fuzz target too. want uses {P:seed:addr}
// and {T:seed:addr} (Tor) for expected pseudonyms.
var pseudonymiseLineCases = []struct {
	name, in, want string
}{
	{"ipv4", accessLine("203.0.113.7", "05/Oct/2026:10:00:00 +0000"), accessLine("{P:1:203.0.113.7}", "05/Oct/2026:10:00:00 +0000")},
	{"tor exit in its window", accessLine(testExit, "05/Oct/2026:10:00:00 +0000"), accessLine("{T:1:"+testExit+"}", "05/Oct/2026:10:00:00 +0000")},
	{"tor exit outside its window", accessLine(testExit, "20/Oct/2026:10:00:00 +0000"), accessLine("{P:1:"+testExit+"}", "20/Oct/2026:10:00:00 +0000")},
	{"ipv4-mapped is the ipv4 address", accessLine("::ffff:203.0.113.7", "05/Oct/2026:10:00:00 +0000"), accessLine("{P:1:203.0.113.7}", "05/Oct/2026:10:00:00 +0000")},
	{"ipv6", accessLine("2001:db8:1:2::7", "05/Oct/2026:10:00:00 +0000"), accessLine("{P:1:2001:db8:1:2::7}", "05/Oct/2026:10:00:00 +0000")},
	{"offset decides the month", accessLine("203.0.113.7", "01/Nov/2026:00:30:00 +0100"), accessLine("{P:1:203.0.113.7}", "01/Nov/2026:00:30:00 +0100")},
	{"month not pseudonymised", accessLine("203.0.113.7", "01/Nov/2026:00:30:00 +0000"), accessLine("203.0.113.7", "01/Nov/2026:00:30:00 +0000")},
	{"already a pseudonym", accessLine("100::4:0:1:2", "05/Oct/2026:10:00:00 +0000"), accessLine("100::4:0:1:2", "05/Oct/2026:10:00:00 +0000")},
	{"host name", accessLine("client.example.org", "05/Oct/2026:10:00:00 +0000"), accessLine("client.example.org", "05/Oct/2026:10:00:00 +0000")},
	{"leading zero is no address", accessLine("203.0.113.07", "05/Oct/2026:10:00:00 +0000"), accessLine("203.0.113.07", "05/Oct/2026:10:00:00 +0000")},
	{"truncated line keeps its month", `203.0.113.7 - - [05/Oct/2026:10:00:00 +0000] "GET /r4.2/rep`, `{P:1:203.0.113.7} - - [05/Oct/2026:10:00:00 +0000] "GET /r4.2/rep`},
	{"undated line", `203.0.113.7 garbage`, `{P:2:203.0.113.7} garbage`},
	{"garbage", "garbage", "garbage"},
	{"empty", "", ""},
	{"error line", `2026/10/05 10:00:00 [error] 12#0: *3 open() "/srv/x" failed (2: No such file or directory), client: 203.0.113.7, server: yum.example.org, request: "GET /x HTTP/1.1", host: "yum.example.org"`,
		`2026/10/05 10:00:00 [error] 12#0: *3 open() "/srv/x" failed (2: No such file or directory), client: {P:1:203.0.113.7}, server: yum.example.org, request: "GET /x HTTP/1.1", host: "yum.example.org"`},
	{"error line, tor flag", `2026/10/05 10:00:00 [info] 12#0: *3 client sent invalid request, client: ` + testExit + `, request: "\x16\x03"`,
		`2026/10/05 10:00:00 [info] 12#0: *3 client sent invalid request, client: {T:1:` + testExit + `}, request: "\x16\x03"`},
	{"net/http message with ports", `2026/10/05 10:00:00 [info] 12#0: http: TLS handshake error from 203.0.113.7:51234: EOF; from [2001:db8:1:2::7]:443.`,
		`2026/10/05 10:00:00 [info] 12#0: http: TLS handshake error from {P:1:203.0.113.7}:51234: EOF; from [{P:1:2001:db8:1:2::7}]:443.`},
	{"host and request fields", `2026/10/05 10:00:00 [error] 12#0: *3 x, client: 2001:db8::9, server: s, request: "GET /a/192.0.2.1 HTTP/1.1", host: "192.0.2.1:8080"`,
		`2026/10/05 10:00:00 [error] 12#0: *3 x, client: {P:1:2001:db8::9}, server: s, request: "GET /a/{P:1:192.0.2.1} HTTP/1.1", host: "{P:1:192.0.2.1}:8080"`},
	{"no address in error line", `2026/10/05 10:00:00 [info] 12#0: listening on [::]:443 and 0.0.0.0:80, Qubes-R4.2.4 HTTP/1.1 at 04:28:39, sha cafe1234`,
		`2026/10/05 10:00:00 [info] 12#0: listening on [::]:443 and 0.0.0.0:80, Qubes-R4.2.4 HTTP/1.1 at 04:28:39, sha cafe1234`},
	{"error line of another month", `2026/11/05 10:00:00 [error] 12#0: *3 x, client: 203.0.113.7`, `2026/11/05 10:00:00 [error] 12#0: *3 x, client: 203.0.113.7`},
}

func expandWant(t testing.TB, want string) string {
	t.Helper()
	for {
		i := strings.Index(want, "{")
		if i < 0 || i+2 >= len(want) || (want[i+1] != 'P' && want[i+1] != 'T') {
			return want
		}
		j := strings.Index(want[i:], "}")
		parts := strings.SplitN(want[i+1:i+j], ":", 3)
		want = want[:i] + pseudo(t, parts[1][0]-'0', parts[2], parts[0] == "T") + want[i+j+1:]
	}
}

func TestPseudonymiseLine(t *testing.T) {
	r := testRewriter(t)
	for _, tc := range pseudonymiseLineCases {
		t.Run(tc.name, func(t *testing.T) {
			want := expandWant(t, tc.want)
			got := rewriteOne(t, r, tc.in)
			if got != want {
				t.Fatalf("got  %s\nwant %s", got, want)
			}
			if again := rewriteOne(t, r, got); again != got {
				t.Fatalf("rewriting twice changed the line again:\n%s\n%s", got, again)
			}
		})
	}
}

// Distinct addresses stay distinct; one address has one pseudonym in a
// month, across access and error lines.
func TestPseudonymiseLineConsistent(t *testing.T) {
	r := testRewriter(t)
	a := rewriteOne(t, r, accessLine("203.0.113.7", "05/Oct/2026:10:00:00 +0000"))
	b := rewriteOne(t, r, `2026/10/06 10:00:00 [error] 1#0: x, client: 203.0.113.7`)
	c := rewriteOne(t, r, accessLine("203.0.113.8", "05/Oct/2026:10:00:00 +0000"))
	pa, pb, pc := strings.Fields(a)[0], strings.TrimPrefix(b[strings.LastIndex(b, " ")+1:], ""), strings.Fields(c)[0]
	if pa != pb || pa == pc {
		t.Fatalf("pseudonyms %s (access), %s (error), %s (another address)", pa, pb, pc)
	}
}

// A rewritten access line parses exactly as the original, but for its
// address.
func TestPseudonymiseLineParsesAlike(t *testing.T) {
	r := testRewriter(t)
	for _, tc := range pseudonymiseLineCases {
		checkParsesAlike(t, r, tc.in)
	}
}

func checkParsesAlike(t *testing.T, r *lineRewriter, in string) {
	t.Helper()
	if isErrorLine([]byte(in)) {
		return
	}
	out := rewriteOne(t, r, in)
	var a, b accesslog.Line
	ea, eb := accesslog.Parse([]byte(in), &a), accesslog.Parse([]byte(out), &b)
	if ea != eb || a.Unix != b.Unix || string(a.Request) != string(b.Request) || a.Status != b.Status ||
		a.BodyBytes != b.BodyBytes || string(a.Referer) != string(b.Referer) || string(a.UserAgent) != string(b.UserAgent) {
		t.Fatalf("%q parses as %v %+v but its rewrite %q as %v %+v", in, ea, a, out, eb, b)
	}
}

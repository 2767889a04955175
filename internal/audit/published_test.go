package audit

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// clientsOf is a set of the given client addresses.
func clientsOf(addrs ...string) *clients {
	c := newClients()
	for _, a := range addrs {
		c.addText([]byte(a))
	}
	return c
}

// TestScanFindsEverySpelling: every client address is found in each of
// its spellings, however deep in the text, and nothing else is.
func TestScanFindsEverySpelling(t *testing.T) {
	c := clientsOf("203.0.113.7", "2001:db8:aa:bb::5")
	decoys := strings.Repeat(`"v": "4.2.1", "t": "04:00:00", "ip": "192.0.2.44", "n": 3397, `, 40)
	tests := []struct {
		name, text, form string
	}{
		{"dotted", "seen from 203.0.113.7.", "dotted"},
		{"dotted past the 20th address-shaped token", `{` + decoys + `"x": "203.0.113.7"}`, "dotted"},
		{"dotted with a port", "203.0.113.7:443", "dotted"},
		{"dotted inside a longer run", "1.203.0.113.7", "dotted"},
		{"integer", `{"addr": 3405803783}`, "integer"},
		{"hex with 0x", "0xcb007107", "hex"},
		{"hex without 0x", "id cb007107 end", "hex"},
		{"IPv4-mapped dotted", "::ffff:203.0.113.7", "IPv4-mapped"},
		{"IPv4-mapped hex", "[::ffff:cb00:7107]", "IPv4-mapped"},
		{"IPv6 address in the /64", "2001:db8:aa:bb::1234", "IPv6 /64"},
		{"IPv6 /64 written as a prefix", "2001:db8:aa:bb::/64", "IPv6 /64"},
		{"IPv6 /64 without ::", "prefix 2001:db8:aa:bb, seen", "IPv6 /64"},
		{"IPv6 /48", "2001:db8:aa::/48", "IPv6 /48"},
		{"IPv6 elsewhere in the /48", "2001:db8:aa:ff::1", "IPv6 /48"},
		{"dotted after a JSON escape of >", `"\u003e203.0.113.7"`, "dotted"},
		{"IPv6 after a JSON escape of &", `"a\u00262001:db8:aa:bb::1"`, "IPv6 /64"},
		{"IPv6 percent-encoded in a URL query", "https://x.example/?ip=2001%3Adb8%3Aaa%3Abb%3A%3A1&y=1", "IPv6 /64"},
		{"IPv6 percent-encoded in upper and lower case", "?ip=2001%3adb8%3AAA%3abb%3a%3A1", "IPv6 /64"},
		{"dotted percent-encoded", "?ip=203%2E0%2e113%2E7", "dotted"},
		{"IPv6 in HTML character references", "2001&#58;db8&#x3a;aa&#58;bb&colon;&#58;1", "IPv6 /64"},
		{"dotted after a hex letter", "a203.0.113.7", "dotted"},
		{"dotted before a letter", "203.0.113.7a", "dotted"},
		{"dotted with zero padding", "203.000.113.007", "dotted"},
		{"dotted in octal (inet_aton)", "0313.0.0161.07", "dotted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms := c.scan([]byte(tt.text))
			if len(ms) != 1 || ms[0].Form != tt.form {
				t.Fatalf("scan(%.60q) = %v, want one %s match", tt.text, ms, tt.form)
			}
			if strings.Contains(ms[0].String(), "203.0.113.7") || strings.Contains(ms[0].String(), "::5") {
				t.Errorf("the report %q shows the whole address", ms[0])
			}
		})
	}
	for _, clean := range []string{
		decoys,
		`{"2026-10": {"any": {"plain": 3397, "tor": 737}}, "meta": {"last-updated": "2026-11-29T04:00:00Z"}}`,
		"203.0.113.8 203.0.112.7 2001:db8:ab::1 ::ffff:203.0.113.8 0xcb007108 3405803784",
		"sha256 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"203.0.113",                            // three parts are not an address
		"1203.0.113.7 203.0.113.70",            // other numbers
		"%32%30%33.0.113.8 \\u0032203.0.113.9", // escapes of other addresses
	} {
		if ms := c.scan([]byte(clean)); len(ms) != 0 {
			t.Errorf("scan(%.60q) = %v, want nothing", clean, ms)
		}
	}
}

// png builds a PNG-shaped byte string with the given chunks.
func png(chunks ...[2]string) []byte {
	var b bytes.Buffer
	b.Write(pngMagic)
	for _, c := range append([][2]string{{"IHDR", strings.Repeat("\x00", 13)}}, append(chunks, [2]string{"IEND", ""})...) {
		binary.Write(&b, binary.BigEndian, uint32(len(c[1])))
		b.WriteString(c[0])
		b.WriteString(c[1])
		binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE([]byte(c[0]+c[1])))
	}
	return b.Bytes()
}

func deflate(s string) string {
	var b bytes.Buffer
	zw := zlib.NewWriter(&b)
	zw.Write([]byte(s))
	zw.Close()
	return b.String()
}

func TestPNGText(t *testing.T) {
	p := png([2]string{"tEXt", "Comment\x00plain text"}, [2]string{"zTXt", "Comment\x00\x00" + deflate("deflated text")},
		[2]string{"iTXt", "Comment\x00\x01\x00en\x00Kommentar\x00" + deflate("international text")},
		[2]string{"IDAT", "203.0.113.7 in the pixels is no text"})
	got := string(pngText(p))
	for _, want := range []string{"plain text", "deflated text", "international text"} {
		if !strings.Contains(got, want) {
			t.Errorf("pngText = %q, lacks %q", got, want)
		}
	}
	if strings.Contains(got, "pixels") {
		t.Errorf("pngText = %q holds the pixel data", got)
	}
	if got := pngText([]byte("not a png 203.0.113.7")); !bytes.Contains(got, []byte("203.0.113.7")) {
		t.Errorf("a .png that is not a PNG must be scanned whole, got %q", got)
	}
}

// TestPublishedNoAddress: a client address of the logs anywhere in what
// depot publishes fails the check, wherever it hides.
func TestPublishedNoAddress(t *testing.T) {
	const data = `{"2026-10": {"any": {"plain": 3397, "tor": 737}, "r4.2": {"plain": 12, "tor": 1}},
"meta": {"title": "Estimated userbase", "months": {"2026-10": {"lines": 100, "computed_at": "2026-11-01T04:00:00Z"}}}}`
	deep := strings.Replace(data, `"title"`, strings.Repeat(`"v192.0.2.1": "04:00:00 2001:db8::1", `, 30)+`"note": "203.0.113.7", "title"`, 1)
	tests := []struct {
		name  string
		files map[string]string // under the setup's directory
		site  string            // stats_path of site[0]
		want  string
	}{
		{"aggregates only", map[string]string{"data/stats.json": data}, "/statistics/", ""},
		{"deep in stats.json", map[string]string{"data/stats.json": deep}, "", "stats.json holds 1 client address(es) of the logs: 203.0.x.x (dotted)"},
		{"in the rendered page", map[string]string{"data/stats.json": strings.Replace(data, "Estimated userbase", "from 203.0.113.7", 1)}, "/statistics/", "/statistics/ (rendered) holds"},
		{"in the rendered chart", map[string]string{"data/stats.json": strings.Replace(data, "Estimated userbase", "from 203.0.113.7", 1)}, "/statistics/", "/statistics/stats.svg (rendered) holds"},
		{"integer in the mirror state", map[string]string{"data/mirrors/state.json": `{"x": 3405803783}`}, "", "state.json holds 1 client address(es) of the logs: 203.0.x.x (integer)"},
		{"a chart SVG in a site root", map[string]string{"www/stats/stats.svg": `<svg><text>2001:db8:aa:bb::9</text></svg>`}, "", "stats.svg holds 1 client address(es) of the logs: 2001:db8:aa::/48 (IPv6 /64)"},
		{"a PNG text chunk in a site root", map[string]string{"www/stats.png": string(png([2]string{"zTXt", "Comment\x00\x00" + deflate("::ffff:cb00:7107")}))}, "", "stats.png holds 1 client address(es) of the logs: 203.0.x.x (IPv4-mapped)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSetup(t)
			s.cfg.Site[0].StatsPath = tt.site
			writeFiles(t, s.cfg.LogDir, map[string]string{"access.log": accessLine("203.0.113.7", day("2026-11-19")) + accessLine("2001:db8:aa:bb::5", day("2026-11-19"))})
			writeFiles(t, s.dir, tt.files)
			if tt.want == "" {
				expect(t, s.run(t), "published-no-address", Pass, policyShare, "none of the 2 client addresses")
				return
			}
			expect(t, s.run(t), "published-no-address", Fail, policyShare, tt.want)
		})
	}
	t.Run("a mirror's own address is not client data", func(t *testing.T) {
		s := newSetup(t)
		s.cfg.Mirror = append(s.cfg.Mirror, mirrorAt("http://203.0.113.7:8000/"))
		writeFiles(t, s.cfg.LogDir, map[string]string{"access.log": accessLine("203.0.113.7", day("2026-11-19"))})
		writeFiles(t, s.cfg.DataDir, map[string]string{"mirrors/state.json": `{"m": {"url": "http://203.0.113.7:8000/"}}`})
		expect(t, s.run(t), "published-no-address", Pass, policyShare)
	})
	t.Run("nothing published", func(t *testing.T) {
		expect(t, newSetup(t).run(t), "published-no-address", Pass, policyShare, "publishes nothing")
	})
}

func TestClientsRemoveAndCount(t *testing.T) {
	c := clientsOf("203.0.113.7", "::ffff:198.51.100.1", "2001:db8::1", "not an address")
	if c.len() != 3 {
		t.Errorf("len = %d, want 3", c.len())
	}
	c.remove(netip.MustParseAddr("198.51.100.1"))
	if ms := c.scan([]byte("198.51.100.1")); len(ms) != 0 {
		t.Errorf("a removed address is still found: %v", ms)
	}
	if got := fmt.Sprint(c.scan([]byte("x 203.0.113.7"))); !strings.Contains(got, "at byte 2") {
		t.Errorf("offset: %s", got)
	}
}

func TestParseDotted(t *testing.T) {
	for in, want := range map[string]uint32{"203.0.113.7": 0xcb007107, "0.0.0.0": 0, "255.255.255.255": 0xffffffff, "10.0.0.1": 0x0a000001} {
		if got, ok := parseDotted([]byte(in)); !ok || got != want {
			t.Errorf("parseDotted(%q) = %x, %v; want %x", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1..2.3", "1.2.3.", ".1.2.3", "1.2.3.4 ", "::1", "a.b.c.d", "1.2.3.0004"} {
		if _, ok := parseDotted([]byte(in)); ok {
			t.Errorf("parseDotted(%q) succeeded, want no", in)
		}
		if a, err := netip.ParseAddr(in); err == nil && a.Is4() {
			t.Errorf("%q is an address netip accepts; the test is wrong", in)
		}
	}
}

// TestClientsManyAddresses: past the compaction threshold, every address
// is kept once, in any order of arrival.
func TestClientsManyAddresses(t *testing.T) {
	c := newClients()
	const n = 5 * minCompact
	for i := range 3 * n {
		c.add4(uint32(i%n)*2654435761 + 7) // a permutation, each thrice
	}
	if c.len() != n {
		t.Fatalf("len = %d, want %d", c.len(), n)
	}
	if !slices.IsSorted(c.v4) {
		t.Error("not sorted after compaction")
	}
	for i := range n {
		if v := uint32(i)*2654435761 + 7; !c.has4(v) {
			t.Fatalf("address %d of %d lost", i, n)
		}
	}
	if c.has4(8) {
		t.Error("an address never added is found")
	}
	o := newClients()
	o.add4(8)
	c.merge(o)
	if c.len() != n+1 || !c.has4(8) {
		t.Errorf("after merge: len %d, has 8: %v", c.len(), c.has4(8))
	}
}

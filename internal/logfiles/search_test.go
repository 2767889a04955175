package logfiles

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"

	"depot/internal/logfiles/logfilestest"
)

// searchFixture writes five days of access logs in every kind of file
// search reads, and an error log. It returns the directory and, per file
// kind, every line in time order.
func searchFixture(t *testing.T) (dir string, access, errs []string) {
	t.Helper()
	dir = t.TempDir()
	addrs := []string{"192.0.2.1", "192.0.2.77", "198.51.100.7", "2001:db8::1", "2001:db8:0:1::5", "2001:db8:ffff::9"}
	statuses := []int{200, 404, 304, 500}
	byDay := map[int][]string{}
	n := 0
	for d := 24; d <= 28; d++ {
		for h := 0; h < 24; h++ {
			for _, a := range addrs {
				at := day(2026, 11, d, h, n%60, 0)
				line := fmt.Sprintf(`%s - - [%s] "GET /r4.2/f%d/repomd.xml HTTP/1.1" %d 10 "-" "dnf"`, a, at.Format("02/Jan/2006:15:04:05 -0700"), n%7, statuses[n%4])
				byDay[d] = append(byDay[d], line)
				n++
			}
		}
	}
	logfilestest.WriteFile(t, dir, "access.log.2.gz", byDay[24]...) // nginx/logrotate gzip
	logfilestest.WriteFile(t, dir, "access.log.1", byDay[25]...)    // logrotate delaycompress
	src := logfilestest.WriteFile(t, dir, "access.log-20261126", byDay[26]...)
	if err := CompressFile(src); err != nil { // depot's indexed gzip
		t.Fatal(err)
	}
	logfilestest.WriteFile(t, dir, "access.log-20261127.gz", byDay[27]...) // dateext, plain gzip
	logfilestest.WriteFile(t, dir, AccessName, byDay[28]...)
	for d := 24; d <= 28; d++ {
		access = append(access, byDay[d]...)
	}
	errs = []string{errl("192.0.2.1", day(2026, 11, 25, 3, 0, 0)), errl("2001:db8::1", day(2026, 11, 28, 3, 0, 0))}
	logfilestest.WriteFile(t, dir, ErrorName, errs...)
	return dir, access, errs
}

func TestSearch(t *testing.T) {
	dir, access, errs := searchFixture(t)
	tests := []struct {
		name  string
		q     Query
		want  func(line string) bool // over access lines
		errs  []string               // error lines expected, merged in time order
		count int                    // expected number of access lines
	}{
		{name: "ip", q: Query{IPs: pfx(t, "192.0.2.1")}, count: 5 * 24,
			want: func(l string) bool { return hasPrefix(l, "192.0.2.1 ") }},
		{name: "cidr /24", q: Query{IPs: pfx(t, "192.0.2.0/24")}, count: 2 * 5 * 24,
			want: func(l string) bool { return hasPrefix(l, "192.0.2.") }},
		{name: "cidr /8 and an address", q: Query{IPs: pfx(t, "198.0.0.0/8", "192.0.2.77")}, count: 2 * 5 * 24,
			want: func(l string) bool { return hasPrefix(l, "198.51.100.7 ") || hasPrefix(l, "192.0.2.77 ") }},
		{name: "ipv6 address in another spelling", q: Query{IPs: pfx(t, "2001:0db8:0000::1")}, count: 5 * 24,
			want: func(l string) bool { return hasPrefix(l, "2001:db8::1 ") }},
		{name: "ipv6 /64", q: Query{IPs: pfx(t, "2001:db8:0:1::/64")}, count: 5 * 24,
			want: func(l string) bool { return hasPrefix(l, "2001:db8:0:1::5 ") }},
		{name: "ipv6 /32 covers three", q: Query{IPs: pfx(t, "2001:db8::/32")}, count: 3 * 5 * 24,
			want: func(l string) bool { return hasPrefix(l, "2001:db8:") }},
		{name: "time range across files", q: Query{Since: day(2026, 11, 25, 12, 0, 0), Until: day(2026, 11, 27, 6, 0, 0)}, count: (12 + 24 + 6) * 6,
			want: func(l string) bool {
				t := mustTime(l)
				return !t.Before(day(2026, 11, 25, 12, 0, 0)) && t.Before(day(2026, 11, 27, 6, 0, 0))
			}},
		{name: "path", q: Query{Path: regexp.MustCompile(`/f3/`)}, count: 103,
			want: func(l string) bool { return regexp.MustCompile(`"GET /r4.2/f3/`).MatchString(l) }},
		{name: "status exact", q: Query{Status: 404}, count: 5 * 24 * 6 / 4,
			want: func(l string) bool { return regexp.MustCompile(`" 404 `).MatchString(l) }},
		{name: "status class", q: Query{Status: 5}, count: 5 * 24 * 6 / 4,
			want: func(l string) bool { return regexp.MustCompile(`" 5\d\d `).MatchString(l) }},
		{name: "everything combined", q: Query{IPs: pfx(t, "192.0.2.77"), Status: 3, Since: day(2026, 11, 26, 0, 0, 0), Until: day(2026, 11, 27, 0, 0, 0)},
			count: -1,
			want: func(l string) bool {
				t := mustTime(l)
				return hasPrefix(l, "192.0.2.77 ") && regexp.MustCompile(`" 3\d\d `).MatchString(l) && t.Day() == 26
			}},
		{name: "errors too", q: Query{IPs: pfx(t, "2001:db8::1"), Errors: true}, count: 5 * 24, errs: errs[1:],
			want: func(l string) bool { return hasPrefix(l, "2001:db8::1 ") }},
		// --status selects access lines; error lines have no status and
		// used to vanish from the results silently.
		{name: "errors too, with a status", q: Query{IPs: pfx(t, "2001:db8::1"), Status: 4, Errors: true}, count: -1, errs: errs[1:],
			want: func(l string) bool {
				return hasPrefix(l, "2001:db8::1 ") && regexp.MustCompile(`" 4\d\d `).MatchString(l)
			}},
		{name: "no match", q: Query{IPs: pfx(t, "203.0.113.9")}, count: 0, want: func(string) bool { return false }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want []string
			for _, l := range access {
				if tt.want(l) {
					want = append(want, l)
				}
			}
			if tt.count >= 0 && len(want) != tt.count {
				t.Fatalf("fixture has %d matching lines, test expects %d", len(want), tt.count)
			}
			for _, e := range tt.errs {
				i, _ := slices.BinarySearchFunc(want, mustTime(e), func(l string, at time.Time) int { return mustTime(l).Compare(at) })
				want = slices.Insert(want, i, e)
			}
			var got []string
			st, err := Search(context.Background(), dir, tt.q, func(m *Match) error {
				got = append(got, string(m.Line))
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(st.Problems) > 0 {
				t.Fatalf("problems: %v", st.Problems)
			}
			if !slices.Equal(got, want) {
				t.Errorf("got %d lines, want %d", len(got), len(want))
				for i := 0; i < min(len(got), len(want)); i++ {
					if got[i] != want[i] {
						t.Errorf("first difference at %d:\n got  %s\n want %s", i, got[i], want[i])
						break
					}
				}
			}
		})
	}
}

// TestSearchSkips checks that a time range skips files and that an address
// filter skips indexed blocks without inflating them.
func TestSearchSkips(t *testing.T) {
	dir, _, _ := searchFixture(t)
	st, err := Search(context.Background(), dir, Query{Since: day(2026, 11, 28, 0, 0, 0)}, func(*Match) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	// access.log-20261127.gz is not depot's: its dateext date may be the
	// day after its lines (logrotate names by rotation day), so it is read.
	if st.FilesSkipped != 3 {
		t.Errorf("skipped %d files for a search of the last day, want 3 (%v)", st.FilesSkipped, st)
	}
	st, err = Search(context.Background(), dir, Query{IPs: pfx(t, "203.0.113.9")}, func(*Match) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if st.Members == 0 || st.MembersSkipped != st.Members {
		t.Errorf("an absent address skipped %d of %d indexed blocks, want all", st.MembersSkipped, st.Members)
	}
}

func TestSearchCorruptGzip(t *testing.T) {
	dir := t.TempDir()
	lines := []string{acc("192.0.2.1", day(2026, 11, 1, 0, 0, 0), "/a")}
	p := logfilestest.WriteFile(t, dir, "access.log.1.gz", lines...)
	b, _ := os.ReadFile(p)
	os.WriteFile(p, b[:len(b)-5], 0o640)
	st, err := Search(context.Background(), dir, Query{}, func(*Match) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Problems) != 1 {
		t.Errorf("problems %v, want one naming %s", st.Problems, filepath.Base(p))
	}
}

func pfx(t testing.TB, ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		p, err := ParseIPFilter(s)
		if err != nil {
			panic(err)
		}
		out = append(out, p)
	}
	return out
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }

func mustTime(line string) time.Time {
	u, ok := lineTime([]byte(line))
	if !ok {
		panic("undated fixture line " + line)
	}
	return time.Unix(u, 0).UTC()
}

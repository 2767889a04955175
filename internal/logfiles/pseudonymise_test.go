package logfiles

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"depot/internal/atomicfile"
	"depot/internal/logfiles/logfilestest"
	"depot/internal/month"
	"depot/internal/pseudonym"
	"depot/internal/stats"
	"depot/internal/torexit"
)

const sharedCase = "../../testdata/qubes-method"

// pseudoCase is a log directory, its exit lists and statistics.
type pseudoCase struct {
	dir, exits, data string
	now              time.Time
	months           []month.Month
	countIPv6        bool
}

func (c *pseudoCase) statsOptions() stats.Options {
	return stats.Options{
		Logs:         []string{filepath.Join(c.dir, "access.log*")},
		ExitListsDir: c.exits,
		DataFile:     c.data,
		Months:       c.months,
		CountIPv6:    c.countIPv6,
		Now:          func() time.Time { return c.now },
	}
}

func (c *pseudoCase) options() PseudonymiseOptions {
	return PseudonymiseOptions{
		Dir: c.dir,
		Now: func() time.Time { return c.now },
		ExitLists: func(ctx context.Context, from, to time.Time) (*torexit.Set, error) {
			return torexit.Load(ctx, c.exits, from, to)
		},
		Stats: stats.Recount{Options: c.statsOptions()},
	}
}

// figures computes c.months with depot stats update and returns each
// month's published figures and detail, without the computing time.
func (c *pseudoCase) figures(t *testing.T) map[string]string {
	t.Helper()
	if _, err := stats.Update(context.Background(), c.statsOptions()); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(c.data)
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		t.Fatal(err)
	}
	var meta struct {
		Months map[string]map[string]any `json:"months"`
	}
	json.Unmarshal(top["meta"], &meta)
	out := map[string]string{}
	for _, mo := range c.months {
		m := mo.String()
		detail := meta.Months[m]
		delete(detail, "computed_at")
		d, _ := json.Marshal(detail)
		out[m] = string(top[m]) + " " + string(d)
	}
	return out
}

// qubesCase copies the shared case: its three files become a plain
// rotated file, an indexed .gz and an ordinary gzip file.
func qubesCase(t *testing.T) *pseudoCase {
	t.Helper()
	c := &pseudoCase{
		dir: t.TempDir(), exits: filepath.Join(sharedCase, "exit-lists"), data: filepath.Join(t.TempDir(), "stats.json"),
		now: day(2026, 12, 15, 0, 0, 0), months: []month.Month{month.MustParse("2026-09"), month.MustParse("2026-10"), month.MustParse("2026-11")},
	}
	for src, dst := range map[string]string{"access.log.2": "access.log-20260930", "access.log.1": "access.log-20261031", "access.log": "access.log-20261130"} {
		b, err := os.ReadFile(filepath.Join(sharedCase, "logs", src))
		if err != nil {
			t.Fatalf("shared case not available (testdata/qubes-method): %v", err)
		}
		if err := os.WriteFile(filepath.Join(c.dir, dst), b, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	if err := CompressFile(filepath.Join(c.dir, "access.log-20261031")); err != nil {
		t.Fatal(err)
	}
	lines := logfilestest.ReadLines(t, filepath.Join(c.dir, "access.log-20261130"))
	logfilestest.WriteFile(t, c.dir, "access.log-20261130.gz", lines...) // gzip -6 style, not indexed
	os.Remove(filepath.Join(c.dir, "access.log-20261130"))
	return c
}

// clientAddrs returns every address found in the lines of dir.
func clientAddrs(t *testing.T, dir string) []netip.Addr {
	t.Helper()
	seen := map[netip.Addr]bool{}
	var sc lineScanner
	var s lineScan
	for _, name := range logfilestest.Names(t, dir) {
		if _, ok := parseName(dir, name); !ok {
			continue
		}
		for _, l := range logfilestest.ReadLines(t, filepath.Join(dir, name)) {
			sc.scan([]byte(l), &s)
			for _, sp := range s.spans {
				seen[sp.addr] = true
			}
		}
	}
	return slices.SortedFunc(func(yield func(netip.Addr) bool) {
		for a := range seen {
			if !yield(a) {
				return
			}
		}
	}, netip.Addr.Compare)
}

// The shared case: the same figures before and after, and none of its
// addresses anywhere in the log directory afterwards.
func TestPseudonymiseQubesCase(t *testing.T) {
	c := qubesCase(t)
	before := c.figures(t)
	addrs := clientAddrs(t, c.dir)
	if len(addrs) < 300 {
		t.Fatalf("found only %d addresses in the shared case", len(addrs))
	}
	res, err := Pseudonymise(context.Background(), c.options())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Problems) > 0 || len(res.Notes) > 0 {
		t.Fatalf("problems %v, notes %v", res.Problems, res.Notes)
	}
	var got []string
	for _, m := range res.Months {
		got = append(got, fmt.Sprintf("%s:%d", m.Month, m.Lines))
		if m.Lines < 1900 {
			t.Errorf("%s: %d lines rewritten, want nearly 2000", m.Month, m.Lines)
		}
	}
	if len(got) != 3 {
		t.Fatalf("months rewritten %v, want the three", got)
	}
	after := c.figures(t)
	if !reflect.DeepEqual(before, after) {
		for _, mo := range c.months {
			if m := mo.String(); before[m] != after[m] {
				t.Errorf("%s before: %s\n%s after:  %s", m, before[m], m, after[m])
			}
		}
	}
	checkExpected(t, c.data)
	if hits := logfilestest.FindAddresses(t, c.dir, addrs); len(hits) > 0 {
		t.Fatalf("%d addresses still found, e.g. %s", len(hits), hits[0])
	}
	if left := clientAddrs(t, c.dir); len(left) > 0 {
		t.Fatalf("%d real addresses left, e.g. %s", len(left), left[0])
	}
	// The .gz files stay gzip; depot's stays indexed, so search still skips
	// its blocks.
	for _, name := range []string{"access.log-20261031.gz", "access.log-20261130.gz"} {
		if b, _ := os.ReadFile(filepath.Join(c.dir, name)); len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
			t.Errorf("%s is no longer gzip", name)
		}
	}
	months, err := PseudonymisedMonths(c.dir)
	if err != nil || len(months) != 3 || months["2026-10"].Lines != res.Months[1].Lines {
		t.Errorf("state %v, %v; want the three months with their lines", months, err)
	}

	// A second run finds nothing to do and changes nothing.
	snap := snapshotFiles(t, c.dir)
	res, err = Pseudonymise(context.Background(), c.options())
	if err != nil || len(res.Months) != 0 {
		t.Fatalf("second run: %+v, %v; want nothing to do", res, err)
	}
	if !reflect.DeepEqual(snap, snapshotFiles(t, c.dir)) {
		t.Fatal("a second run changed files")
	}
}

// checkExpected compares the data file with the shared case's answers.
func checkExpected(t *testing.T, data string) {
	t.Helper()
	var want, got map[string]json.RawMessage
	b, _ := os.ReadFile(filepath.Join(sharedCase, "expected.json"))
	json.Unmarshal(b, &want)
	b, _ = os.ReadFile(data)
	json.Unmarshal(b, &got)
	for m, w := range want {
		var wm, gm map[string]stats.Figures
		json.Unmarshal(w, &wm)
		json.Unmarshal(got[m], &gm)
		if !reflect.DeepEqual(wm, gm) {
			t.Errorf("%s: got %v, want %v (expected.json)", m, gm, wm)
		}
	}
}

// snapshotFiles is every file of dir and its bytes.
func snapshotFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, n := range logfilestest.Names(t, dir) {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		out[n] = string(b)
	}
	return out
}

// edgeCase has IPv6 addresses of one /64 and of one /48, IPv4-mapped
// addresses, a Tor exit, error lines naming clients in several ways, lines
// of a month that is not settled yet in the same file, and undated lines.
func edgeCase(t *testing.T) *pseudoCase {
	t.Helper()
	c := &pseudoCase{
		dir: t.TempDir(), exits: t.TempDir(), data: filepath.Join(t.TempDir(), "stats.json"),
		// 2026-11-08: October is settled (7 days after its end), November not.
		now: day(2026, 11, 8, 0, 0, 0), months: []month.Month{month.MustParse("2026-09"), month.MustParse("2026-10"), month.MustParse("2026-11")}, countIPv6: true,
	}
	os.WriteFile(filepath.Join(c.exits, "2026-10-06-00-00-00"), []byte("@type tordnsel 1.0\nDownloaded 2026-10-06 00:00:00\nExitNode AAAA\nPublished 2026-10-05 00:00:00\nLastStatus 2026-10-05 23:00:00\nExitAddress "+testExit+" 2026-10-05 00:00:00\n"), 0o644)
	repomd := "/r4.2/current/vm/fc37/repodata/repomd.xml"
	sep := func(d int) time.Time { return day(2026, 9, d, 10, 0, 0) }
	oct := func(d int) time.Time { return day(2026, 10, d, 10, 0, 0) }
	logfilestest.WriteFile(t, c.dir, "access.log-20260930.gz",
		acc("203.0.113.7", sep(1), repomd),
		acc("2001:db8:1:2::7", sep(2), repomd),
	)
	logfilestest.WriteFile(t, c.dir, "access.log-20261015.gz",
		acc("203.0.113.7", oct(1), repomd),
		acc("::ffff:203.0.113.7", oct(2), repomd),
		acc("203.0.113.8", oct(2), repomd),
		acc(testExit, oct(5), repomd),
		acc(testExit, oct(9), repomd),
		acc("2001:db8:1:2::7", oct(3), repomd),
		acc("2001:db8:1:2::8", oct(3), repomd),
		acc("2001:db8:1:3::7", oct(3), repomd),
		acc("2001:db8:1:2::7", oct(4), "/r4.1/current/vm/fc32/repodata/repomd.xml"),
		acc("192.0.2.99", oct(6), "/nothing-here"),
		"garbage line",
		"192.0.2.77 garbage with no time",
	)
	logfilestest.WriteFile(t, c.dir, "access.log.1",
		acc("203.0.113.9", day(2026, 10, 31, 23, 59, 59), repomd),
		acc("203.0.113.9", day(2026, 11, 1, 0, 0, 0), repomd),
		acc("198.51.100.200", day(2026, 11, 2, 0, 0, 0), repomd),
	)
	logfilestest.WriteFile(t, c.dir, "error.log-20261015",
		errl("203.0.113.7", oct(1)),
		errl("2001:db8:1:2::7", oct(3)),
		fmt.Sprintf("%s [info] 1#0: http: TLS handshake error from 203.0.113.8:51234: EOF", oct(2).Format("2006/01/02 15:04:05")),
		fmt.Sprintf("%s [info] 1#0: http: TLS handshake error from [2001:db8:1:3::7]:443: EOF", oct(3).Format("2006/01/02 15:04:05")),
	)
	logfilestest.WriteFile(t, c.dir, "access.log", acc("198.51.100.201", day(2026, 11, 7, 0, 0, 0), repomd))
	return c
}

func TestPseudonymiseEdges(t *testing.T) {
	c := edgeCase(t)
	before := c.figures(t)
	activeBefore, _ := os.ReadFile(filepath.Join(c.dir, "access.log"))
	novemberBefore := logfilestest.ReadLines(t, filepath.Join(c.dir, "access.log.1"))[1:]
	var settledAddrs []netip.Addr
	for _, s := range []string{"203.0.113.7", "203.0.113.8", testExit, "2001:db8:1:2::7", "2001:db8:1:2::8", "2001:db8:1:3::7", "192.0.2.99", "192.0.2.77"} {
		settledAddrs = append(settledAddrs, netip.MustParseAddr(s))
	}

	res, err := Pseudonymise(context.Background(), c.options())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Months) != 2 || res.Months[0].Month.String() != "2026-09" || res.Months[1].Month.String() != "2026-10" || res.Months[1].Lines != 15 || res.Undated != 1 {
		t.Fatalf("got %+v; want September and October (15 lines: 10 access, 1 in the next file, 4 error), one undated line", res)
	}
	if after := c.figures(t); !reflect.DeepEqual(before, after) {
		t.Fatalf("figures changed:\nbefore %v\nafter  %v", before, after)
	}
	if hits := logfilestest.FindAddresses(t, c.dir, settledAddrs); len(hits) > 0 {
		t.Fatalf("%d addresses of settled months found, e.g. %s", len(hits), hits[0])
	}

	// November's lines and the active file are untouched, byte for byte.
	if got := logfilestest.ReadLines(t, filepath.Join(c.dir, "access.log.1"))[1:]; !slices.Equal(got, novemberBefore) {
		t.Errorf("November lines changed:\n%q\n%q", novemberBefore, got)
	}
	if b, _ := os.ReadFile(filepath.Join(c.dir, "access.log")); !bytes.Equal(b, activeBefore) {
		t.Error("the active file changed")
	}

	// One address, one pseudonym per month, in access and error lines; the
	// /64 is kept, the Tor flag set only in the exit's window.
	oct := logfilestest.ReadLines(t, filepath.Join(c.dir, "access.log-20261015.gz"))
	errs := logfilestest.ReadLines(t, filepath.Join(c.dir, "error.log-20261015"))
	p := func(line string) pseudonym.Pseudonym {
		t.Helper()
		f := strings.Fields(line)[0]
		if isErrorLine([]byte(line)) {
			i := strings.Index(line, "client: ")
			f = strings.TrimSuffix(strings.Fields(line[i+8:])[0], ",")
		}
		ps, _, ok := pseudonym.ParseText([]byte(f))
		if !ok {
			t.Fatalf("%q holds no pseudonym", line)
		}
		return ps
	}
	if p(oct[0]) != p(oct[1]) || p(oct[0]) != p(errs[0]) || p(oct[0]) == p(oct[2]) {
		t.Errorf("IPv4: %v, mapped %v, error line %v, other %v", p(oct[0]), p(oct[1]), p(errs[0]), p(oct[2]))
	}
	if !p(oct[3]).Tor || p(oct[4]).Tor || p(oct[3]).ID != p(oct[4]).ID {
		t.Errorf("exit in its window %+v, outside %+v", p(oct[3]), p(oct[4]))
	}
	v6a, v6b, v6c := p(oct[5]), p(oct[6]), p(oct[7])
	if !v6a.IPv6 || v6a.Prefix != v6b.Prefix || v6a.Prefix == v6c.Prefix || strings.Fields(oct[5])[0] != strings.Fields(oct[8])[0] {
		t.Errorf("IPv6: %+v %+v (same /64), %+v (other /64)", v6a, v6b, v6c)
	}
	sep := logfilestest.ReadLines(t, filepath.Join(c.dir, "access.log-20260930.gz"))
	if strings.Fields(sep[0])[0] == strings.Fields(oct[0])[0] || p(sep[1]).Prefix == v6a.Prefix {
		t.Errorf("one address has one pseudonym in September and October: %s, %s", sep[0], oct[0])
	}
	if !strings.Contains(errs[2], "from 100::4:") || !strings.Contains(errs[3], "from [3fff:6:") {
		t.Errorf("addresses in error messages not replaced:\n%s\n%s", errs[2], errs[3])
	}
}

// Two months pseudonymised with different keys share no pseudonym for
// the same address.
func TestPseudonymiseMonthsShareNoPseudonym(t *testing.T) {
	c := &pseudoCase{dir: t.TempDir(), now: day(2026, 12, 15, 0, 0, 0)}
	var sep, oct []string
	for i := range 500 {
		a := fmt.Sprintf("10.%d.%d.1", i/200, i%200)
		b := fmt.Sprintf("2001:db8:%x::1", i)
		sep = append(sep, acc(a, day(2026, 9, 10, 0, 0, 0), "/"), acc(b, day(2026, 9, 10, 0, 0, 0), "/"))
		oct = append(oct, acc(a, day(2026, 10, 10, 0, 0, 0), "/"), acc(b, day(2026, 10, 10, 0, 0, 0), "/"))
	}
	logfilestest.WriteFile(t, c.dir, "access.log.1", append(sep, oct...)...)
	opts := c.options()
	opts.Stats, opts.ExitLists = nil, nil
	if _, err := Pseudonymise(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	lines := logfilestest.ReadLines(t, filepath.Join(c.dir, "access.log.1"))
	septPseudo := map[string]int{}
	for i := range sep {
		septPseudo[strings.Fields(lines[i])[0]] = i
	}
	for i := range oct {
		if j, ok := septPseudo[strings.Fields(lines[len(sep)+i])[0]]; ok {
			t.Fatalf("September line %d and October line %d share the pseudonym %s", j, i, strings.Fields(lines[j])[0])
		}
	}
	if len(septPseudo) != len(sep) {
		t.Fatalf("%d distinct pseudonyms for %d distinct addresses", len(septPseudo), len(sep))
	}
}

// A month with lines in a file being written waits, whole: none of its
// files changes, and the note says why. Other months go ahead.
func TestPseudonymiseActiveFileHoldsMonth(t *testing.T) {
	c := edgeCase(t)
	logfilestest.WriteFile(t, c.dir, "access.log", acc("198.51.100.201", day(2026, 10, 30, 0, 0, 0), "/"))
	octBefore := logfilestest.ReadLines(t, filepath.Join(c.dir, "access.log-20261015.gz"))
	res, err := Pseudonymise(context.Background(), c.options())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Months) != 1 || res.Months[0].Month.String() != "2026-09" {
		t.Fatalf("months %+v, want September only", res.Months)
	}
	if len(res.Notes) != 1 || !strings.Contains(res.Notes[0], "being written") || !strings.Contains(res.Notes[0], "2026-10") {
		t.Fatalf("notes %q, want one saying the active file holds October", res.Notes)
	}
	// Its undated line was rewritten with September's files; its October
	// lines were not.
	octAfter := logfilestest.ReadLines(t, filepath.Join(c.dir, "access.log-20261015.gz"))
	if !slices.Equal(octAfter[:11], octBefore[:11]) || octAfter[11] == octBefore[11] {
		t.Fatalf("October's lines changed, or the undated one did not:\n%q\n%q", octBefore, octAfter)
	}
}

func TestPseudonymiseDryRun(t *testing.T) {
	c := edgeCase(t)
	snap := snapshotFiles(t, c.dir)
	opts := c.options()
	opts.DryRun = true
	res, err := Pseudonymise(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Months) != 2 || len(res.Files) != 4 {
		t.Fatalf("dry run: %+v; want two months in four files", res)
	}
	if !reflect.DeepEqual(snap, snapshotFiles(t, c.dir)) {
		t.Fatal("a dry run changed files")
	}
	if _, err := os.Stat(c.data); err == nil {
		t.Fatal("a dry run computed statistics")
	}
}

// A crash at any step leaves each file old or new, and each month's files
// all old or all new once the next run has recovered; the figures end up
// as they were.
func TestPseudonymiseCrashAtEachStep(t *testing.T) {
	for _, step := range []string{"temp#1", "temp#3", "journal", "rename#1", "rename#3", "state"} {
		t.Run(step, func(t *testing.T) {
			c := edgeCase(t)
			before := c.figures(t)
			old := snapshotFiles(t, c.dir)
			name, nth, _ := strings.Cut(step, "#")
			seen := 0
			var mu sync.Mutex // the temp step runs on several workers
			opts := c.options()
			opts.hook = func(s, path string) error {
				mu.Lock()
				defer mu.Unlock()
				if s == name {
					seen++
					if nth == "" || fmt.Sprint(seen) == nth {
						return errors.New("crash")
					}
				}
				return nil
			}
			_, err := Pseudonymise(context.Background(), opts)
			if err == nil {
				t.Fatal("no error from the injected crash")
			}
			mid := snapshotFiles(t, c.dir)
			for n, b := range mid {
				if (atomicfile.IsTemp(n) || n == pseudoJournalName) || n == PseudonymStateName {
					continue
				}
				if b != old[n] && holdsRealAddress(t, filepath.Join(c.dir, n), c.now) {
					t.Errorf("%s is neither the old file nor a whole new one", n)
				}
			}
			_, err = os.Stat(filepath.Join(c.dir, pseudoJournalName))
			journal := err == nil
			if (name == "temp" || name == "journal") && (journal || !sameLogs(old, mid)) {
				t.Fatalf("a crash before the journal changed the logs")
			}

			// The next run recovers, and finishes or redoes the work.
			res, err := Pseudonymise(context.Background(), c.options())
			if err != nil {
				t.Fatal(err)
			}
			if journal && len(res.Months) != 0 {
				t.Errorf("after a crash past the journal, the next run rewrote %+v again", res.Months)
			}
			entries, _ := os.ReadDir(c.dir)
			for _, e := range entries {
				if n := e.Name(); atomicfile.IsTemp(n) || n == pseudoJournalName {
					t.Errorf("%s left behind", n)
				}
			}
			for n := range snapshotFiles(t, c.dir) {
				if _, ok := parseName(c.dir, n); ok && n != "access.log" && n != "access.log.1" && holdsRealAddress(t, filepath.Join(c.dir, n), c.now) {
					t.Errorf("%s still holds real addresses of a settled month", n)
				}
			}
			if after := c.figures(t); !reflect.DeepEqual(before, after) {
				t.Fatalf("figures changed:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
}

func sameLogs(a, b map[string]string) bool {
	for n, v := range a {
		if b[n] != v {
			return false
		}
	}
	return true
}

// holdsRealAddress reports whether a file has a real address on a line of
// a month settled at now.
func holdsRealAddress(t *testing.T, path string, now time.Time) bool {
	t.Helper()
	settled := SettledBefore(now, 0).Unix()
	var sc lineScanner
	var s lineScan
	for _, l := range logfilestest.ReadLines(t, path) {
		sc.scan([]byte(l), &s)
		if len(s.spans) > 0 && s.unix != 0 && s.unix < settled {
			return true
		}
	}
	return false
}

// A prune after a crash past the journal finishes the pseudonymisation
// rather than taking its temporary files for leftovers.
func TestPruneFinishesPseudonymisation(t *testing.T) {
	c := edgeCase(t)
	before := c.figures(t)
	opts := c.options()
	opts.hook = func(step, _ string) error {
		if step == "rename" {
			return errors.New("crash")
		}
		return nil
	}
	if _, err := Pseudonymise(context.Background(), opts); err == nil {
		t.Fatal("no error from the injected crash")
	}
	if _, err := Prune(context.Background(), PruneOptions{Dir: c.dir, Now: func() time.Time { return c.now }}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"access.log-20260930.gz", "access.log-20261015.gz", "error.log-20261015"} {
		if holdsRealAddress(t, filepath.Join(c.dir, n), c.now) {
			t.Errorf("%s still holds real addresses: the prune dropped the journal's files", n)
		}
	}
	if _, err := os.Stat(filepath.Join(c.dir, pseudoJournalName)); err == nil {
		t.Error("the journal is still there")
	}
	if after := c.figures(t); !reflect.DeepEqual(before, after) {
		t.Fatalf("figures changed:\nbefore %v\nafter  %v", before, after)
	}
}

// TestPruneRefusesAPlantedJournal: the journal lies in the log directory,
// which others may write. One planted there made the root-run prune
// rename any file onto any path it named (a file of the attacker's onto
// /etc/cron.d/x, say). A journal entry is followed only when it is one
// depot writes: a temporary file of depot's, a regular file, renamed
// onto the name it was made for, in its own directory; otherwise nothing
// is renamed and prune says why.
func TestPruneRefusesAPlantedJournal(t *testing.T) {
	for name, entry := range map[string]func(mine, other string) pseudoRename{
		"another directory": func(mine, other string) pseudoRename {
			return pseudoRename{Tmp: filepath.Join(mine, ".cron.tmp-1"), Dst: filepath.Join(other, "cron")}
		},
		"not a temporary file": func(mine, other string) pseudoRename {
			return pseudoRename{Tmp: filepath.Join(other, "shadow"), Dst: filepath.Join(other, "cron")}
		},
		"another target": func(mine, other string) pseudoRename {
			return pseudoRename{Tmp: filepath.Join(other, ".shadow.tmp-1"), Dst: filepath.Join(other, "cron")}
		},
		"a link": func(mine, other string) pseudoRename {
			return pseudoRename{Tmp: filepath.Join(mine, ".access.log-20261015.gz.tmp-7"), Dst: filepath.Join(mine, "access.log-20261015.gz")}
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir, other := t.TempDir(), t.TempDir()
			files := map[string]string{
				filepath.Join(dir, ".cron.tmp-1"):            "* * * * * root evil\n",
				filepath.Join(other, "shadow"):               "root's secret\n",
				filepath.Join(other, ".shadow.tmp-1"):        "root's temporary file\n",
				filepath.Join(other, "cron"):                 "root's file\n",
				filepath.Join(dir, "access.log-20261015.gz"): "a log\n",
			}
			for p, content := range files {
				if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Symlink(filepath.Join(other, "shadow"), filepath.Join(dir, ".access.log-20261015.gz.tmp-7")); err != nil {
				t.Fatal(err)
			}
			if err := writeJournal(dir, &pseudoJournal{At: "2026-11-01T00:00:00Z", Renames: []pseudoRename{entry(dir, other)}}); err != nil {
				t.Fatal(err)
			}
			_, err := Prune(context.Background(), PruneOptions{Dir: dir, Now: func() time.Time { return time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC) }})
			if err == nil || !strings.Contains(err.Error(), pseudoJournalName) {
				t.Errorf("Prune = %v; want an error naming the journal", err)
			}
			for p, want := range files {
				if b, err := os.ReadFile(p); err != nil || string(b) != want {
					t.Errorf("%s: %q, %v; want %q, untouched", p, b, err, want)
				}
			}
		})
	}
}

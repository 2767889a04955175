package logfiles

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"depot/internal/logaddr"
	"depot/internal/logfiles/logfilestest"
	"depot/internal/logread"
	"depot/internal/logsink"
)

// FuzzSearchFile feeds arbitrary bytes to search and prune. As files of
// every kind of name: a corrupt archive gives a problem report, never a
// panic or an error, and a dry-run prune changes nothing. As the lines of
// a log: search finds exactly the same lines in depot's indexed gzip (where
// blocks may be skipped by their index) as in the plain file.
func FuzzSearchFile(f *testing.F) {
	var indexed bytes.Buffer
	iw := newIndexedWriter(&indexed)
	iw.Write([]byte(`203.0.113.7 - - [29/Nov/2026:04:28:39 +0000] "GET / HTTP/1.1" 200 1 "-" "-"` + "\n"))
	iw.Close()
	f.Add(indexed.Bytes())
	f.Add(indexed.Bytes()[:40])
	f.Add([]byte("\x1f\x8b\x08\x04\x00\x00\x00\x00\x00\xff\x10\x00Dp\x0c\x00\x01\xff\xff\xff\xff"))
	f.Add([]byte(`2026/11/29 04:28:39 [error] 1#0: *2 x, client: 203.0.113.7` + "\n"))
	f.Add([]byte(`203.0.113.7 - - [29/Nov/2026:04:28:39 +0000] "GET / HTTP/1.1" 200 1 "-" "-"` + "\n" +
		`::ffff:203.0.113.7 - - [01/Aug/2026:04:28:39 +0000] "GET /x HTTP/1.1" 404 1 "-" "-"` + "\nno time\n"))
	q := Query{IPs: pfx(nil, "203.0.113.7"), Errors: true}
	now := func() time.Time { return time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC) }
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		for _, name := range []string{"access.log-20261129.gz", "access.log.2.gz", "access.log.1", "error.log.1", "access.log.3.xz"} {
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o640); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := Search(context.Background(), dir, q, func(*Match) error { return nil }); err != nil {
			t.Fatalf("Search: %v", err)
		}
		before := snapshot(t, dir)
		if _, err := Prune(context.Background(), PruneOptions{Dir: dir, DryRun: true, Now: now}); err != nil {
			t.Fatalf("Prune: %v", err)
		}
		if after := snapshot(t, dir); after != before {
			t.Fatalf("a dry-run prune changed the directory")
		}

		if logread.Sniff(data) != logread.Plain {
			return // read by content: not the lines of a log
		}
		plain, idx := t.TempDir(), t.TempDir()
		os.WriteFile(filepath.Join(plain, "access.log.1"), data, 0o640)
		src := filepath.Join(idx, "access.log-20261129")
		os.WriteFile(src, data, 0o640)
		if err := CompressFile(src); err != nil {
			t.Fatal(err)
		}
		want, got := searchLines(t, plain, q), searchLines(t, idx, q)
		if !slices.Equal(got, want) {
			t.Fatalf("indexed gzip: found %q, the plain file %q", got, want)
		}
	})
}

// searchLines returns the lines Search finds in dir, sorted.
func searchLines(t *testing.T, dir string, q Query) []string {
	t.Helper()
	var lines []string
	st, err := Search(context.Background(), dir, q, func(m *Match) error {
		lines = append(lines, string(m.Line))
		return nil
	})
	if err != nil || len(st.Problems) > 0 {
		t.Fatalf("Search %s: %v, %v", dir, err, st.Problems)
	}
	slices.Sort(lines)
	return lines
}

// FuzzIndexedRoundTrip writes arbitrary text as indexed gzip and checks
// that the index finds every address in it.
func FuzzIndexedRoundTrip(f *testing.F) {
	f.Add("203.0.113.7 - - [29/Nov/2026:04:28:39 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" \"-\"\n2001:db8::1 x\n")
	f.Fuzz(func(t *testing.T, text string) {
		var buf bytes.Buffer
		iw := newIndexedWriter(&buf)
		iw.Write([]byte(text))
		if err := iw.Close(); err != nil {
			t.Fatal(err)
		}
		members, rest := readIndex(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if rest != int64(buf.Len()) || len(members) != 1 {
			t.Fatalf("%d members, rest %d of %d", len(members), rest, buf.Len())
		}
		for _, line := range bytes.Split([]byte(text), []byte("\n")) {
			if a, ok := logaddr.Parse(lineAddr(line)); ok {
				k := exactKey(a)
				if !bloomHas(members[0].bloom, members[0].k, &k) {
					t.Fatalf("index lacks %v", a)
				}
			}
		}
	})
}

// FuzzPseudonymiseLine: whatever the line, its rewrite holds no real
// address anymore, rewriting it again changes nothing, and an access line
// parses exactly as before but for its address.
func FuzzPseudonymiseLine(f *testing.F) {
	for _, tc := range pseudonymiseLineCases {
		f.Add(tc.in)
	}
	r := testRewriter(f)
	r.months[0].from, r.months[0].to = -1<<62, 1<<62 // every dated line
	f.Fuzz(func(t *testing.T, in string) {
		if bytes.IndexByte([]byte(in), '\n') >= 0 {
			return // one line at a time
		}
		out := rewriteOne(t, r, in)
		var sc lineScanner
		var s lineScan
		sc.scan([]byte(out), &s)
		if len(s.spans) > 0 {
			t.Fatalf("%q rewritten as %q still holds %s", in, out, s.spans[0].addr)
		}
		if again := rewriteOne(t, r, out); again != out {
			t.Fatalf("rewriting %q twice: %q then %q", in, out, again)
		}
		checkParsesAlike(t, r, in)
	})
}

// FuzzFileLines drives the line sink as a server does, with rotations and
// external logrotate renames between writes, and checks its promise: every
// line written comes out exactly once, in order, in the file that was
// active when it was written: each rotated (compressed) or renamed file
// holds exactly the lines written since the previous one, the active file
// the rest. Each input byte is one step:
// write a line (of a length from the byte, so that lines straddle the
// buffer's size), flush, rotate at midnight, or rename and reopen.
func FuzzFileLines(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7})
	f.Add(bytes.Repeat([]byte{0xf8, 0xf0, 0xe8}, 40))         // long lines: more than the buffer
	f.Add(append(bytes.Repeat([]byte{0xf8}, 30), 2, 0xf8, 3)) // rotate, then reopen after a rename
	f.Add([]byte{2, 2, 3, 3, 1, 1})                           // rotations and reopens of empty files
	f.Fuzz(func(t *testing.T, steps []byte) {
		if len(steps) > 300 {
			steps = steps[:300]
		}
		dir := t.TempDir()
		day := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
		lf, err := logsink.Open(filepath.Join(dir, "access.log"))
		if err != nil {
			t.Fatal(err)
		}
		rot := NewRotator(dir, []*logsink.File{lf}, func() time.Time { return day }, RotatorOptions{})
		var want [][]string   // the lines of each segment, the active one last
		var segments []string // rotated and renamed files, oldest first
		var cur []string
		renames := 0
		for i, b := range steps {
			switch b % 8 {
			case 0, 4, 5, 6, 7: // write
				line := fmt.Sprintf("%05d %s", i, strings.Repeat("x", int(b)*int(b)/8))
				if _, err := lf.Write([]byte(line + "\n")); err != nil {
					t.Fatal(err)
				}
				cur = append(cur, line)
			case 1:
				if err := lf.Flush(); err != nil {
					t.Fatal(err)
				}
			case 2: // midnight: the file is named for the day (unless empty)
				if err := rot.RotateNow(); err != nil {
					t.Fatal(err)
				}
				segments = append(segments, filepath.Join(dir, "access.log-"+day.Format("20060102")))
				want, cur = append(want, cur), nil
				day = day.AddDate(0, 0, 1)
			case 3: // logrotate: rename, then reopen (SIGHUP)
				renames++
				moved := filepath.Join(dir, fmt.Sprintf("moved-%03d", renames))
				if err := os.Rename(lf.Path(), moved); err != nil {
					t.Fatal(err)
				}
				if err := lf.Reopen(); err != nil {
					t.Fatal(err)
				}
				segments = append(segments, moved)
				want, cur = append(want, cur), nil
			}
		}
		want = append(want, cur)
		if err := lf.Close(); err != nil {
			t.Fatal(err)
		}
		rot.Wait()
		for i, p := range append(segments, lf.Path()) {
			got := readSegment(t, p)
			if !slices.Equal(got, want[i]) {
				t.Fatalf("%s holds %d lines, want the %d written while it was active, once each and in order (first difference at %d)",
					filepath.Base(p), len(got), len(want[i]), logfilestest.FirstDiff(got, want[i]))
			}
		}
	})
}

// readSegment reads the lines of path, or of its .gz when compression
// replaced it; with neither (an empty file is not rotated) it has none.
func readSegment(t *testing.T, path string) []string {
	t.Helper()
	for _, name := range []string{path + ".gz", path} {
		if _, err := os.Stat(name); err == nil {
			return logfilestest.ReadLines(t, name)
		}
	}
	return nil
}

// FuzzParseQuery: any text either parses into a query whose bounds are in
// order when both are given as the same date, or fails naming a field.
func FuzzParseQuery(f *testing.F) {
	for _, s := range [][4]string{
		{"203.0.113.7", "2026-11-01", "^/r4", "4xx"}, {"2001:db8::/32", "2026-11-29T04:28:39Z", "", "404"},
		{"", "", "(", "6xx"}, {"x", "yesterday", "", "99"},
	} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	f.Fuzz(func(t *testing.T, ip, when, path, status string) {
		q, err := ParseQuery(QueryText{IPs: []string{ip}, Since: when, Until: when, Path: path, Status: status})
		if err != nil {
			var qe *QueryError
			if !errors.As(err, &qe) || qe.Field == "" {
				t.Fatalf("error %v names no field", err)
			}
			return
		}
		if len(q.IPs) != 1 || q.IPs[0] != q.IPs[0].Masked() {
			t.Fatalf("IPs %v: want one masked prefix", q.IPs)
		}
		if when != "" && !q.Since.Before(q.Until) {
			t.Fatalf("since %v, until %v of the same %q: want since before until", q.Since, q.Until, when)
		}
		if q.Status != 0 && !(q.Status >= 1 && q.Status <= 5 || q.Status >= 100 && q.Status <= 999) {
			t.Fatalf("status %d", q.Status)
		}
	})
}

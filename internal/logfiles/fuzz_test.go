package logfiles

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"depot/internal/logaddr"
	"depot/internal/logread"
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

package logfiles

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

// FuzzSearchFile feeds arbitrary bytes to search as a depot-named .gz, a
// logrotate .gz and a plain file: a corrupt archive must give a problem
// report, never a panic, and an indexed file must find each of its lines.
func FuzzSearchFile(f *testing.F) {
	var indexed bytes.Buffer
	iw := newIndexedWriter(&indexed)
	iw.Write([]byte(`203.0.113.7 - - [29/Nov/2026:04:28:39 +0000] "GET / HTTP/1.1" 200 1 "-" "-"` + "\n"))
	iw.Close()
	f.Add(indexed.Bytes())
	f.Add(indexed.Bytes()[:40])
	f.Add([]byte("\x1f\x8b\x08\x04\x00\x00\x00\x00\x00\xff\x10\x00Dp\x0c\x00\x01\xff\xff\xff\xff"))
	f.Add([]byte(`2026/11/29 04:28:39 [error] 1#0: *2 x, client: 203.0.113.7` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		for _, name := range []string{"access.log-20261129.gz", "access.log.2.gz", "access.log.1", "error.log.1"} {
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o640); err != nil {
				t.Fatal(err)
			}
		}
		q := Query{IPs: pfx(nil, "203.0.113.7"), Errors: true}
		if _, err := Search(context.Background(), dir, q, func(*Match) error { return nil }); err != nil {
			t.Fatalf("Search: %v", err)
		}
		if _, err := Prune(context.Background(), PruneOptions{Dir: dir, DryRun: true}); err != nil {
			t.Fatalf("Prune: %v", err)
		}
	})
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
			if a, ok := parseAddr(lineAddr(line)); ok {
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

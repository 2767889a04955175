package logfiles

import "testing"

// BenchmarkPseudonymiseLine is the rewrite's work per access line: find
// its time and address, and replace the address by its pseudonym.
func BenchmarkPseudonymiseLine(b *testing.B) {
	r := testRewriter(b)
	line := []byte(`203.0.113.7 - - [05/Oct/2026:10:00:00 +0000] "GET /r4.2/current/host/fc37/repodata/repomd.xml.metalink?countme=1 HTTP/1.1" 200 4168 "-" "libdnf (Fedora 37; generic; Linux.x86_64)"`)
	var sc lineScanner
	var s lineScan
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		sc.scan(line, &s)
		m := r.mapper(s.unix)
		var err error
		if buf, err = r.rewrite(buf[:0], line, &s, m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSurveyPseudonymisedLine is what a daily run pays per line
// that already holds a pseudonym.
func BenchmarkSurveyPseudonymisedLine(b *testing.B) {
	line := []byte(`100::4:0:9c3f:27d1 - - [05/Oct/2026:10:00:00 +0000] "GET /r4.2/current/host/fc37/repodata/repomd.xml.metalink?countme=1 HTTP/1.1" 200 4168 "-" "libdnf (Fedora 37; generic; Linux.x86_64)"`)
	var sc lineScanner
	var s lineScan
	b.ReportAllocs()
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		if sc.scan(line, &s); len(s.spans) != 0 {
			b.Fatal("a pseudonym taken for an address")
		}
	}
}

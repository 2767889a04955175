package accesslog

import (
	"testing"
	"time"
)

var benchLine = []byte(`203.0.113.7 - - [29/Nov/2026:04:28:39 +0000] "GET /r4.2/current/host/fc37/repodata/repomd.xml.metalink HTTP/1.1" 200 3859 "-" "libdnf (Fedora 37; generic; Linux.x86_64)"` + "\n")

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchLine)))
	var l Line
	for b.Loop() {
		if err := Parse(benchLine, &l); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendCombined(b *testing.B) {
	b.ReportAllocs()
	e := Entry{RemoteAddr: "203.0.113.7", Time: time.Date(2026, 11, 29, 4, 28, 39, 0, time.UTC),
		Request: "GET /r4.2/current/host/fc37/repodata/repomd.xml.metalink HTTP/1.1", Status: 200, BodyBytes: 3859,
		UserAgent: "libdnf (Fedora 37; generic; Linux.x86_64)"}
	buf := make([]byte, 0, 512)
	for b.Loop() {
		buf = AppendCombined(buf[:0], &e)
	}
}

package errorlog

import (
	"testing"
	"time"
)

var benchLine = []byte(`2026/11/29 04:28:39 [error] 1234#0: *567 open() "/srv/yum/x" failed (2: No such file or directory), client: 203.0.113.7, server: yum.example.org, request: "GET /x HTTP/1.1", host: "yum.example.org"` + "\n")

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

func BenchmarkAppend(b *testing.B) {
	b.ReportAllocs()
	e := Entry{Time: time.Date(2026, 11, 29, 4, 28, 39, 0, time.UTC), Level: Error, PID: 1234, ConnID: 567,
		Message: `open() "/srv/yum/x" failed (2: No such file or directory)`, Client: "203.0.113.7",
		Server: "yum.example.org", Request: "GET /x HTTP/1.1", Host: "yum.example.org"}
	buf := make([]byte, 0, 512)
	for b.Loop() {
		buf = Append(buf[:0], &e)
	}
}

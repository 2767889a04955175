package logfiles

import (
	"net/netip"
	"path/filepath"
	"testing"
)

var benchAccessLine = []byte(`203.0.113.7 - - [29/Nov/2026:04:28:39 +0000] "GET /r4.2/current/host/fc37/repodata/repomd.xml.metalink HTTP/1.1" 200 3859 "-" "libdnf (Fedora 37; generic; Linux.x86_64)"` + "\n")

// BenchmarkFileWrite is the cost of logging one line: the hot path of
// every clearnet request.
func BenchmarkFileWrite(b *testing.B) {
	f, err := Open(filepath.Join(b.TempDir(), AccessName))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	b.ReportAllocs()
	b.SetBytes(int64(len(benchAccessLine)))
	for b.Loop() {
		if _, err := f.Write(benchAccessLine); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFileWriteParallel(b *testing.B) {
	f, err := Open(filepath.Join(b.TempDir(), AccessName))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	b.ReportAllocs()
	b.SetBytes(int64(len(benchAccessLine)))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := f.Write(benchAccessLine); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkMatchAccessLine is search's per-line cost when the address
// prefix check rejects the line, and when it must parse.
func BenchmarkMatchAccessLine(b *testing.B) {
	for _, tt := range []struct{ name, ip string }{{"rejected by prefix", "198.51.100.1"}, {"parsed", "203.0.113.7"}} {
		b.Run(tt.name, func(b *testing.B) {
			p, _ := ParseIPFilter(tt.ip)
			m := newMatcher(Query{IPs: []netip.Prefix{p}})
			var s scratch
			line := benchAccessLine[:len(benchAccessLine)-1]
			b.ReportAllocs()
			b.SetBytes(int64(len(line)))
			for b.Loop() {
				m.match(AccessLog, line, &s)
			}
		})
	}
}

package logfiles

import (
	"net/netip"
	"testing"
)

var benchAccessLine = []byte(`203.0.113.7 - - [29/Nov/2026:04:28:39 +0000] "GET /r4.2/current/host/fc37/repodata/repomd.xml.metalink HTTP/1.1" 200 3859 "-" "libdnf (Fedora 37; generic; Linux.x86_64)"` + "\n")

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

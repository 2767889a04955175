package pseudonym

import (
	"net/netip"
	"testing"
)

var sinkAddr netip.Addr

// BenchmarkMapV4 is one IPv4 address through the keyed permutation (the
// rewrite's per-line cost without a cache).
func BenchmarkMapV4(b *testing.B) {
	m := newTestMapper(b)
	b.ReportAllocs()
	var i uint32
	for b.Loop() {
		sinkAddr = m.MapV4(i, i&1 == 0)
		i++
	}
}

// BenchmarkMapV6Seen is an IPv6 address already numbered this month.
func BenchmarkMapV6Seen(b *testing.B) {
	m := newTestMapper(b)
	a := netip.MustParseAddr("2001:db8:1:2::7")
	b.ReportAllocs()
	for b.Loop() {
		sinkAddr, _ = m.Map(a, false)
	}
}

// BenchmarkParseText is what the statistics pay per pseudonymised line to
// recognise the pseudonym.
func BenchmarkParseText(b *testing.B) {
	t := []byte("100::4:1:c000:201")
	b.ReportAllocs()
	b.SetBytes(int64(len(t)))
	for b.Loop() {
		if _, a, ok := ParseText(t); !ok {
			b.Fatal("not a pseudonym")
		} else {
			sinkAddr = a
		}
	}
}

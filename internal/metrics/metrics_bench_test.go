package metrics

import (
	"testing"
	"time"
)

// BenchmarkObserve is what metrics add to each clearnet request: the
// site's counters looked up by label, then a counter, the bytes and the
// duration histogram.
func BenchmarkObserve(b *testing.B) {
	m := New()
	m.Site("yum.example.org")
	b.ReportAllocs()
	for b.Loop() {
		m.Site("yum.example.org").Observe("GET", 200, 4096, 3*time.Millisecond)
	}
}

// BenchmarkObserveParallel is BenchmarkObserve from every core at once,
// where the counters' atomic updates contend.
func BenchmarkObserveParallel(b *testing.B) {
	m := New()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Site("yum.example.org").Observe("GET", 200, 4096, 3*time.Millisecond)
		}
	})
}

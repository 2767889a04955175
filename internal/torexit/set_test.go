package torexit

import (
	"net/netip"
	"testing"
	"time"
)

func entry(addr, pub, last string) Entry {
	return Entry{Node: "X", Published: mustTime(pub), LastStatus: mustTime(last), Addrs: []netip.Addr{netip.MustParseAddr(addr)}}
}

func TestIsTor(t *testing.T) {
	b := NewBuilder()
	b.Add(&File{Entries: []Entry{
		// Nested: the second interval lies inside the first. A merge that
		// took the second end would lose 2026-10-20.
		entry("10.0.0.1", "2026-10-01 00:00:00", "2026-10-20 00:00:00"),
		entry("10.0.0.1", "2026-10-05 00:00:00", "2026-10-06 00:00:00"),
		// Overlapping, given in reverse order.
		entry("10.0.0.2", "2026-10-10 00:00:00", "2026-10-12 00:00:00"),
		entry("10.0.0.2", "2026-10-08 00:00:00", "2026-10-10 12:00:00"),
		// Disjoint beyond the margins.
		entry("10.0.0.3", "2026-10-01 00:00:00", "2026-10-01 01:00:00"),
		entry("10.0.0.3", "2026-10-10 00:00:00", "2026-10-10 01:00:00"),
		entry("2001:db8::7", "2026-10-01 00:00:00", "2026-10-01 01:00:00"),
	}}, time.Time{})
	// Same address in another document (as from a neighbouring month).
	other := NewBuilder()
	other.Add(&File{Entries: []Entry{entry("10.0.0.4", "2026-09-30 22:00:00", "2026-09-30 23:00:00")}}, time.Time{})
	b.Merge(other)
	s := b.Set()
	for _, tc := range []struct {
		name, addr, at string
		want           bool
	}{
		{"nested: inside outer only", "10.0.0.1", "2026-10-19 12:00:00", true},
		{"nested: end margin of outer", "10.0.0.1", "2026-10-20 23:59:59", true},
		{"nested: after margin", "10.0.0.1", "2026-10-21 00:00:01", false},
		{"start margin exact", "10.0.0.1", "2026-09-30 00:00:00", true},
		{"before start margin", "10.0.0.1", "2026-09-29 23:59:59", false},
		{"overlap: second part", "10.0.0.2", "2026-10-12 20:00:00", true},
		{"overlap: first part", "10.0.0.2", "2026-10-07 01:00:00", true},
		{"disjoint: gap", "10.0.0.3", "2026-10-05 00:00:00", false},
		{"disjoint: second", "10.0.0.3", "2026-10-11 00:00:00", true},
		{"previous month list covers the 1st", "10.0.0.4", "2026-10-01 00:30:00", true},
		{"unknown address", "10.9.9.9", "2026-10-05 00:00:00", false},
		{"ipv4-mapped", "::ffff:10.0.0.1", "2026-10-10 00:00:00", true},
		{"ipv6 exit", "2001:db8::7", "2026-10-01 12:00:00", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := s.IsTor(netip.MustParseAddr(tc.addr), mustTime(tc.at)); got != tc.want {
				t.Errorf("IsTor(%s, %s) = %v, want %v", tc.addr, tc.at, got, tc.want)
			}
		})
	}
}

func TestMergeNeverShrinks(t *testing.T) {
	var sps []span
	for _, sp := range []span{{0, 100}, {10, 20}, {5, 50}, {200, 300}, {99, 150}, {301, 310}} {
		sps = addSpan(sps, sp)
	}
	got := compact(sps)
	want := []span{{0, 150}, {200, 310}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestCoverage(t *testing.T) {
	b := NewBuilder()
	for _, at := range []string{"2026-10-02 00:00:00", "2026-10-02 12:00:00", "2026-10-03 00:00:00"} {
		b.Add(&File{}, mustTime(at))
	}
	s := b.Set()
	day := func(d int) time.Time { return time.Date(2026, 10, d, 0, 0, 0, 0, time.UTC) }
	for _, tc := range []struct {
		name     string
		from, to time.Time
		permille int
		gaps     int
	}{
		{"covered", day(1), day(3), 1000, 0},
		{"gap after", day(1), day(5), 500, 1},
		{"gap before and after", mustTime("2026-09-30 00:00:00"), day(5), 400, 2},
		{"nothing", day(10), day(11), 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := s.Coverage(tc.from, tc.to)
			if c.Permille != tc.permille || len(c.Gaps) != tc.gaps {
				t.Errorf("got %d‰ with gaps %v, want %d‰ and %d gaps", c.Permille, c.Gaps, tc.permille, tc.gaps)
			}
		})
	}
}

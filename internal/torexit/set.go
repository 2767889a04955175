package torexit

import (
	"net/netip"
	"slices"
	"time"
)

// Margin is how far before Published and after LastStatus a request from
// an exit address still counts as a Tor request (stats-method.md).
const Margin = 24 * time.Hour

// span is a closed interval of Unix seconds.
type span struct{ from, to int64 }

// Set answers IsTor for addresses and times, and knows which times its exit
// lists cover. A Set is read-only once built and safe for concurrent use.
//
// Invariant: every address's spans are already widened by Margin, sorted by
// start and disjoint; merging took the maximum end, so coverage never
// shrinks.
type Set struct {
	v4    map[uint32][]span
	v6    map[netip.Addr][]span
	cover []span

	// Files is how many exit-list documents were read; Entries how many
	// entries were kept; Malformed how many were skipped.
	Files, Entries, Malformed int
}

// Builder collects exit-list documents into a Set. It is not safe for
// concurrent use; build one per goroutine and Merge them.
type Builder struct {
	s Set
}

// NewBuilder returns an empty Builder.
func NewBuilder() *Builder {
	return &Builder{s: Set{v4: map[uint32][]span{}, v6: map[netip.Addr][]span{}}}
}

// Add records one document. Its publication time is its Downloaded
// annotation, else at (the time in its file name; zero if none), else its
// latest LastStatus.
// A document published at D covers [D-24h, D]: TorDNSEL lists every relay
// that was running during the 24 hours before it was written.
func (b *Builder) Add(f *File, at time.Time) {
	b.s.Files++
	b.s.Malformed += f.Malformed
	if !f.Downloaded.IsZero() {
		at = f.Downloaded
	}
	if at.IsZero() {
		// Without a publication time, the latest LastStatus stands in.
		for _, e := range f.Entries {
			at = maxTime(at, e.LastStatus)
		}
	}
	if !at.IsZero() {
		b.s.cover = addSpan(b.s.cover, span{at.Add(-Margin).Unix(), at.Unix()})
	}
	for _, e := range f.Entries {
		b.s.Entries++
		sp := span{e.Published.Add(-Margin).Unix(), e.LastStatus.Add(Margin).Unix()}
		for _, a := range e.Addrs {
			if a.Is4() {
				k := v4key(a)
				b.s.v4[k] = addSpan(b.s.v4[k], sp)
			} else {
				b.s.v6[a] = addSpan(b.s.v6[a], sp)
			}
		}
	}
}

// Merge adds everything other collected.
func (b *Builder) Merge(other *Builder) {
	o := &other.s
	b.s.Files += o.Files
	b.s.Entries += o.Entries
	b.s.Malformed += o.Malformed
	for _, sp := range o.cover {
		b.s.cover = addSpan(b.s.cover, sp)
	}
	for k, sps := range o.v4 {
		for _, sp := range sps {
			b.s.v4[k] = addSpan(b.s.v4[k], sp)
		}
	}
	for k, sps := range o.v6 {
		for _, sp := range sps {
			b.s.v6[k] = addSpan(b.s.v6[k], sp)
		}
	}
}

// addresses is how many distinct addresses b holds.
func (b *Builder) addresses() int { return len(b.s.v4) + len(b.s.v6) }

// Set returns the built Set. The Builder must not be used afterwards.
func (b *Builder) Set() *Set {
	s := b.s
	for k, v := range s.v4 {
		s.v4[k] = compact(v)
	}
	for k, v := range s.v6 {
		s.v6[k] = compact(v)
	}
	s.cover = compact(s.cover)
	return &s
}

// addSpan appends sp and compacts once the slice grows, so that the hourly
// repetition of one relay's entry keeps its slice short.
func addSpan(sps []span, sp span) []span {
	if n := len(sps); n > 0 {
		last := &sps[n-1]
		if sp.from >= last.from && sp.from <= last.to {
			last.to = max(last.to, sp.to) // never shrink
			return sps
		}
	}
	sps = append(sps, sp)
	if len(sps) >= 32 {
		sps = compact(sps)
	}
	return sps
}

// compact sorts spans by start and merges overlapping or touching ones,
// keeping the larger end.
func compact(sps []span) []span {
	if len(sps) < 2 {
		return sps
	}
	slices.SortFunc(sps, func(a, b span) int {
		switch {
		case a.from < b.from:
			return -1
		case a.from > b.from:
			return 1
		}
		return 0
	})
	out := sps[:1]
	for _, sp := range sps[1:] {
		last := &out[len(out)-1]
		if sp.from <= last.to+1 {
			last.to = max(last.to, sp.to)
			continue
		}
		out = append(out, sp)
	}
	return out
}

func v4key(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// IsTor reports whether a request from addr at t was a Tor request: some
// entry listing addr has Published-24h <= t <= LastStatus+24h.
func (s *Set) IsTor(addr netip.Addr, t time.Time) bool {
	addr = addr.Unmap()
	if addr.Is4() {
		return s.IsTorV4(v4key(addr), t.Unix())
	}
	return in(s.v6[addr], t.Unix())
}

// IsTorV4 is IsTor for an IPv4 address as a big-endian uint32 and a time
// in Unix seconds. It does not allocate.
func (s *Set) IsTorV4(addr uint32, unix int64) bool {
	return in(s.v4[addr], unix)
}

func in(sps []span, t int64) bool {
	// Spans are sorted and disjoint: find the last one starting at or
	// before t.
	i, _ := slices.BinarySearchFunc(sps, t, func(sp span, t int64) int {
		if sp.from <= t {
			return -1
		}
		return 1
	})
	return i > 0 && t <= sps[i-1].to
}

// Addresses is how many distinct exit addresses the Set holds.
func (s *Set) Addresses() int { return len(s.v4) + len(s.v6) }

// Coverage describes how much of a time range the exit lists cover.
type Coverage struct {
	// Permille is the covered share of the range, rounded down: 1000 only
	// when every second is covered.
	Permille int
	// Gaps are the uncovered parts, earliest first.
	Gaps []Gap
}

// Gap is an uncovered half-open range [From, To).
type Gap struct{ From, To time.Time }

// Coverage reports which parts of [from, to) some exit list covers.
func (s *Set) Coverage(from, to time.Time) Coverage {
	a, b := from.Unix(), to.Unix()
	if b <= a {
		return Coverage{Permille: 1000}
	}
	var covered int64
	var gaps []Gap
	pos := a
	for _, sp := range s.cover {
		if sp.to <= pos || sp.from >= b {
			continue
		}
		if sp.from > pos {
			gaps = append(gaps, Gap{time.Unix(pos, 0).UTC(), time.Unix(sp.from, 0).UTC()})
			pos = sp.from
		}
		end := min(sp.to, b) // coverage spans are half-open: [D-24h, D)
		if end > pos {
			covered += end - pos
			pos = end
		}
	}
	if pos < b {
		gaps = append(gaps, Gap{time.Unix(pos, 0).UTC(), time.Unix(b, 0).UTC()})
	}
	return Coverage{Permille: int(covered * 1000 / (b - a)), Gaps: gaps}
}

package logtime

import (
	"sync/atomic"
	"time"
)

// Stamps writes times in one layout, formatting each second of a zone
// once, as nginx caches its log times: a busy server writes many lines a
// second, and formatting a time (its zone's offset looked up) costs more
// than the rest of a line. A Stamps is safe for concurrent use.
type Stamps struct {
	layout string
	last   atomic.Pointer[stamp] // the latest second written; its text is never changed
}

// stamp is one second's time in one zone as the layout writes it.
type stamp struct {
	sec  int64
	loc  *time.Location
	text []byte
	str  string // text, for StringUTC
}

// NewStamps returns a Stamps for layout. It panics if layout writes
// fractions of a second, which a text kept for the whole second would get
// wrong.
func NewStamps(layout string) *Stamps {
	at := time.Unix(0, 0).UTC()
	if at.Format(layout) != at.Add(time.Second-1).Format(layout) {
		panic("logtime.NewStamps: layout " + layout + " writes fractions of a second")
	}
	return &Stamps{layout: layout}
}

// Append appends t in the layout, as t.AppendFormat does, to dst and
// returns the extended slice. A second in a zone is the same text whatever
// its nanoseconds (zone transitions fall on whole seconds), so the result
// is exactly AppendFormat's.
func (s *Stamps) Append(dst []byte, t time.Time) []byte {
	return append(dst, s.of(t).text...)
}

// of is t's second in t's zone, formatted now if it is not the last one.
func (s *Stamps) of(t time.Time) *stamp {
	sec, loc := t.Unix(), t.Location()
	if st := s.last.Load(); st != nil && st.sec == sec && st.loc == loc {
		return st
	}
	text := t.AppendFormat(make([]byte, 0, len(s.layout)+8), s.layout)
	st := &stamp{sec: sec, loc: loc, text: text, str: string(text)}
	s.last.Store(st)
	return st
}

// AppendUTC appends t in UTC, as t.UTC().AppendFormat does. Unlike Append,
// it keeps nothing of t but its second (the zone it writes is UTC's), so t
// and what holds it do not escape to the heap for it: a caller's entry,
// with its strings, can stay on the stack.
func (s *Stamps) AppendUTC(dst []byte, t time.Time) []byte {
	return s.Append(dst, time.Unix(t.Unix(), 0).UTC())
}

// StringUTC is t in UTC, as t.UTC().Format returns it, without an
// allocation within a second (an HTTP/2 Date header is a string).
func (s *Stamps) StringUTC(t time.Time) string {
	return s.of(time.Unix(t.Unix(), 0).UTC()).str
}

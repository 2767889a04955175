// Package month is the calendar month (UTC) that statistics are computed
// for and retention keeps: written "YYYY-MM", ordered, with its first
// instant and its end.
//
// It never uses the local time zone: every instant is UTC.
package month

import (
	"fmt"
	"time"
)

// Month is a calendar month in UTC. The zero value is no month (IsZero);
// Months are comparable and can be map keys.
type Month struct {
	n int // months since January of year 0, plus one; 0 is no month
}

// layout is how a Month is written.
const layout = "2006-01"

// Parse reads "YYYY-MM" (for example "2026-11"), with a year from 0001 to
// 9999.
func Parse(s string) (Month, error) {
	t, err := time.Parse(layout, s)
	if err != nil || t.Format(layout) != s || t.Year() < 1 {
		return Month{}, fmt.Errorf("month %q is not YYYY-MM (for example 2026-11)", s)
	}
	return Of(t), nil
}

// MustParse is Parse for constants in tests and tables; it panics on a bad
// month.
func MustParse(s string) Month {
	m, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return m
}

// Of is the month (UTC) that holds t.
func Of(t time.Time) Month {
	y, m, _ := t.UTC().Date()
	return Month{n: y*12 + int(m) - 1 + 1}
}

// Date is the month of year y, month m (m may be out of range, as in
// time.Date: Date(2026, 13) is January 2027).
func Date(y int, m time.Month) Month {
	return Of(time.Date(y, m, 1, 0, 0, 0, 0, time.UTC))
}

// IsZero reports whether m is no month.
func (m Month) IsZero() bool { return m.n == 0 }

// Year and Month of m.
func (m Month) Year() int         { return (m.n - 1) / 12 }
func (m Month) Month() time.Month { return time.Month((m.n-1)%12 + 1) }

// String is "YYYY-MM", or "" for the zero Month.
func (m Month) String() string {
	if m.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d", m.Year(), int(m.Month()))
}

// Start is the first instant of m, UTC.
func (m Month) Start() time.Time {
	return time.Date(m.Year(), m.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// End is the first instant after m (the start of the next month), UTC: m
// holds the instants t with Start() <= t < End().
func (m Month) End() time.Time { return m.Next().Start() }

// Contains reports whether t falls in m.
func (m Month) Contains(t time.Time) bool { return Of(t) == m }

// Add is the month n months after m (before it when n < 0).
func (m Month) Add(n int) Month { return Month{n: m.n + n} }

// Next and Prev are the neighbouring months.
func (m Month) Next() Month { return m.Add(1) }
func (m Month) Prev() Month { return m.Add(-1) }

// Before and After order months in time.
func (m Month) Before(o Month) bool { return m.n < o.n }
func (m Month) After(o Month) bool  { return m.n > o.n }

// Compare returns -1, 0 or +1 as m is before, equal to or after o (for
// slices.SortFunc).
func (m Month) Compare(o Month) int {
	switch {
	case m.n < o.n:
		return -1
	case m.n > o.n:
		return 1
	}
	return 0
}

// MarshalText writes "YYYY-MM".
func (m Month) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText reads "YYYY-MM".
func (m *Month) UnmarshalText(b []byte) error {
	p, err := Parse(string(b))
	if err != nil {
		return err
	}
	*m = p
	return nil
}

// Range is the months from first to last, both included, in order.
func Range(first, last Month) []Month {
	var ms []Month
	for m := first; !m.After(last); m = m.Next() {
		ms = append(ms, m)
	}
	return ms
}

// Join writes months as "2026-07, 2026-08".
func Join(ms []Month) string {
	var b []byte
	for i, m := range ms {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, m.String()...)
	}
	return string(b)
}

package logtime

import (
	"fmt"
	"sync"
	"testing"
	"time"
	_ "time/tzdata" // Europe/Paris whatever the machine has
)

// The two layouts depot writes: nginx's $time_local and its error-log time.
var layouts = []string{"02/Jan/2006:15:04:05 -0700", "2006/01/02 15:04:05"}

func paris(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestStampsMatchTimeFormat writes sequences of times, in the order a
// server could meet them, through one Stamps each, and wants every one as
// time.Format writes it.
func TestStampsMatchTimeFormat(t *testing.T) {
	cet := paris(t)
	dst := time.Date(2026, 3, 29, 0, 59, 59, 0, time.UTC) // Europe's summer time starts at 01:00 UTC
	eoy := time.Date(2026, 12, 31, 23, 59, 59, 900_000_000, time.UTC)
	india := time.FixedZone("IST", 5*3600+1800)
	tests := []struct {
		name  string
		times []time.Time
	}{
		{"within a second", []time.Time{eoy.Add(-900 * time.Millisecond), eoy.Add(-time.Nanosecond), eoy}},
		{"across a second boundary", []time.Time{eoy, eoy.Add(99_999_999), eoy.Add(100_000_000), eoy.Add(time.Second)}},
		{"across a zone change", []time.Time{dst.In(cet), dst.Add(500 * time.Millisecond).In(cet), dst.Add(time.Second).In(cet), dst.Add(1500 * time.Millisecond).In(cet)}},
		{"one second in two zones", []time.Time{dst, dst.In(cet), dst.Add(time.Millisecond), dst.Add(2 * time.Millisecond).In(cet)}},
		{"two zones alternating across a second", []time.Time{eoy.In(india), eoy, eoy.Add(time.Second).In(india), eoy.Add(time.Second)}},
		{"two zones of the same name", []time.Time{eoy.In(time.FixedZone("X", 0)), eoy.In(time.FixedZone("X", 3600))}},
		{"local time", []time.Time{eoy, eoy.Local(), eoy.Add(time.Second).Local()}},
		{"a clock stepped back", []time.Time{eoy, eoy.Add(-time.Hour), eoy}},
		{"before 1970", []time.Time{time.Unix(-1, 0).UTC(), time.Unix(-1, 500_000_000).UTC(), time.Unix(0, 0).UTC()}},
	}
	for _, layout := range layouts {
		for _, tt := range tests {
			t.Run(layout+"/"+tt.name, func(t *testing.T) {
				s, u := NewStamps(layout), NewStamps(layout)
				for _, at := range tt.times {
					for range 2 { // the second time from the cache
						if got, want := string(s.Append([]byte("x"), at)), "x"+at.Format(layout); got != want {
							t.Fatalf("Append(%v): got %q, want %q", at, got, want)
						}
						if got, want := string(u.AppendUTC([]byte("x"), at)), "x"+at.UTC().Format(layout); got != want {
							t.Fatalf("AppendUTC(%v): got %q, want %q", at, got, want)
						}
					}
				}
			})
		}
	}
}

// TestStampsConcurrent has goroutines write times over a few seconds in
// two zones (and in UTC) through one Stamps, each in its own order; run
// with -race.
func TestStampsConcurrent(t *testing.T) {
	cet := paris(t)
	base := time.Date(2026, 3, 29, 0, 59, 58, 0, time.UTC)
	var times []time.Time
	for i := range 16 {
		at := base.Add(time.Duration(i) * 250 * time.Millisecond)
		times = append(times, at, at.In(cet))
	}
	for _, layout := range layouts {
		s := NewStamps(layout)
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for g := range 8 {
			wg.Go(func() {
				for i := range 200 * len(times) {
					at := times[(i*(g+1)+g)%len(times)]
					if got, want := string(s.Append(nil, at)), at.Format(layout); got != want {
						errs <- fmt.Errorf("Append(%v): got %q, want %q", at, got, want)
						return
					}
					if got, want := string(s.AppendUTC(nil, at)), at.UTC().Format(layout); got != want {
						errs <- fmt.Errorf("AppendUTC(%v): got %q, want %q", at, got, want)
						return
					}
					if got, want := s.StringUTC(at), at.UTC().Format(layout); got != want {
						errs <- fmt.Errorf("StringUTC(%v): got %q, want %q", at, got, want)
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	}
}

// TestStampsAllocateOncePerSecond: a second already written costs no
// allocation.
func TestStampsAllocateOncePerSecond(t *testing.T) {
	at := time.Date(2026, 11, 29, 4, 28, 39, 0, paris(t))
	s := NewStamps(layouts[0])
	buf := make([]byte, 0, 64)
	for name, f := range map[string]func(){
		"Append":    func() { buf = s.Append(buf[:0], at) },
		"AppendUTC": func() { buf = s.AppendUTC(buf[:0], at) },
		"StringUTC": func() { _ = s.StringUTC(at) },
	} {
		f()
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %.1f allocations, want 0", name, n)
		}
	}
}

func TestNewStampsRefusesFractions(t *testing.T) {
	for _, layout := range []string{"15:04:05.000", "15:04:05.999999999", time.RFC3339Nano} {
		t.Run(layout, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("NewStamps(%q) did not panic", layout)
				}
			}()
			NewStamps(layout)
		})
	}
}

func BenchmarkStamps(b *testing.B) {
	at := time.Date(2026, 11, 29, 4, 28, 39, 0, time.UTC)
	for _, layout := range layouts {
		b.Run(layout, func(b *testing.B) {
			s := NewStamps(layout)
			buf := make([]byte, 0, 64)
			b.ReportAllocs()
			for b.Loop() {
				buf = s.Append(buf[:0], at)
			}
		})
	}
}

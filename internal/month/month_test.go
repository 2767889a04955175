package month

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in, want string // want "" means an error
	}{
		{"2026-11", "2026-11"},
		{"0001-01", "0001-01"},
		{"9999-12", "9999-12"},
		{"2026-1", ""},
		{"2026-13", ""},
		{"2026-00", ""},
		{"26-11", ""},
		{"2026/11", ""},
		{"2026-11-01", ""},
		{" 2026-11", ""},
		{"0000-01", ""},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			m, err := Parse(tt.in)
			if tt.want == "" {
				if err == nil || !strings.Contains(err.Error(), "YYYY-MM") || !strings.Contains(err.Error(), tt.in) {
					t.Fatalf("Parse(%q) = %v, %v; want an error naming the input and YYYY-MM", tt.in, m, err)
				}
				return
			}
			if err != nil || m.String() != tt.want {
				t.Fatalf("Parse(%q) = %v, %v; want %s", tt.in, m, err, tt.want)
			}
		})
	}
}

func TestBounds(t *testing.T) {
	tests := []struct {
		m                string
		start, end       string
		prev, next, last string
	}{
		{"2026-11", "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z", "2026-10", "2026-12", "2026-11-30T23:59:59Z"},
		{"2026-12", "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z", "2026-11", "2027-01", "2026-12-31T23:59:59Z"},
		{"2027-01", "2027-01-01T00:00:00Z", "2027-02-01T00:00:00Z", "2026-12", "2027-02", "2027-01-31T23:59:59Z"},
		{"2028-02", "2028-02-01T00:00:00Z", "2028-03-01T00:00:00Z", "2028-01", "2028-03", "2028-02-29T23:59:59Z"},
	}
	for _, tt := range tests {
		m := MustParse(tt.m)
		if got := m.Start().Format(time.RFC3339); got != tt.start {
			t.Errorf("%s.Start() = %s, want %s", m, got, tt.start)
		}
		if got := m.End().Format(time.RFC3339); got != tt.end {
			t.Errorf("%s.End() = %s, want %s", m, got, tt.end)
		}
		if m.Prev().String() != tt.prev || m.Next().String() != tt.next {
			t.Errorf("%s: Prev %s Next %s, want %s %s", m, m.Prev(), m.Next(), tt.prev, tt.next)
		}
		last, _ := time.Parse(time.RFC3339, tt.last)
		if Of(last) != m || !m.Contains(last) || m.Contains(m.End()) || Of(m.Start()) != m {
			t.Errorf("%s: Of and Contains disagree with Start and End", m)
		}
	}
}

func TestOfIsUTC(t *testing.T) {
	// 2026-12-01 00:30 in UTC+1 is still November in UTC.
	tm := time.Date(2026, 12, 1, 0, 30, 0, 0, time.FixedZone("CET", 3600))
	if got := Of(tm).String(); got != "2026-11" {
		t.Errorf("Of(%v) = %s, want 2026-11", tm, got)
	}
}

func TestOrderAndText(t *testing.T) {
	ms := []Month{MustParse("2027-01"), MustParse("2026-09"), MustParse("2026-12")}
	slices.SortFunc(ms, Month.Compare)
	if got := []string{ms[0].String(), ms[1].String(), ms[2].String()}; !slices.Equal(got, []string{"2026-09", "2026-12", "2027-01"}) {
		t.Errorf("sorted %v", got)
	}
	if !ms[0].Before(ms[1]) || ms[0].After(ms[1]) || ms[1].Compare(ms[1]) != 0 {
		t.Error("Before/After/Compare disagree")
	}
	if got := Range(MustParse("2026-11"), MustParse("2027-02")); len(got) != 4 || got[3].String() != "2027-02" {
		t.Errorf("Range = %v", got)
	}
	if got := MustParse("2026-11").Add(-11).String(); got != "2025-12" {
		t.Errorf("Add(-11) = %s", got)
	}
	if got := Date(2026, 13).String(); got != "2027-01" {
		t.Errorf("Date(2026, 13) = %s", got)
	}
	b, err := json.Marshal(map[string]Month{"m": MustParse("2026-11")})
	if err != nil || string(b) != `{"m":"2026-11"}` {
		t.Errorf("JSON %s, %v", b, err)
	}
	var back map[string]Month
	if err := json.Unmarshal(b, &back); err != nil || back["m"] != MustParse("2026-11") {
		t.Errorf("round trip %v, %v", back, err)
	}
	if err := json.Unmarshal([]byte(`{"m":"2026-13"}`), &back); err == nil {
		t.Error("unmarshalled a bad month")
	}
	if got := Join([]Month{MustParse("2026-07"), MustParse("2026-08")}); got != "2026-07, 2026-08" {
		t.Errorf("Join = %q", got)
	}
	var zero Month
	if !zero.IsZero() || zero.String() != "" {
		t.Error("the zero Month is not zero")
	}
}

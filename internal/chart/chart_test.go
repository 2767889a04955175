package chart

import (
	"bytes"
	"fmt"
	"image/png"
	"os"
	"strings"
	"testing"
	"time"

	"depot/internal/month"
)

func sample() Input {
	in := Input{Title: "Estimated userbase", Updated: time.Date(2026, 11, 29, 4, 0, 0, 0, time.UTC), Current: month.MustParse("2026-11"), Months: map[month.Month]map[string]Bar{}}
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 35; i++ {
		m := month.Of(start).Add(i)
		rel := map[string]Bar{}
		if i < 24 {
			rel["r4.1"] = Bar{Plain: int64(2000 - 60*i), Tor: int64(400 - 10*i)}
		}
		rel["r4.2"] = Bar{Plain: int64(1000 + 80*i), Tor: int64(200 + 15*i)}
		if i > 20 {
			rel["r4.10"] = Bar{Plain: int64(100 * (i - 20)), Tor: int64(20 * (i - 20))}
		}
		in.Months[m] = rel
	}
	return in
}

func TestPNGAndSVG(t *testing.T) {
	var p, s bytes.Buffer
	if err := PNG(&p, sample()); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&p)
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1100 || b.Dy() != 605 {
		t.Errorf("got size %v, want 1100x605", b)
	}
	if err := SVG(&s, sample()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<svg", "Unique IP addresses", "Estimated userbase", "Tor users", "r4.10 via Tor", "2026-11"} {
		if !strings.Contains(s.String(), want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
	if dir := os.Getenv("CHART_OUT"); dir != "" {
		os.WriteFile(dir+"/chart.png", p.Bytes(), 0o644)
		var again bytes.Buffer
		PNG(&again, sample())
		os.WriteFile(dir+"/chart.png", again.Bytes(), 0o644)
	}
}

func TestEmpty(t *testing.T) {
	var b bytes.Buffer
	if err := PNG(&b, Input{Current: month.MustParse("2026-11")}); err != nil {
		t.Fatal(err)
	}
	if err := SVG(&b, Input{}); err == nil {
		t.Error("a chart without a current month was drawn")
	}
}

func TestCompareVersions(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"r4.2", "r4.10", -1}, {"r4.10", "r4.2", 1}, {"r4.1", "r4.1", 0},
		{"r4.1", "r4.1-rc", -1}, {"bookworm", "trixie", -1}, {"r04.1", "r4.1", 0},
	} {
		t.Run(fmt.Sprintf("%s_%s", tc.a, tc.b), func(t *testing.T) {
			got := CompareVersions(tc.a, tc.b)
			if sign(got) != tc.want {
				t.Errorf("got %d, want sign %d", got, tc.want)
			}
		})
	}
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

// TestSpan: the chart starts with the first month with figures (it used
// to span three years whatever the data, so three months filled a tenth of
// it), is at least MinSpan months wide, and pales the current month only
// when it has figures.
func TestSpan(t *testing.T) {
	fig := map[string]Bar{"r4.2": {Plain: 1}}
	tests := []struct {
		name        string
		months      []string // with figures
		current     string
		first, last string
		n           int
		currentAt   int
	}{
		{"three months, the last in progress", []string{"2026-09", "2026-10", "2026-11"}, "2026-11", "2026-09", "2027-08", 12, 2},
		{"three months, the current one without figures yet", []string{"2026-09", "2026-10", "2026-11"}, "2026-12", "2026-09", "2027-08", 12, -1},
		{"three years", []string{"2024-01", "2025-06", "2026-12"}, "2026-12", "2024-01", "2026-12", 36, 35},
		{"no figures", nil, "2026-11", "2025-12", "2026-11", 12, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := Input{Current: month.MustParse(tt.current), Months: map[month.Month]map[string]Bar{month.MustParse("2020-01"): {"any": {Plain: 5}}}} // "any" alone is no figure
			for _, m := range tt.months {
				in.Months[month.MustParse(m)] = fig
			}
			months, at := span(in)
			if len(months) != tt.n || months[0].String() != tt.first || months[len(months)-1].String() != tt.last || at != tt.currentAt {
				t.Errorf("got %d months %s..%s, current at %d; want %d months %s..%s, current at %d",
					len(months), months[0], months[len(months)-1], at, tt.n, tt.first, tt.last, tt.currentAt)
			}
		})
	}
}

// TestFooterNamesOnlyADrawnMonth: the footer said "2026-12 is in
// progress" of a month the chart did not draw.
func TestFooterNamesOnlyADrawnMonth(t *testing.T) {
	in := sample()
	in.Current = month.MustParse("2026-12") // no figures yet
	var s bytes.Buffer
	if err := SVG(&s, in); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(s.String(), "in progress") {
		t.Error("the footer mentions a month in progress that has no bar")
	}
	in.Current = month.MustParse("2026-11")
	s.Reset()
	SVG(&s, in)
	if !strings.Contains(s.String(), "2026-11 is in progress") {
		t.Error("the footer does not say that the current month, drawn pale, is in progress")
	}
}

// TestEveryTextIsFitted: every text element of the SVG carries the width
// the layout gave it, so that no browser font can push it out of place.
func TestEveryTextIsFitted(t *testing.T) {
	var s bytes.Buffer
	if err := SVG(&s, sample()); err != nil {
		t.Fatal(err)
	}
	texts, fitted := strings.Count(s.String(), "<text "), strings.Count(s.String(), `lengthAdjust="spacingAndGlyphs"`)
	if texts == 0 || fitted != texts {
		t.Errorf("%d of %d text elements have a textLength", fitted, texts)
	}
}

// A month in progress published as totals only is drawn, as one grey bar;
// a release with cells below min_count says so in the legend.
func TestTotalsOnlyAndBelow(t *testing.T) {
	in := sample()
	in.Months[month.MustParse("2026-11")] = map[string]Bar{"any": {Plain: 5000, Tor: 900}}
	in.MinCount = 10
	in.Below = map[month.Month][]string{month.MustParse("2026-10"): {"r4.10"}}
	var s bytes.Buffer
	if err := SVG(&s, in); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"all releases (in progress)", "all releases via Tor (in progress)", "r4.10 (&lt; 10 in some months)", "2026-11 is in progress"} {
		if !strings.Contains(s.String(), want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
	if strings.Contains(s.String(), "r4.2 (&lt;") {
		t.Error("a release with every cell published is marked below min_count")
	}
	var p bytes.Buffer
	if err := PNG(&p, in); err != nil {
		t.Fatal(err)
	}
}

package chart

import (
	"bytes"
	"fmt"
	"image/png"
	"os"
	"strings"
	"testing"
	"time"
)

func sample() Input {
	in := Input{Title: "Estimated userbase", Updated: time.Date(2026, 11, 29, 4, 0, 0, 0, time.UTC), Current: "2026-11", Months: map[string]map[string]Bar{}}
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 35; i++ {
		m := start.AddDate(0, i, 0).Format("2006-01")
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
	if err := PNG(&b, Input{Current: "2026-11"}); err != nil {
		t.Fatal(err)
	}
	if err := SVG(&b, Input{Current: "bad"}); err == nil {
		t.Error("a bad current month was accepted")
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

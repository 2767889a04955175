package chart

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"depot/internal/month"
)

// Bar is one release's figures in one month: distinct clearnet addresses
// and estimated Tor users.
type Bar struct{ Plain, Tor int64 }

// Input is what the chart shows.
type Input struct {
	Title   string
	Updated time.Time // the footer's "last updated"
	// Current is the current month. When it has figures it is drawn in
	// lighter shades, because it is incomplete. It must be set.
	Current month.Month
	// Months maps a month to release to figures. The pseudo-release "any"
	// is ignored (releases are stacked), except in the current month when
	// it has nothing else: published as its totals only, it is drawn as
	// one grey bar.
	Months map[month.Month]map[string]Bar
	// MinCount and Below: releases whose figures in a month were left out
	// for counting fewer than MinCount addresses; their legend entries say
	// "< MinCount".
	MinCount int
	Below    map[month.Month][]string // month -> releases
}

// MinSpan is the fewest months the chart is wide: it starts with the
// first month with figures and ends with the last, or MinSpan-1 months
// after the first, whichever is later, so that a few months of figures
// are drawn as a few bars of a year rather than as wide blocks.
const MinSpan = 12

// Size of the picture.
const (
	Width  = 10 * vg.Inch
	Height = 5.5 * vg.Inch
	DPI    = 110
)

// SVG writes the chart as SVG. Each text element is given the width the
// layout measured (textLength), so that a browser without the chart's
// font draws the text with another one in the same space: nothing
// overflows the picture or another element.
func SVG(w io.Writer, in Input) error {
	c := vgsvg.New(Width, Height)
	if err := draw1(c, in); err != nil {
		return err
	}
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return err
	}
	_, err := w.Write(fitText(buf.Bytes()))
	return err
}

// PNG writes the chart as PNG.
func PNG(w io.Writer, in Input) error {
	c := vgimg.NewWith(vgimg.UseWH(Width, Height), vgimg.UseDPI(DPI), vgimg.UseBackgroundColor(color.White))
	if err := draw1(c, in); err != nil {
		return err
	}
	_, err := vgimg.PngCanvas{Canvas: c}.WriteTo(w)
	return err
}

// span returns the months to draw (see MinSpan) and the index of the
// current month among them if it has figures, or -1. With no figures at
// all it is the MinSpan months ending with the current one.
func span(in Input) (months []month.Month, current int) {
	var first, last month.Month
	_, totals := in.totalsOnly(in.Current)
	for m, rels := range in.Months {
		if hasFigures(rels) || (totals && m == in.Current) {
			if first.IsZero() || m.Before(first) {
				first = m
			}
			if m.After(last) {
				last = m
			}
		}
	}
	if first.IsZero() {
		first, last = in.Current.Add(1-MinSpan), in.Current
	}
	if end := first.Add(MinSpan - 1); end.After(last) {
		last = end
	}
	months = month.Range(first, last)
	current = -1
	if hasFigures(in.Months[in.Current]) || totals {
		current = slices.Index(months, in.Current)
	}
	return months, current
}

// hasFigures reports whether a month has a non-zero figure for a release.
func hasFigures(rels map[string]Bar) bool {
	for rel, b := range rels {
		if rel != "any" && b.Plain+b.Tor > 0 {
			return true
		}
	}
	return false
}

// totalsOnly is the "any" bar of the current month when it has nothing
// else (published as totals only).
func (in Input) totalsOnly(m month.Month) (Bar, bool) {
	b, ok := in.Months[m]["any"]
	return b, ok && m == in.Current && len(in.Months[m]) == 1 && b.Plain+b.Tor > 0
}

func draw1(c vg.CanvasSizer, in Input) error {
	if in.Current.IsZero() {
		return errors.New("chart: no current month")
	}
	months, current := span(in)
	n := len(months)
	releases := releasesIn(in.Months, months)

	p := plot.New()
	p.Title.Text = in.Title
	if p.Title.Text == "" {
		p.Title.Text = "Estimated userbase"
	}
	p.Title.TextStyle.Font.Size = vg.Points(16)
	p.Y.Label.Text = "Unique IP addresses"
	p.Y.Label.TextStyle.Font.Size = vg.Points(12)
	p.Y.Min = 0
	p.Y.Tick.Marker = thousands{}
	p.Add(plotter.NewGrid())
	p.X.Min, p.X.Max = -0.7, float64(n)-0.3

	// The legend has a column of its own, right of the plot: inside it, it
	// covered bars and gridlines.
	legend := plot.NewLegend()
	legend.TextStyle.Font.Size = vg.Points(10)
	legend.Top, legend.Left = true, true
	legend.Padding = vg.Points(4) // a line apart, in any font

	w, _ := c.Size()
	legendWidth := vg.Points(0)
	labels := []string{"all releases via Tor (in progress)"}
	for _, rel := range releases {
		labels = append(labels, rel+" via Tor", rel+in.belowNote(rel, months, false))
	}
	for _, l := range labels {
		legendWidth = max(legendWidth, legend.ThumbnailWidth+legend.TextStyle.Rectangle("  "+l).Max.X)
	}
	legendWidth += vg.Points(12)
	plotWidth := w - legendWidth - vg.Points(76) // less the Y axis and its labels, and the margin
	p.X.Tick.Marker = monthTicks(months, p.X.Tick.Label.Font.Size, plotWidth)
	barWidth := plotWidth / vg.Length(n) * 0.72

	// Two stacks: past months at full strength, the current month pale.
	var below, belowCur *plotter.BarChart
	hues := [...]float64{210, 25, 130, 280, 0, 175, 50, 320} // well apart for up to eight releases
	for i, rel := range releases {
		hue := float64(i) * 360 / float64(max(len(releases), 1))
		if len(releases) <= len(hues) {
			hue = hues[i]
		}
		for _, part := range []struct {
			label string
			tor   bool
			light float64
		}{{rel, false, 0.38}, {rel + " via Tor", true, 0.68}} {
			vals := make(plotter.Values, n)
			curVals := make(plotter.Values, n)
			for j, m := range months {
				b := in.Months[m][rel]
				v := float64(b.Plain)
				if part.tor {
					v = float64(b.Tor)
				}
				if j == current {
					curVals[j] = v
				} else {
					vals[j] = v
				}
			}
			full, err := bars(vals, barWidth, hsl(hue, 0.55, part.light))
			if err != nil {
				return err
			}
			pale, err := bars(curVals, barWidth, blend(hsl(hue, 0.55, part.light), 0.5))
			if err != nil {
				return err
			}
			if below != nil {
				full.StackOn(below)
				pale.StackOn(belowCur)
			}
			below, belowCur = full, pale
			p.Add(full, pale)
			legend.Add(part.label+in.belowNote(rel, months, part.tor), full)
		}
	}
	// A month published as totals only: one grey bar, clearnet and Tor.
	for _, part := range []struct {
		label string
		tor   bool
		light float64
	}{{"all releases", false, 0.45}, {"all releases via Tor", true, 0.72}} {
		vals, any := make(plotter.Values, n), false
		for j, m := range months {
			if b, ok := in.totalsOnly(m); ok {
				vals[j], any = float64(b.Plain), true
				if part.tor {
					vals[j] = float64(b.Tor)
				}
			}
		}
		if !any {
			break
		}
		grey, err := bars(vals, barWidth, blend(hsl(0, 0, part.light), 0.4))
		if err != nil {
			return err
		}
		if part.tor {
			grey.StackOn(below)
		}
		below = grey
		p.Add(grey)
		legend.Add(part.label+" (in progress)", grey)
	}
	top := 0.0
	for _, m := range months {
		sum := 0.0
		for _, rel := range releases {
			sum += float64(in.Months[m][rel].Plain + in.Months[m][rel].Tor)
		}
		if b, ok := in.totalsOnly(m); ok {
			sum = float64(b.Plain + b.Tor)
		}
		top = max(top, sum)
	}
	p.Y.Max = top * 1.05
	if top == 0 {
		p.Y.Max = 10
		p.Title.Text += " (no data yet)"
	}

	// A margin all round: a browser without the chart's font draws text
	// in one whose lines are taller, which the layout does not know.
	const margin = 6
	dc := draw.New(c)
	footer := vg.Points(26)
	p.Draw(draw.Crop(dc, vg.Points(margin), -legendWidth, footer, -vg.Points(margin)))
	// The legend's column starts below the title's line.
	legend.Draw(draw.Crop(dc, w-legendWidth+vg.Points(4), 0, footer, -vg.Points(34)))
	sty := draw.TextStyle{
		Color:   color.Gray{Y: 0x40},
		Font:    font.From(plot.DefaultFont, vg.Points(10)),
		Handler: plot.DefaultTextHandler,
	}
	updated := "never"
	if !in.Updated.IsZero() {
		updated = in.Updated.UTC().Format("2006-01-02 15:04 UTC")
	}
	note := "Last updated " + updated + ".  Lighter part of each colour: Tor users (estimated)."
	if current >= 0 {
		note += "  " + in.Current.String() + " is in progress (paler)."
	}
	dc.FillText(sty, vg.Point{X: dc.Min.X + vg.Points(8), Y: dc.Min.Y + vg.Points(8)}, note)
	return nil
}

func bars(vals plotter.Values, width vg.Length, c color.Color) (*plotter.BarChart, error) {
	b, err := plotter.NewBarChart(vals, width)
	if err != nil {
		return nil, err
	}
	b.Color = c
	b.LineStyle.Width = 0
	return b, nil
}

// belowNote is what a release's legend entry adds when some of its cells
// were left out for counting too few addresses.
func (in Input) belowNote(rel string, months []month.Month, tor bool) string {
	if tor || in.MinCount <= 0 {
		return ""
	}
	for _, m := range months {
		if slices.Contains(in.Below[m], rel) {
			return fmt.Sprintf(" (< %d in some months)", in.MinCount)
		}
	}
	return ""
}

// releasesIn lists the releases with a non-zero figure in the months drawn,
// sorted by version.
func releasesIn(data map[month.Month]map[string]Bar, months []month.Month) []string {
	seen := map[string]bool{}
	for _, m := range months {
		for rel, b := range data[m] {
			if rel != "any" && b.Plain+b.Tor > 0 {
				seen[rel] = true
			}
		}
	}
	var out []string
	for rel := range seen {
		out = append(out, rel)
	}
	slices.SortFunc(out, CompareVersions)
	return out
}

// CompareVersions orders release names as versions: runs of digits compare
// as numbers, so r4.2 < r4.10.
func CompareVersions(a, b string) int {
	for a != "" && b != "" {
		da, db := digitRun(a), digitRun(b)
		if da > 0 && db > 0 {
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if c := len(na) - len(nb); c != 0 {
				return c
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return int(a[0]) - int(b[0])
		}
		a, b = a[1:], b[1:]
	}
	return len(a) - len(b)
}

func digitRun(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}

// monthTicks marks every month and labels every k-th, counting back from
// the last, with the smallest k of 1, 2, 3, 4, 6 and 12 whose labels fit
// side by side in width.
func monthTicks(months []month.Month, size vg.Length, width vg.Length) plot.ConstantTicks {
	face := font.DefaultCache.Lookup(plot.DefaultFont, size)
	label := face.Width("2026-12") + vg.Points(12)
	k := 12
	for _, step := range []int{1, 2, 3, 4, 6, 12} {
		if vg.Length((len(months)+step-1)/step)*label <= width {
			k = step
			break
		}
	}
	var ticks plot.ConstantTicks
	for i, m := range months {
		t := plot.Tick{Value: float64(i)}
		if (len(months)-1-i)%k == 0 {
			t.Label = m.String()
		}
		ticks = append(ticks, t)
	}
	return ticks
}

// thousands is the default tick marker with integer labels.
type thousands struct{}

func (thousands) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = fmt.Sprintf("%d", int64(math.Round(ticks[i].Value)))
		}
	}
	return ticks
}

func hsl(h, s, l float64) color.Color {
	c := (1 - math.Abs(2*l-1)) * s
	hp := math.Mod(h, 360) / 60
	x := c * (1 - math.Abs(math.Mod(hp, 2)-1))
	var r, g, b float64
	switch {
	case hp < 1:
		r, g = c, x
	case hp < 2:
		r, g = x, c
	case hp < 3:
		g, b = c, x
	case hp < 4:
		g, b = x, c
	case hp < 5:
		r, b = x, c
	default:
		r, b = c, x
	}
	m := l - c/2
	return color.NRGBA{uint8(255 * (r + m)), uint8(255 * (g + m)), uint8(255 * (b + m)), 255}
}

// blend mixes c with white; f is white's share.
func blend(c color.Color, f float64) color.Color {
	r, g, b, _ := c.RGBA()
	mix := func(v uint32) uint8 { return uint8(float64(v>>8)*(1-f) + 255*f) }
	return color.NRGBA{mix(r), mix(g), mix(b), 255}
}

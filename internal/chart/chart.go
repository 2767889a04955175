package chart

import (
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
)

// Bar is one release's figures in one month: distinct clearnet addresses
// and estimated Tor users.
type Bar struct{ Plain, Tor int64 }

// Input is what the chart shows.
type Input struct {
	Title   string
	Updated time.Time // the footer's "last updated"
	// Current is the current month ("YYYY-MM"), drawn in lighter shades
	// because it is incomplete. The chart ends with it.
	Current string
	// Months maps "YYYY-MM" to release to figures. The pseudo-release
	// "any" is ignored: releases are stacked.
	Months map[string]map[string]Bar
}

// Span is how many months the chart shows, ending with the current one.
const Span = 36

// Size of the picture.
const (
	Width  = 10 * vg.Inch
	Height = 5.5 * vg.Inch
	DPI    = 110
)

// SVG writes the chart as SVG.
func SVG(w io.Writer, in Input) error {
	c := vgsvg.New(Width, Height)
	if err := draw1(c, in); err != nil {
		return err
	}
	_, err := c.WriteTo(w)
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

func draw1(c vg.CanvasSizer, in Input) error {
	cur, err := time.Parse("2006-01", in.Current)
	if err != nil {
		return fmt.Errorf("chart: current month %q: %w", in.Current, err)
	}
	months := make([]string, Span)
	for i := range months {
		months[i] = cur.AddDate(0, i-Span+1, 0).Format("2006-01")
	}
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
	p.X.Tick.Marker = monthTicks(months)
	p.X.Min, p.X.Max = -0.7, float64(Span)-0.3
	p.Legend.Top = true
	p.Legend.Left = true
	p.Legend.TextStyle.Font.Size = vg.Points(10)

	w, _ := c.Size()
	barWidth := (w - vg.Points(90)) / Span * 0.72
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
			vals := make(plotter.Values, Span)
			curVals := make(plotter.Values, Span)
			for j, m := range months {
				b := in.Months[m][rel]
				v := float64(b.Plain)
				if part.tor {
					v = float64(b.Tor)
				}
				if j == Span-1 {
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
			p.Legend.Add(part.label, full)
		}
	}
	// Headroom above the highest bar for the legend in the top-left corner.
	top := 0.0
	for _, m := range months {
		sum := 0.0
		for _, rel := range releases {
			sum += float64(in.Months[m][rel].Plain + in.Months[m][rel].Tor)
		}
		top = max(top, sum)
	}
	p.Y.Max = top * (1.1 + 0.045*float64(2*len(releases)))
	if len(releases) == 0 {
		p.Y.Max = 10
		p.Title.Text += " (no data yet)"
	}

	dc := draw.New(c)
	footer := vg.Points(26)
	p.Draw(draw.Crop(dc, 0, 0, footer, 0))
	sty := draw.TextStyle{
		Color:   color.Gray{Y: 0x40},
		Font:    font.From(plot.DefaultFont, vg.Points(10)),
		Handler: plot.DefaultTextHandler,
	}
	updated := "never"
	if !in.Updated.IsZero() {
		updated = in.Updated.UTC().Format("2006-01-02 15:04 UTC")
	}
	dc.FillText(sty, vg.Point{X: dc.Min.X + vg.Points(8), Y: dc.Min.Y + vg.Points(8)},
		"Last updated "+updated+".  Lighter part of each colour: Tor users (estimated).  "+
			in.Current+" is in progress (paler).")
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

// releasesIn lists the releases with a non-zero figure in the window,
// sorted by version.
func releasesIn(data map[string]map[string]Bar, months []string) []string {
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

// monthTicks labels every third month and marks the others.
func monthTicks(months []string) plot.ConstantTicks {
	var ticks plot.ConstantTicks
	for i, m := range months {
		label := ""
		if (len(months)-1-i)%3 == 0 {
			label = m
		}
		ticks = append(ticks, plot.Tick{Value: float64(i), Label: label})
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

package stats

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"depot/internal/atomicfile"
	"depot/internal/chart"
)

// WriteTable writes months of d (all when nil), newest first, as
// "plain+tor" per release ("<N" for a cell left out below min_count), with each month's note: what depot stats show
// and update print.
func WriteTable(w io.Writer, d *Data, months []string) {
	if d.Title != "" {
		fmt.Fprintln(w, d.Title)
	}
	rels := d.Releases()
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "month\t")
	for _, r := range rels {
		fmt.Fprintf(tw, "%s\t", r)
	}
	fmt.Fprintln(tw, " ")
	want := map[string]bool{}
	for _, m := range months {
		want[m] = true
	}
	for _, m := range d.MonthNames() {
		if months != nil && !want[m] {
			continue
		}
		fmt.Fprintf(tw, "%s\t", m)
		for _, r := range rels {
			if f, ok := d.Months[m][r]; ok {
				fmt.Fprintf(tw, "%d+%d\t", f.Plain, f.Tor)
			} else if d.Below(m, r) {
				fmt.Fprintf(tw, "<%d\t", d.MinCount)
			} else {
				fmt.Fprint(tw, "-\t")
			}
		}
		fmt.Fprintf(tw, " %s\n", d.Note(m))
	}
	tw.Flush()
	fmt.Fprintln(w, "figures: clearnet IPv4 addresses + estimated Tor users")
	if !d.LastUpdated.IsZero() {
		fmt.Fprintf(w, "last updated %s\n", d.LastUpdated.UTC().Format("2006-01-02 15:04 UTC"))
	}
}

// WriteCharts draws the chart of the data file as of now into prefix.svg
// and prefix.png, each written whole (atomicfile) or not at all.
func WriteCharts(prefix, dataFile string, now time.Time) error {
	d, err := Load(dataFile)
	if err != nil {
		return err
	}
	in := d.ChartInput(now)
	for ext, draw := range map[string]func(io.Writer, chart.Input) error{".svg": chart.SVG, ".png": chart.PNG} {
		if err := atomicfile.Write(prefix+ext, 0o644, func(w io.Writer) error { return draw(w, in) }); err != nil {
			return err
		}
	}
	return nil
}

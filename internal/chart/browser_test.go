package chart

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"depot/internal/month"
	"depot/internal/testtool"
)

// runChromium runs headless Chromium on a local file with extra flags and
// returns its standard output. Its proxy is a closed port: it reaches
// nothing on the network.
func runChromium(t *testing.T, browser, page string, extra ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(), "--proxy-server=http://127.0.0.1:9",
		"--allow-file-access-from-files",
	}, extra...)
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, browser, append(args, "file://"+page)...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, errb.String())
	}
	return out.String()
}

// measure is the script that the test page runs: for each chart, every
// drawn element whose box leaves the picture, and every pair of text
// elements whose boxes overlap, as Chromium lays them out with the fonts
// it has (this machine, like many visitors', may lack Liberation Serif).
const measure = `
const out = [];
document.querySelectorAll('svg').forEach((svg, i) => {
  const r = svg.getBoundingClientRect();
  const rel = b => [b.left - r.left, b.top - r.top, b.right - r.left, b.bottom - r.top].map(v => Math.round(v * 10) / 10);
  const texts = [];
  svg.querySelectorAll('text, path, rect, line').forEach(el => {
    const b = el.getBoundingClientRect();
    if (b.width === 0 && b.height === 0) return;
    if (b.left < r.left - 0.5 || b.top < r.top - 0.5 || b.right > r.right + 0.5 || b.bottom > r.bottom + 0.5) {
      out.push({chart: i, problem: 'outside the picture ' + rel(r), tag: el.tagName, text: el.textContent, box: rel(b)});
    }
    if (el.tagName === 'text') texts.push([el, b]);
  });
  for (let a = 0; a < texts.length; a++) {
    for (let c = a + 1; c < texts.length; c++) {
      const p = texts[a][1], q = texts[c][1];
      if (p.left < q.right - 1 && q.left < p.right - 1 && p.top < q.bottom - 1 && q.top < p.bottom - 1) {
        out.push({chart: i, problem: 'text overlaps ' + JSON.stringify(texts[c][0].textContent) + ' ' + rel(q), tag: 'text', text: texts[a][0].textContent, box: rel(p)});
      }
    }
  }
});
document.getElementById('out').textContent = JSON.stringify(out);
`

// TestSVGFitsInChromium renders charts of several shapes in headless
// Chromium and fails if any element is drawn outside the picture (the
// page showed the last month's label cut off) or if two texts overlap. A
// screenshot of the test page is written to $CHART_OUT when set, to look
// at.
func TestSVGFitsInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser; skipped with -short")
	}
	browser := testtool.Path(t, "chromium", "chromium-browser", "google-chrome")
	cases := testCharts()
	var page strings.Builder
	page.WriteString("<!DOCTYPE html><html><head><meta charset=utf-8></head><body style=\"margin:0\">\n")
	for _, c := range cases {
		var svg bytes.Buffer
		if err := SVG(&svg, c.in); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		body := svg.String()
		body = body[strings.Index(body, "<svg"):] // inline: without the XML prolog
		fmt.Fprintf(&page, "<h2>%s</h2>\n<div>%s</div>\n", html.EscapeString(c.name), body)
	}
	page.WriteString("<pre id=\"out\">not measured</pre>\n<script>" + measure + "</script>\n</body></html>\n")
	file := filepath.Join(t.TempDir(), "charts.html")
	if err := os.WriteFile(file, []byte(page.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	dom := runChromium(t, browser, file, "--dump-dom")
	m := regexp.MustCompile(`<pre id="out">([^<]*)</pre>`).FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("the page's measurements are missing from the DOM:\n%.2000s", dom)
	}
	var problems []struct {
		Chart        int
		Problem, Tag string
		Text         string
		Box          []float64
	}
	if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &problems); err != nil {
		t.Fatalf("measurements %q: %v", m[1], err)
	}
	for _, p := range problems {
		t.Errorf("%s: <%s> %q at %v: %s", cases[p.Chart].name, p.Tag, p.Text, p.Box, p.Problem)
	}
	if dir := os.Getenv("CHART_OUT"); dir != "" {
		shot := filepath.Join(dir, "charts-in-chromium.png")
		runChromium(t, browser, file, "--screenshot="+shot, fmt.Sprintf("--window-size=1000,%d", 620*len(cases)), "--hide-scrollbars")
		t.Logf("screenshot: %s", shot)
	}
}

// testCharts are the shapes a chart takes: three months of figures, three
// years, the month in progress, no figures, many releases with long names.
func testCharts() []struct {
	name string
	in   Input
} {
	three := Input{Title: "Estimated userbase", Updated: time.Date(2026, 11, 29, 4, 0, 0, 0, time.UTC), Current: month.MustParse("2026-11"),
		Months: map[month.Month]map[string]Bar{
			month.MustParse("2026-09"): {"r4.2": {Plain: 700, Tor: 120}, "r4.1": {Plain: 150, Tor: 30}},
			month.MustParse("2026-10"): {"r4.2": {Plain: 760, Tor: 130}, "r4.1": {Plain: 100, Tor: 20}},
			month.MustParse("2026-11"): {"r4.2": {Plain: 241, Tor: 56}},
		}}
	many := Input{Title: "Estimated userbase of a project with a rather long name", Current: month.MustParse("2026-11"), Months: map[month.Month]map[string]Bar{}}
	for i := range 60 {
		m := month.Date(2022, time.January).Add(i)
		rels := map[string]Bar{}
		for j, rel := range []string{"bookworm-security", "trixie", "r4.2", "r4.3", "fc41", "fc42", "sid", "r4.10"} {
			rels[rel] = Bar{Plain: int64(100000 + 1000*i*j), Tor: int64(20000 + 150*i)}
		}
		many.Months[m] = rels
	}
	return []struct {
		name string
		in   Input
	}{
		{"three months", three},
		{"three years, the last in progress", sample()},
		{"no figures yet", Input{Current: month.MustParse("2026-11")}},
		{"five years, eight releases, large figures", many},
	}
}

package stats

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"depot/internal/chart"
	"depot/internal/month"
)

// PageOptions configure the statistics page of one site.
type PageOptions struct {
	// DataFile is the JSON data file that Update writes.
	DataFile string
	// Prefix is the site's stats_path, such as "/statistics/". The handler
	// answers Prefix (the HTML page), Prefix+"style.css",
	// Prefix+"stats.json", Prefix+"stats.svg" and Prefix+"stats.png", and
	// 404 for anything else.
	Prefix string
	// Now is the clock (the chart's current month); nil means time.Now.
	Now func() time.Time
	// Logf receives errors that the client sees only as a 500; nil
	// discards them.
	Logf func(format string, args ...any)
}

// Page serves the statistics of one data file. The HTML has no script and
// no inline style, so it works in Tor Browser's safest mode under a strict
// Content-Security-Policy. Renderings are cached until the data file
// changes.
type Page struct {
	opts PageOptions

	mu     sync.Mutex
	stamp  string // data file's mtime and size when cache was filled
	day    string // current month of the cached chart
	cached map[string][]byte
}

// NewPage returns the handler for opts.Prefix.
func NewPage(opts PageOptions) *Page {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if !strings.HasSuffix(opts.Prefix, "/") {
		opts.Prefix += "/"
	}
	return &Page{opts: opts}
}

// contentType is the type of each resource the page serves; ok is false
// for any other name.
func contentType(name string) (ctype string, ok bool) {
	switch name {
	case "":
		return "text/html; charset=utf-8", true
	case "style.css":
		return "text/css; charset=utf-8", true
	case "stats.json":
		return "application/json", true
	case "stats.svg":
		return "image/svg+xml", true
	case "stats.png":
		return "image/png", true
	}
	return "", false
}

func (p *Page) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutPrefix(r.URL.Path, p.opts.Prefix)
	ctype, known := contentType(name)
	if !ok || !known {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed) // RFC 9110 §15.5.6
		return
	}
	body, mod, err := p.render(name)
	if errors.Is(err, fs.ErrNotExist) && name == "stats.json" {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		if p.opts.Logf != nil {
			p.opts.Logf("stats page: %s: %v", r.URL.Path, err)
		}
		http.Error(w, "internal server error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("X-Content-Type-Options", "nosniff")
	// Same-origin resources only; nothing runs. Safest mode needs no more.
	h.Set("Content-Security-Policy", "default-src 'none'; img-src 'self'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
	h.Set("Cache-Control", "max-age=3600")
	http.ServeContent(w, r, name, mod, bytes.NewReader(body))
}

// render returns the named resource, from the cache when the data file has
// not changed.
func (p *Page) render(name string) ([]byte, time.Time, error) {
	if name == "style.css" {
		return []byte(styleCSS), time.Time{}, nil
	}
	st, statErr := os.Stat(p.opts.DataFile)
	stamp, mod := "missing", time.Time{}
	if statErr == nil {
		stamp, mod = fmt.Sprint(st.ModTime().UnixNano(), st.Size()), st.ModTime()
	} else if !errors.Is(statErr, fs.ErrNotExist) {
		return nil, time.Time{}, statErr
	}
	if name == "stats.json" {
		if statErr != nil {
			return nil, time.Time{}, statErr
		}
		b, err := os.ReadFile(p.opts.DataFile)
		return b, mod, err
	}
	now := p.opts.Now()
	month := month.Of(now).String()

	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stamp != stamp || p.day != month {
		p.stamp, p.day, p.cached = stamp, month, map[string][]byte{}
	}
	if b, ok := p.cached[name]; ok {
		return b, mod, nil
	}
	d := &Data{Months: map[string]map[string]Figures{}}
	if statErr == nil {
		var err error
		if d, err = Load(p.opts.DataFile); err != nil {
			return nil, time.Time{}, err
		}
	}
	var buf bytes.Buffer
	var err error
	switch name {
	case "":
		err = pageTemplate.Execute(&buf, pageView(d))
	case "stats.svg":
		err = chart.SVG(&buf, d.ChartInput(now))
	case "stats.png":
		err = chart.PNG(&buf, d.ChartInput(now))
	}
	if err != nil {
		return nil, time.Time{}, err
	}
	p.cached[name] = buf.Bytes()
	return buf.Bytes(), mod, nil
}

type viewRow struct {
	Month string
	Cells []viewCell
	Note  string
}

type viewCell struct {
	Plain, Tor int64
	Present    bool
	Below      int // left out for having fewer distinct addresses than this
}

type view struct {
	Title, Comment, Updated string
	Releases                []string
	Rows                    []viewRow
}

func pageView(d *Data) view {
	v := view{Title: d.Title, Comment: d.Comment, Releases: d.Releases()}
	if v.Title == "" {
		v.Title = "Estimated userbase"
	}
	if !d.LastUpdated.IsZero() {
		v.Updated = d.LastUpdated.UTC().Format("2006-01-02 15:04 UTC")
	}
	for _, m := range d.MonthNames() {
		row := viewRow{Month: m, Note: d.Note(m)}
		for _, r := range v.Releases {
			f, ok := d.Months[m][r]
			c := viewCell{Plain: f.Plain, Tor: f.Tor, Present: ok}
			if !ok && d.Below(m, r) {
				c.Below = d.MinCount
			}
			row.Cells = append(row.Cells, c)
		}
		v.Rows = append(v.Rows, row)
	}
	return v
}

// The page: a chart, a table, and how to read them. No script, no inline
// style (the stylesheet is served next to it).
var pageTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<link rel="stylesheet" href="style.css">
</head>
<body>
<nav><a href="/">Back to the site</a></nav>
<main>
<h1>{{.Title}}</h1>
{{with .Comment}}<p>{{.}}</p>{{end}}
<p><a href="stats.png"><img src="stats.svg" alt="Bar chart of monthly unique IP addresses per release; the lighter part of each bar is the estimated number of Tor users" width="1100" height="605"></a></p>
<p>Each month counts the distinct IPv4 addresses that checked for updates, per release and for all releases together ("any", not the sum: one address can check several releases). The second figure estimates users who came through Tor, from the share of requests sent by Tor exit relays. No address is published. Data: <a href="stats.json">stats.json</a>.</p>
{{if .Rows}}<table>
<thead><tr><th scope="col">Month</th>{{range .Releases}}<th scope="col">{{.}}</th>{{end}}<th scope="col">Note</th></tr></thead>
<tbody>
{{range .Rows}}<tr><th scope="row">{{.Month}}</th>{{range .Cells}}<td>{{if .Present}}{{.Plain}} + {{.Tor}}{{else if .Below}}&lt; {{.Below}}{{else}}–{{end}}</td>{{end}}<td>{{.Note}}</td></tr>
{{end}}</tbody>
</table>
<p>Cells read "clearnet + Tor".</p>{{else}}<p>No statistics have been computed yet.</p>{{end}}
{{with .Updated}}<p class="updated">Last updated {{.}}.</p>{{end}}
</main>
</body>
</html>
`))

const styleCSS = `nav { margin: 0 0 1em; }
body { font-family: sans-serif; margin: 1em auto; max-width: 72em; padding: 0 1em; color: #222; background: #fff; }
img { max-width: 100%; height: auto; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
thead th, tbody th { background: #f3f3f3; }
td:last-child { text-align: left; color: #555; font-size: 0.9em; }
.updated { color: #555; font-size: 0.9em; }
`

package mirrors

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"depot/internal/responder"
)

// Report is the status of every mirror, as the status page, its JSON and
// `depot mirrors status` show it.
type Report struct {
	Generated time.Time      `json:"generated"`
	Files     []FileReport   `json:"files"`
	Mirrors   []MirrorReport `json:"mirrors"`
	// StateFrom is set on a follower ([mirrors] checker = false): where
	// the mirrors' results come from.
	StateFrom *StateSource `json:"state_from,omitempty"`
}

// StateSource is a follower's view of the checking node.
type StateSource struct {
	Fetch
	// MaxAgeSeconds is how old a round's results may be to be offered
	// (two check intervals); older ones leave base_url alone in metalinks.
	MaxAgeSeconds int64 `json:"max_age_seconds"`
}

// FileReport is one origin file that mirrors are checked for.
type FileReport struct {
	Name      string    `json:"name"`
	Kind      string    `json:"kind"`
	Size      int64     `json:"size"`
	SHA256    string    `json:"sha256"`
	Timestamp int64     `json:"timestamp,omitempty"`
	Since     time.Time `json:"since"`    // current version first seen
	Versions  int       `json:"versions"` // kept in history, current included
}

// MirrorReport is one mirror.
type MirrorReport struct {
	Name      string    `json:"name"`
	URL       string    `json:"url"`
	Country   string    `json:"country,omitempty"`
	Continent string    `json:"continent,omitempty"`
	Trusted   bool      `json:"trusted"`
	LastCheck time.Time `json:"last_check,omitzero"`
	LastGood  time.Time `json:"last_success,omitzero"`
	// TooOld is set on a follower when the last round's results are older
	// than two check intervals: the mirror is not offered.
	TooOld    bool           `json:"too_old,omitempty"`
	LatencyMS int64          `json:"latency_ms"` // median over its files
	Counts    map[Status]int `json:"counts"`
	Files     []FileCheck    `json:"files"`
}

// FileCheck is one mirror × file.
type FileCheck struct {
	Name      string    `json:"name"`
	Status    Status    `json:"status"`
	SHA256    string    `json:"sha256,omitempty"` // of what the mirror served (index files)
	Size      int64     `json:"size,omitempty"`   // of what the mirror served
	Error     string    `json:"error,omitempty"`
	Checked   time.Time `json:"checked,omitzero"`
	OK        time.Time `json:"last_success,omitzero"`
	LatencyMS int64     `json:"latency_ms"`
}

// Status returns the report of the current state.
func (s *Service) Status() Report {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	rep := Report{Generated: now}
	if !s.cfg.Mirrors.IsChecker() {
		rep.StateFrom = &StateSource{Fetch: Fetch{URL: s.cfg.Mirrors.StateFrom}, MaxAgeSeconds: int64(s.MaxStateAge() / time.Second)}
		if f := s.state.From; f != nil && f.URL == s.cfg.Mirrors.StateFrom {
			rep.StateFrom.Fetch = *f
		}
	}
	names := make([]string, 0, len(s.state.Files))
	for name := range s.state.Files {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		f := s.state.Files[name]
		cur, _ := f.Current()
		rep.Files = append(rep.Files, FileReport{Name: name, Kind: f.Kind, Size: cur.Size, SHA256: cur.Hashes.SHA256,
			Timestamp: cur.Timestamp, Since: cur.Seen, Versions: len(f.Versions)})
	}
	for _, m := range s.cfg.Mirror {
		mr := MirrorReport{Name: m.Name, URL: m.URL, Country: m.Country, Continent: m.Continent, Counts: map[Status]int{}}
		ms := s.state.Mirrors[m.Name]
		if ms != nil {
			mr.Trusted, mr.LastCheck, mr.LastGood = ms.Trusted, ms.LastRound, ms.LastGood
			mr.TooOld = !s.usable(ms, now)
		}
		var lat []time.Duration
		for _, name := range names {
			f := s.state.Files[name]
			if !m.Carries(f.Kind) || !m.Holds(name) {
				continue
			}
			fc := FileCheck{Name: name, Status: Unchecked}
			if ms != nil {
				if r := ms.Files[name]; r != nil {
					fc.Status = classify(f, r, now, s.opts.Window)
					fc.Error, fc.Checked, fc.OK, fc.LatencyMS = r.Error, r.Checked, r.OK, r.Latency.Milliseconds()
					fc.SHA256, fc.Size = r.SHA256, r.Size
					if fc.Status == Stale && fc.Error == "" {
						fc.Error = "holds a version that is neither current nor among the recent ones"
					}
					if !r.Down {
						lat = append(lat, r.Latency)
					}
				}
			}
			mr.Counts[fc.Status]++
			mr.Files = append(mr.Files, fc)
		}
		if len(lat) > 0 {
			slices.Sort(lat)
			mr.LatencyMS = lat[len(lat)/2].Milliseconds()
		}
		rep.Mirrors = append(rep.Mirrors, mr)
	}
	return rep
}

// Summary is one word for a mirror: "ok" when trusted and every file is
// fresh, else what is most wrong.
func (mr MirrorReport) Summary() string {
	switch {
	case mr.LastCheck.IsZero():
		return "unchecked"
	case mr.TooOld:
		return "expired"
	case mr.Counts[Down] > 0:
		return "down"
	case !mr.Trusted:
		return "untrusted"
	case mr.Counts[Stale] > 0:
		return "stale"
	case mr.Counts[Behind] > 0:
		return "behind"
	case mr.Counts[Fresh] == 0:
		// The origin holds nothing to compare: the mirror was never
		// contacted, so "ok" would claim what nobody checked.
		return "nothing to check"
	}
	return "ok"
}

// State is the mirror's state in one of five words, as monitoring shows
// it: "fresh" (trusted, every file current), "behind", "stale", "down" (a
// check failed: the mirror is not used until a whole check succeeds) or
// "unchecked".
func (mr MirrorReport) State() string {
	switch mr.Summary() {
	case "ok":
		return "fresh"
	case "behind", "stale":
		return mr.Summary()
	case "down", "untrusted":
		return "down"
	}
	return "unchecked"
}

// WriteTable writes the report as a terminal table: one line per mirror,
// then one per mirror × file that is not fresh.
func WriteTable(w io.Writer, rep Report) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MIRROR\tSTATE\tFRESH\tBEHIND\tSTALE\tDOWN\tLATENCY\tLAST CHECK\tLAST SUCCESS")
	for _, m := range rep.Mirrors {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%dms\t%s\t%s\n", m.Name, m.Summary(), m.Counts[Fresh], m.Counts[Behind],
			m.Counts[Stale], m.Counts[Down], m.LatencyMS, fmtTime(m.LastCheck), fmtTime(m.LastGood))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var problems []string
	for _, m := range rep.Mirrors {
		for _, f := range m.Files {
			if f.Status != Fresh {
				line := fmt.Sprintf("  %s  %s  %s", m.Name, f.Status, f.Name)
				if f.Error != "" {
					line += "  (" + f.Error + ")"
				}
				problems = append(problems, line)
			}
		}
	}
	if len(problems) > 0 {
		fmt.Fprintf(w, "\nnot fresh (%d):\n%s\n", len(problems), strings.Join(problems, "\n"))
	}
	if src := rep.StateFrom; src != nil {
		fmt.Fprintf(w, "\nresults from the checking node %s, last fetched %s", src.URL, fmtTime(src.Fetched))
		if src.Error != "" {
			fmt.Fprintf(w, "; the last fetch failed: %s", src.Error)
		}
		fmt.Fprintf(w, "\n(results older than %s are not offered: metalinks then list base_url only)\n", time.Duration(src.MaxAgeSeconds)*time.Second)
	}
	_, err := fmt.Fprintf(w, "\n%d origin files, %d mirrors; report of %s\n", len(rep.Files), len(rep.Mirrors), fmtTime(rep.Generated))
	return err
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// statusCSS is the page's own stylesheet; the site's CSP (default-src
// 'self') forbids inline styles, and the page uses no script at all.
const statusCSS = `body{font-family:sans-serif;margin:1em auto;max-width:72em;padding:0 1em;color:#222;background:#fff}
table{border-collapse:collapse;margin:1em 0}th,td{padding:.2em .6em;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
.fresh,.ok{color:#0a6b0a}.behind{color:#8a6d00}.stale,.untrusted,.expired{color:#b35900}.down{color:#b00020;font-weight:bold}.unchecked{color:#666}
code{font-size:.9em}small{color:#555}
`

// writeHTML writes the status page: plain HTML, no script, only its
// same-origin stylesheet.
func writeHTML(w io.Writer, rep Report) {
	e := html.EscapeString
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Mirror status</title>\n")
	b.WriteString("<link rel=\"stylesheet\" href=\"status.css\"></head>\n<body>\n<h1>Mirror status</h1>\n")
	fmt.Fprintf(&b, "<p>Generated %s. <a href=\"status.json\">JSON</a>.</p>\n", e(fmtTime(rep.Generated)))
	b.WriteString("<table>\n<tr><th>Mirror</th><th>Location</th><th>State</th><th>Fresh</th><th>Behind</th><th>Stale</th><th>Down</th><th>Latency</th><th>Last check</th><th>Last success</th></tr>\n")
	for _, m := range rep.Mirrors {
		sum := m.Summary()
		fmt.Fprintf(&b, "<tr><td><a href=\"%s\">%s</a></td><td>%s</td><td class=\"%s\">%s</td><td>%d</td><td>%d</td><td>%d</td><td>%d</td><td>%d ms</td><td>%s</td><td>%s</td></tr>\n",
			e(m.URL), e(m.Name), e(strings.Trim(m.Country+" "+m.Continent, " ")), e(sum), e(sum),
			m.Counts[Fresh], m.Counts[Behind], m.Counts[Stale], m.Counts[Down], m.LatencyMS, e(fmtTime(m.LastCheck)), e(fmtTime(m.LastGood)))
	}
	b.WriteString("</table>\n<h2>Files</h2>\n")
	for _, m := range rep.Mirrors {
		fmt.Fprintf(&b, "<h3>%s</h3>\n<table>\n<tr><th>File</th><th>State</th><th>Checked</th><th>Last success</th><th>Latency</th><th>Detail</th></tr>\n", e(m.Name))
		for _, f := range m.Files {
			fmt.Fprintf(&b, "<tr><td><code>%s</code></td><td class=\"%s\">%s</td><td>%s</td><td>%s</td><td>%d ms</td><td>%s</td></tr>\n",
				e(f.Name), e(string(f.Status)), e(string(f.Status)), e(fmtTime(f.Checked)), e(fmtTime(f.OK)), f.LatencyMS, e(f.Error))
		}
		b.WriteString("</table>\n")
	}
	b.WriteString("<h2>Origin</h2>\n<table>\n<tr><th>File</th><th>Size</th><th>SHA-256</th><th>Current since</th><th>Versions kept</th></tr>\n")
	for _, f := range rep.Files {
		fmt.Fprintf(&b, "<tr><td><code>%s</code></td><td>%d</td><td><small><code>%s</code></small></td><td>%s</td><td>%d</td></tr>\n",
			e(f.Name), f.Size, e(f.SHA256), e(fmtTime(f.Since)), f.Versions)
	}
	b.WriteString("</table>\n</body></html>\n")
	_, _ = io.WriteString(w, b.String())
}

// statusResponder publishes the report under a site path: the HTML page at
// the path itself, status.json and status.css below it. The path without
// its trailing slash redirects to the page, as the statistics page does.
type statusResponder struct {
	s      *Service
	prefix string // starts and ends with "/"
}

func (sr statusResponder) Respond(w http.ResponseWriter, r *http.Request) (bool, error) {
	if responder.RedirectToSlash(w, r, sr.prefix) {
		return true, nil
	}
	rest, ok := strings.CutPrefix(r.URL.Path, sr.prefix)
	if !ok {
		return false, nil
	}
	var ct string
	switch rest {
	case "", "index.html":
		ct = "text/html; charset=utf-8"
	case "status.json":
		ct = "application/json"
	case "status.css":
		writeBody(w, r, "text/css; charset=utf-8", []byte(statusCSS))
		return true, nil
	default:
		return false, nil
	}
	key := "status|" + rest
	now := sr.s.opts.Now()
	sr.s.expire(now)
	gen := sr.s.gen.Load()
	body := sr.s.caches.get(key, gen, time.Time{}, 0, 0, now)
	if body == nil {
		rep := sr.s.Status()
		var b strings.Builder
		if ct == "application/json" {
			enc := json.NewEncoder(&b)
			enc.SetIndent("", " ")
			if err := enc.Encode(rep); err != nil {
				writeError(w, http.StatusInternalServerError)
				return true, err
			}
		} else {
			writeHTML(&b, rep)
		}
		body = []byte(b.String())
		sr.s.caches.put(key, &entry{gen: gen, built: now, body: body})
	}
	writeBody(w, r, ct, body)
	return true, nil
}

package site

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"slices"
	"strings"

	"golang.org/x/net/html"
)

// Rules a Finding can break. The names are stable: they appear in --json.
const (
	RuleThirdParty       = "third-party"       // a resource loaded from another origin
	RuleProtocolRelative = "protocol-relative" // a //host URL
	RuleInlineScript     = "inline-script"     // <script> without src
	RuleEventHandler     = "event-handler"     // an on*= attribute
	RuleJavaScriptURL    = "javascript-url"    // a javascript: URL
	RuleInlineStyle      = "inline-style"      // a style= attribute
	RuleStyleElement     = "style-element"     // a <style> element
	RuleMixedContent     = "mixed-content"     // http: to the site's own https origin
	RuleDataURL          = "data-url"          // a data: or blob: resource, blocked by the CSP
	RuleLink             = "link"              // an outbound link (listed, never an error)
)

// ErrOrigin is wrapped by the error Audit returns for a malformed
// AuditOptions.Origin: a usage mistake, not a problem with the site.
var ErrOrigin = errors.New("want a scheme and host only, such as https://www.example.org")

// AuditOptions tune Audit. The zero value audits with no known origin and
// lists no links.
type AuditOptions struct {
	// Origin is the site's public address, such as https://www.example.org.
	// Absolute URLs to it count as the site's own. Empty means every
	// absolute URL is another origin.
	Origin string
	// Links lists plain outbound links (<a href>, <area href>) to other
	// origins in Report.Links. They load nothing, so they are never errors.
	Links bool
}

// Finding is one problem (or, in Report.Links, one outbound link).
type Finding struct {
	File    string `json:"file"` // slash-separated, relative to the audited directory
	Line    int    `json:"line"`
	Rule    string `json:"rule"`
	Element string `json:"element,omitempty"` // "img", or "css" for a stylesheet
	Attr    string `json:"attr,omitempty"`    // "src", "url()", "@import"
	URL     string `json:"url,omitempty"`
	Message string `json:"message"`
}

func (f Finding) String() string {
	where := f.Element
	if f.Attr != "" {
		where += "[" + f.Attr + "]"
	}
	s := fmt.Sprintf("%s:%d: %s: %s", f.File, f.Line, f.Rule, where)
	if f.URL != "" {
		s += " " + f.URL
	}
	return s + ": " + f.Message
}

// Report is what Audit found.
type Report struct {
	Dir      string    `json:"dir"`
	Origin   string    `json:"origin,omitempty"`
	Files    int       `json:"files"` // HTML and CSS files audited
	Findings []Finding `json:"findings"`
	Links    []Finding `json:"links,omitempty"`
}

// OK reports whether the audit found no problem.
func (r Report) OK() bool { return len(r.Findings) == 0 }

// Audit parses every .html, .htm and .css file under dir and reports every
// resource loaded from another origin, every script, event handler and
// javascript: URL, every inline style, and mixed content. Symlinks are not
// followed. The error is for what stops the audit (an unreadable
// directory, a bad Origin); problems found are in Report.Findings.
func Audit(dir string, opts AuditOptions) (Report, error) {
	rep := Report{Dir: dir, Origin: opts.Origin, Findings: []Finding{}}
	a := auditor{opts: opts, rep: &rep}
	if opts.Origin != "" {
		u, err := url.Parse(opts.Origin)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return rep, fmt.Errorf("--origin %q: %w", opts.Origin, ErrOrigin)
		}
		a.origin = u
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return rep, err
	}
	defer root.Close()
	err = fs.WalkDir(root.FS(), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		ext := strings.ToLower(path.Ext(name))
		if ext != ".html" && ext != ".htm" && ext != ".css" {
			return nil
		}
		b, err := fs.ReadFile(root.FS(), name)
		if err != nil {
			return err
		}
		rep.Files++
		if ext == ".css" {
			a.css(name, string(b), 1, "css", "")
		} else {
			a.html(name, b)
		}
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("auditing %s: %w", dir, err)
	}
	return rep, nil
}

type auditor struct {
	opts   AuditOptions
	origin *url.URL // nil if no origin was given
	rep    *Report
}

func (a *auditor) add(f Finding) {
	if f.Rule == RuleLink {
		if a.opts.Links {
			a.rep.Links = append(a.rep.Links, f)
		}
		return
	}
	a.rep.Findings = append(a.rep.Findings, f)
}

// navigationalRels are <link rel> values that load nothing.
var navigationalRels = []string{
	"alternate", "author", "bookmark", "canonical", "external", "help", "license",
	"me", "next", "nofollow", "noopener", "noreferrer", "prev", "previous",
	"privacy-policy", "search", "tag", "terms-of-service", "edit",
}

// html audits one HTML document, tracking lines from the raw tokens.
func (a *auditor) html(file string, b []byte) {
	z := html.NewTokenizer(strings.NewReader(string(b)))
	line := 1
	inStyle := false
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			if !errors.Is(z.Err(), io.EOF) {
				a.add(Finding{File: file, Line: line, Rule: "parse-error", Message: z.Err().Error()})
			}
			return
		}
		raw := string(z.Raw())
		start := line
		line += strings.Count(raw, "\n")
		switch tt {
		case html.TextToken:
			if inStyle {
				a.css(file, raw, start, "style", "")
			}
		case html.EndTagToken:
			if name, _ := z.TagName(); string(name) == "style" {
				inStyle = false
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			t := z.Token()
			a.tag(file, start, raw, t)
			if tt == html.StartTagToken {
				inStyle = t.Data == "style"
			}
		}
	}
}

// tag audits one start tag. raw is its source, for the lines of attributes
// that span several lines.
func (a *auditor) tag(file string, line int, raw string, t html.Token) {
	el := t.Data
	lower := asciiLower(raw) // same length as raw, so indexes carry over
	attrLine := func(key string) int {
		// The line the attribute starts on: the first occurrence of key
		// after whitespace and before "=" (so "src" does not match
		// "data-src="). Best effort; the tag's line otherwise.
		for off := 0; ; {
			i := strings.Index(lower[off:], key)
			if i < 0 {
				return line
			}
			i += off
			off = i + len(key)
			if j := skipSpace(lower, off); i > 0 && isSpace(lower[i-1]) &&
				(j == len(lower) || j > off || lower[j] == '=' || lower[j] == '>' || lower[j] == '/') {
				return line + strings.Count(raw[:i], "\n")
			}
		}
	}
	get := func(key string) (string, bool) {
		for _, at := range t.Attr {
			if at.Namespace == "" && at.Key == key {
				return at.Val, true
			}
		}
		return "", false
	}
	switch el {
	case "script":
		if _, ok := get("src"); !ok && !isDataBlock(t) {
			a.add(Finding{File: file, Line: line, Rule: RuleInlineScript, Element: el,
				Message: "inline scripts are blocked by the CSP and the site must work without scripts; remove it"})
		}
	case "style":
		a.add(Finding{File: file, Line: line, Rule: RuleStyleElement, Element: el,
			Message: "<style> is blocked by the CSP (no 'unsafe-inline'); move the rules to a .css file"})
	}
	for _, at := range t.Attr {
		key := at.Key
		if at.Namespace != "" {
			key = at.Namespace + ":" + at.Key
		}
		l := attrLine(key)
		switch {
		case strings.HasPrefix(at.Key, "on") && len(at.Key) > 2:
			a.add(Finding{File: file, Line: l, Rule: RuleEventHandler, Element: el, Attr: key,
				Message: "event handlers are scripts, blocked by the CSP; remove it"})
			continue
		case at.Key == "style":
			a.add(Finding{File: file, Line: l, Rule: RuleInlineStyle, Element: el, Attr: key,
				Message: "style= is blocked by the CSP (no 'unsafe-inline'); use a class and a .css file"})
			a.css(file, at.Val, l, el, "style")
			continue
		}
		kind := urlAttrKind(t, at.Key)
		if kind == notURL {
			continue
		}
		vals := []string{at.Val}
		switch {
		case at.Key == "srcset" || at.Key == "imagesrcset":
			vals = srcsetURLs(at.Val)
		case el == "meta":
			vals = []string{refreshURL(at.Val)}
		case at.Key == "ping":
			vals = strings.Fields(at.Val)
		}
		for _, v := range vals {
			a.url(file, l, el, key, v, kind)
		}
	}
}

// isDataBlock reports whether a <script> is a data block (JSON, JSON-LD,
// templates) that browsers never execute.
func isDataBlock(t html.Token) bool {
	for _, at := range t.Attr {
		if at.Key == "type" {
			ty := strings.ToLower(strings.TrimSpace(at.Val))
			switch ty {
			case "", "text/javascript", "module", "application/javascript", "text/ecmascript", "application/ecmascript":
				return false
			}
			return true
		}
	}
	return false
}

type urlKind int

const (
	notURL     urlKind = iota
	resource           // loaded by the browser as the page renders
	navigation         // followed only when the user clicks
)

// urlAttrKind classifies an attribute of a tag.
func urlAttrKind(t html.Token, key string) urlKind {
	el := t.Data
	attr := func(k string) string {
		for _, at := range t.Attr {
			if at.Key == k {
				return strings.ToLower(at.Val)
			}
		}
		return ""
	}
	switch key {
	case "src", "srcset":
		return resource
	case "poster", "data", "imagesrcset", "manifest", "background", "ping", "longdesc":
		if key == "data" && el != "object" {
			return notURL
		}
		return resource
	case "action", "formaction":
		// Submitting a form sends the user's input to the target.
		return resource
	case "content":
		if el == "meta" && attr("http-equiv") == "refresh" {
			return resource
		}
	case "href":
		switch el {
		case "a", "area":
			return navigation
		case "base":
			return resource
		case "link":
			rels := strings.Fields(attr("rel"))
			if len(rels) == 0 {
				return resource
			}
			for _, r := range rels {
				if !slices.Contains(navigationalRels, r) {
					return resource
				}
			}
			return navigation
		case "image", "use", "feimage", "script":
			return resource
		}
	}
	if strings.HasSuffix(key, "href") && (el == "image" || el == "use" || el == "feimage") {
		return resource // xlink:href
	}
	return notURL
}

// url audits one URL found in file at line.
func (a *auditor) url(file string, line int, el, attr, raw string, kind urlKind) {
	v := strings.TrimSpace(raw)
	if v == "" {
		return
	}
	f := Finding{File: file, Line: line, Element: el, Attr: attr, URL: v}
	lower := strings.ToLower(stripControl(v))
	if strings.HasPrefix(lower, "javascript:") {
		f.Rule, f.Message = RuleJavaScriptURL, "javascript: URLs are scripts, blocked by the CSP; link to a page instead"
		a.add(f)
		return
	}
	if strings.HasPrefix(v, "//") || strings.HasPrefix(v, `\\`) || strings.HasPrefix(v, `/\`) {
		f.Rule, f.Message = RuleProtocolRelative, "protocol-relative URLs point at another host; use a path on this site, or a full https:// URL for an outbound link"
		a.add(f)
		return
	}
	u, err := url.Parse(v)
	if err != nil {
		// Not parseable as a URL: if it has no scheme, browsers treat it
		// as a relative path, which is this site.
		if strings.Contains(lower, ":") && !strings.ContainsAny(lower[:strings.Index(lower, ":")], "/?#") {
			f.Rule, f.Message = RuleThirdParty, "unparseable absolute URL; use a path on this site"
			if kind == resource {
				a.add(f)
			}
		}
		return
	}
	if u.Scheme == "" && u.Host == "" {
		return // relative: this site
	}
	switch u.Scheme {
	case "data", "blob":
		if kind == resource && attr != "action" && attr != "formaction" {
			f.Rule, f.Message = RuleDataURL, "data: and blob: resources are blocked by the CSP (default-src 'self'); save it as a file on the site"
			a.add(f)
		}
		return
	case "mailto", "tel", "sms", "xmpp", "irc", "ircs", "magnet", "geo", "news", "matrix":
		return
	}
	if a.sameOrigin(u) {
		if a.origin.Scheme == "https" && u.Scheme == "http" {
			f.Rule, f.Message = RuleMixedContent, "http: to the site's own https origin; use https:// or a relative path"
			a.add(f)
		}
		return
	}
	if kind == navigation {
		f.Rule, f.Message = RuleLink, "outbound link (loads nothing until clicked)"
		a.add(f)
		return
	}
	f.Rule = RuleThirdParty
	f.Message = "loaded from another origin; host a copy on this site"
	if a.origin == nil {
		f.Message += " (or, if this is the site's own address, pass --origin)"
	}
	a.add(f)
}

// sameOrigin reports whether u is the audited site's origin, or the same
// host over http (so that mixed content can be reported).
func (a *auditor) sameOrigin(u *url.URL) bool {
	if a.origin == nil || u.Host == "" {
		return false
	}
	if !strings.EqualFold(u.Hostname(), a.origin.Hostname()) {
		return false
	}
	port := func(x *url.URL) string {
		if p := x.Port(); p != "" {
			return p
		}
		switch strings.ToLower(x.Scheme) {
		case "http":
			return "80"
		case "https":
			return "443"
		}
		return ""
	}
	s := strings.ToLower(u.Scheme)
	if s == strings.ToLower(a.origin.Scheme) {
		return port(u) == port(a.origin)
	}
	// http:// to an https origin: the same site, insecurely.
	return s == "http" && a.origin.Scheme == "https" && (u.Port() == "" || u.Port() == "80")
}

// stripControl drops the ASCII whitespace and control characters browsers
// ignore inside a scheme ("java\tscript:").
func stripControl(s string) string {
	return strings.Map(func(r rune) rune {
		if r <= ' ' {
			return -1
		}
		return r
	}, s)
}

// css audits the url()s and @imports of a stylesheet, a <style> element or
// a style= attribute, whose text starts at line.
func (a *auditor) css(file, css string, line int, el, attr string) {
	for _, u := range cssURLs(css) {
		at := "url()"
		if u.Import {
			at = "@import"
		}
		if attr != "" {
			at = attr + " " + at
		}
		a.url(file, line+u.Line-1, el, at, u.URL, resource)
	}
}

// srcsetURLs returns the URLs of a srcset attribute ("a.png 1x, b.png 2x").
// Following the HTML parsing rules, a URL runs to the next whitespace, and
// a trailing comma ends it.
func srcsetURLs(s string) []string {
	var out []string
	i := 0
	for i < len(s) {
		for i < len(s) && (isSpace(s[i]) || s[i] == ',') {
			i++
		}
		j := i
		for j < len(s) && !isSpace(s[j]) {
			j++
		}
		u := strings.TrimRight(s[i:j], ",")
		if u != "" {
			out = append(out, u)
		}
		if j > i && s[j-1] == ',' {
			i = j
			continue
		}
		// Skip descriptors up to the next comma outside parentheses.
		depth := 0
		for j < len(s) {
			if s[j] == '(' {
				depth++
			} else if s[j] == ')' && depth > 0 {
				depth--
			} else if s[j] == ',' && depth == 0 {
				break
			}
			j++
		}
		i = j
	}
	return out
}

// asciiLower lowercases ASCII letters only. Unlike strings.ToLower it never
// changes the length (invalid UTF-8 would become U+FFFD), so an index into
// the result is an index into s.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

// refreshURL returns the URL of a <meta http-equiv=refresh content="5; url=x">,
// or "" if it only reloads the page.
func refreshURL(content string) string {
	i := strings.IndexAny(content, ";,")
	if i < 0 {
		return ""
	}
	rest := strings.TrimSpace(content[i+1:])
	if hasPrefixFold(rest, "url") {
		r := strings.TrimSpace(rest[3:])
		if strings.HasPrefix(r, "=") {
			rest = strings.TrimSpace(r[1:])
		}
	}
	return strings.Trim(rest, `"'`)
}

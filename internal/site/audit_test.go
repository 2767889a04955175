package site

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// auditOne audits a directory holding one file and returns the findings.
func auditOne(t testing.TB, name, content string, opts AuditOptions) Report {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := Audit(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestAuditRules(t *testing.T) {
	origin := AuditOptions{Origin: "https://www.example.org"}
	tests := []struct {
		name    string
		file    string // default page.html
		content string
		opts    AuditOptions
		want    string // "rule el[attr] url" of the only finding; "" for none
		line    int
	}{
		{name: "relative img", content: `<img src="a.png">`},
		{name: "root img", content: `<img src="/a.png" srcset="/a.png 1x, b.png 2x">`},
		{name: "third-party img", content: "<p>\n<img src=\"https://cdn.example.net/a.png\">", want: "third-party img[src] https://cdn.example.net/a.png", line: 2},
		{name: "srcset", content: `<img src="a.png" srcset="a.png 1x, https://cdn.example.net/b.png 2x">`, want: "third-party img[srcset] https://cdn.example.net/b.png"},
		{name: "srcset with comma in URL", content: `<img srcset="a,b.png 1x,https://x.example/c.png 2x">`, want: "third-party img[srcset] https://x.example/c.png"},
		{name: "picture source", content: `<picture><source srcset="https://x.example/a.webp"></picture>`, want: "third-party source[srcset] https://x.example/a.webp"},
		{name: "stylesheet", content: `<link rel="stylesheet" href="https://fonts.googleapis.com/css">`, want: "third-party link[href] https://fonts.googleapis.com/css"},
		{name: "icon", content: `<link rel="icon" href="https://x.example/f.ico">`, want: "third-party link[href] https://x.example/f.ico"},
		{name: "preload", content: `<link rel=preload as=font href="https://x.example/f.woff2">`, want: "third-party link[href] https://x.example/f.woff2"},
		{name: "preconnect", content: `<link rel="preconnect" href="https://x.example">`, want: "third-party link[href] https://x.example"},
		{name: "canonical is a link", content: `<link rel="canonical" href="https://www.example.org/">`},
		{name: "alternate is a link", content: `<link rel="alternate" type="application/atom+xml" href="https://x.example/feed">`},
		{name: "script src", content: `<script src="https://x.example/a.js"></script>`, want: "third-party script[src] https://x.example/a.js"},
		{name: "local script src", content: `<script src="/a.js"></script>`},
		{name: "inline script", content: "<p>x</p>\n<script>alert(1)</script>", want: "inline-script script", line: 2},
		{name: "json-ld is data", content: `<script type="application/ld+json">{}</script>`},
		{name: "module script inline", content: `<script type="module">x()</script>`, want: "inline-script script"},
		{name: "iframe", content: `<iframe src="https://www.youtube.com/embed/x"></iframe>`, want: "third-party iframe[src] https://www.youtube.com/embed/x"},
		{name: "object data", content: `<object data="https://x.example/a.swf"></object>`, want: "third-party object[data] https://x.example/a.swf"},
		{name: "video poster", content: `<video src="v.webm" poster="https://x.example/p.jpg"></video>`, want: "third-party video[poster] https://x.example/p.jpg"},
		{name: "track", content: `<video><track src="https://x.example/s.vtt"></video>`, want: "third-party track[src] https://x.example/s.vtt"},
		{name: "audio", content: `<audio src="http://x.example/a.ogg"></audio>`, want: "third-party audio[src] http://x.example/a.ogg"},
		{name: "embed", content: `<embed src="https://x.example/a">`, want: "third-party embed[src] https://x.example/a"},
		{name: "form action", content: `<form action="https://x.example/search"></form>`, want: "third-party form[action] https://x.example/search"},
		{name: "local form", content: `<form action="/search"></form>`},
		{name: "button formaction", content: `<button formaction="https://x.example/s">`, want: "third-party button[formaction] https://x.example/s"},
		{name: "meta refresh away", content: `<meta http-equiv="refresh" content="0; url=https://x.example/">`, want: "third-party meta[content] https://x.example/"},
		{name: "meta refresh here", content: `<meta http-equiv="Refresh" content="0;URL='/new.html'">`},
		{name: "meta refresh reload", content: `<meta http-equiv="refresh" content="30">`},
		{name: "base", content: `<base href="https://x.example/">`, want: "third-party base[href] https://x.example/"},
		{name: "a ping", content: `<a href="/" ping="https://x.example/track">`, want: "third-party a[ping] https://x.example/track"},
		{name: "svg image", content: `<svg><image href="https://x.example/a.png"/></svg>`, want: "third-party image[href] https://x.example/a.png"},
		{name: "svg use xlink", content: `<svg><use xlink:href="https://x.example/s.svg#i"/></svg>`, want: "third-party use[xlink:href] https://x.example/s.svg#i"},
		{name: "protocol-relative", content: `<img src="//x.example/a.png">`, want: "protocol-relative img[src] //x.example/a.png"},
		{name: "protocol-relative link", content: `<a href="//x.example/">`, want: "protocol-relative a[href] //x.example/"},
		{name: "backslash host", content: `<img src="/\x.example/a.png">`, want: `protocol-relative img[src] /\x.example/a.png`},
		{name: "onclick", content: `<button onclick="go()">`, want: "event-handler button[onclick]"},
		{name: "onload uppercase", content: `<body ONLOAD="go()">`, want: "event-handler body[onload]"},
		{name: "javascript link", content: `<a href="javascript:void(0)">`, want: "javascript-url a[href] javascript:void(0)"},
		{name: "javascript obfuscated", content: "<a href=\" JaVa&#x09;Script:x\">", want: "javascript-url a[href] JaVa\tScript:x"},
		{name: "inline style", content: `<p style="color: red">`, want: "inline-style p[style]"},
		{name: "style element", content: "<head>\n<style>p{}</style>", want: "style-element style", line: 2},
		{name: "outbound link ok", content: `<a href="https://github.com/x/y">code</a>`},
		{name: "mailto ok", content: `<a href="mailto:a@example.org">`},
		{name: "data img", content: `<img src="data:image/png;base64,AAAA">`, want: "data-url img[src] data:image/png;base64,AAAA"},
		{name: "own origin absolute", opts: origin, content: `<img src="https://www.example.org/a.png">`},
		{name: "own origin, other port", opts: origin, content: `<img src="https://www.example.org:8443/a.png">`, want: "third-party img[src] https://www.example.org:8443/a.png"},
		{name: "own origin unknown", content: `<img src="https://www.example.org/a.png">`, want: "third-party img[src] https://www.example.org/a.png"},
		{name: "mixed content img", opts: origin, content: `<img src="http://www.example.org/a.png">`, want: "mixed-content img[src] http://www.example.org/a.png"},
		{name: "mixed content link", opts: origin, content: `<a href="http://WWW.example.org/x">`, want: "mixed-content a[href] http://WWW.example.org/x"},
		{name: "http origin no mixed", opts: AuditOptions{Origin: "http://www.example.org"}, content: `<a href="http://www.example.org/x">`},
		{name: "css url", file: "s.css", content: "body {}\n.a { background: url(https://x.example/a.png) }", want: "third-party css[url()] https://x.example/a.png", line: 2},
		{name: "css import", file: "s.css", content: `@import "https://fonts.googleapis.com/css2";`, want: "third-party css[@import] https://fonts.googleapis.com/css2"},
		{name: "css import url", file: "s.css", content: `@import url('//x.example/a.css');`, want: "protocol-relative css[@import] //x.example/a.css"},
		{name: "css local", file: "s.css", content: `@font-face { src: url(f.woff2) format("woff2"); } a { background: url("/i.png") }`},
		{name: "css comment", file: "s.css", content: `/* url(https://x.example/a.png) */ a{}`},
		{name: "css data url", file: "s.css", content: `a { background: url(data:image/png;base64,AA) }`, want: "data-url css[url()] data:image/png;base64,AA"},
		{name: "css mixed content", opts: origin, file: "s.css", content: `a { background: url(http://www.example.org/a.png) }`, want: "mixed-content css[url()] http://www.example.org/a.png"},
		{name: "htm files too", file: "p.htm", content: `<img src="https://x.example/a.png">`, want: "third-party img[src] https://x.example/a.png"},
		{name: "other files ignored", file: "notes.txt", content: `<img src="https://x.example/a.png">`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := tt.file
			if file == "" {
				file = "page.html"
			}
			rep := auditOne(t, file, tt.content, tt.opts)
			var got []string
			for _, f := range rep.Findings {
				s := f.Rule + " " + f.Element
				if f.Attr != "" {
					s += "[" + f.Attr + "]"
				}
				if f.URL != "" {
					s += " " + f.URL
				}
				got = append(got, s)
			}
			if tt.want == "" {
				if len(got) != 0 {
					t.Fatalf("got findings %q, want none", got)
				}
				return
			}
			if len(got) != 1 || got[0] != tt.want {
				t.Fatalf("got findings %q, want [%q]", got, tt.want)
			}
			line := tt.line
			if line == 0 {
				line = 1
			}
			if f := rep.Findings[0]; f.Line != line || f.File != file {
				t.Errorf("got %s:%d, want %s:%d", f.File, f.Line, file, line)
			}
		})
	}
}

// Inline style and <style> are errors and their url()s are audited too.
func TestAuditInlineCSSURLs(t *testing.T) {
	rep := auditOne(t, "p.html", "<style>\na{}\nb{background:url(https://x.example/b.png)}</style>\n<p style=\"background:url('https://x.example/c.png')\">", AuditOptions{})
	var got []string
	for _, f := range rep.Findings {
		got = append(got, f.String())
	}
	want := []string{
		"p.html:1: style-element: style: <style> is blocked by the CSP (no 'unsafe-inline'); move the rules to a .css file",
		"p.html:3: third-party: style[url()] https://x.example/b.png: loaded from another origin; host a copy on this site (or, if this is the site's own address, pass --origin)",
		"p.html:4: inline-style: p[style]: style= is blocked by the CSP (no 'unsafe-inline'); use a class and a .css file",
		"p.html:4: third-party: p[style url()] https://x.example/c.png: loaded from another origin; host a copy on this site (or, if this is the site's own address, pass --origin)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestAuditLinks(t *testing.T) {
	page := `<a href="https://github.com/x">x</a><a href="/local">l</a><link rel="license" href="https://creativecommons.org/">`
	if rep := auditOne(t, "p.html", page, AuditOptions{}); len(rep.Links) != 0 || !rep.OK() {
		t.Fatalf("without Links: got links %v findings %v, want none", rep.Links, rep.Findings)
	}
	rep := auditOne(t, "p.html", page, AuditOptions{Links: true})
	if !rep.OK() || len(rep.Links) != 2 || rep.Links[0].URL != "https://github.com/x" || rep.Links[1].URL != "https://creativecommons.org/" {
		t.Fatalf("got links %v findings %v, want the two outbound links", rep.Links, rep.Findings)
	}
}

func TestAuditBadOrigin(t *testing.T) {
	for _, o := range []string{"www.example.org", "ftp://x", "https://x.example/path"} {
		t.Run(o, func(t *testing.T) {
			if _, err := Audit(t.TempDir(), AuditOptions{Origin: o}); err == nil {
				t.Fatalf("Audit with origin %q: got nil error, want one", o)
			}
		})
	}
}

func TestAuditDoesNotFollowSymlinks(t *testing.T) {
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "bad.html"), []byte(`<script>x()</script>`), 0o644)
	dir := t.TempDir()
	if err := os.Symlink(filepath.Join(outside, "bad.html"), filepath.Join(dir, "bad.html")); err != nil {
		t.Fatal(err)
	}
	rep, err := Audit(dir, AuditOptions{})
	if err != nil || rep.Files != 0 {
		t.Fatalf("got %d files, err %v; want 0 files, nil", rep.Files, err)
	}
}

// The demo website compiled into depot must pass its own audit.
func TestAuditDemoTree(t *testing.T) {
	rep, err := Audit("../demo/tree", AuditOptions{Origin: "https://www.example.org", Links: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Files < 4 {
		t.Fatalf("audited %d files, want at least the 3 pages and style.css", rep.Files)
	}
	for _, f := range rep.Findings {
		t.Errorf("demo tree: %s", f)
	}
}

func TestAuditAttributeLines(t *testing.T) {
	page := "<img data-src=\"x\"\n  alt=\"\"\n  src=\"https://x.example/a.png\"\n  srcset=\"https://x.example/b.png 2x\">"
	rep := auditOne(t, "p.html", page, AuditOptions{})
	if len(rep.Findings) != 2 || rep.Findings[0].Line != 3 || rep.Findings[1].Line != 4 {
		t.Fatalf("got %v, want src on line 3 and srcset on line 4", rep.Findings)
	}
}

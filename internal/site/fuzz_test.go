package site

import (
	"strings"
	"testing"
)

// FuzzCSSURLs checks the CSS url extractor's invariants: it never panics,
// every URL it returns is written in the input (escapes are not decoded),
// lines are in order and within the input, and an input with no "url(",
// "src(" or "@import" yields nothing.
func FuzzCSSURLs(f *testing.F) {
	for _, c := range cssCases {
		f.Add(c.css)
	}
	f.Add("@import url(")
	f.Add("url('\n')")
	f.Fuzz(func(t *testing.T, css string) {
		got := cssURLs(css)
		lines := strings.Count(css, "\n") + 1
		prev := 1
		for _, u := range got {
			if !strings.Contains(css, u.URL) {
				t.Fatalf("cssURLs(%q) returned %q, which is not in the input", css, u.URL)
			}
			if u.Line < prev || u.Line > lines {
				t.Fatalf("cssURLs(%q) returned %q on line %d, want %d..%d", css, u.URL, u.Line, prev, lines)
			}
			prev = u.Line
		}
		l := strings.ToLower(css)
		if len(got) > 0 && !strings.Contains(l, "url(") && !strings.Contains(l, "src(") && !strings.Contains(l, "@import") {
			t.Fatalf("cssURLs(%q) = %v from input with no URL construct", css, got)
		}
	})
}

// FuzzSrcset checks that every srcset URL is a non-empty substring
// without whitespace.
func FuzzSrcset(f *testing.F) {
	f.Add("a.png 1x, b.png 2x")
	f.Add("a,b.png 1x,c.png")
	f.Fuzz(func(t *testing.T, s string) {
		for _, u := range srcsetURLs(s) {
			if u == "" || !strings.Contains(s, u) || strings.ContainsAny(u, " \t\n\r\f") {
				t.Fatalf("srcsetURLs(%q) returned %q", s, u)
			}
		}
	})
}

// FuzzAuditHTML checks the HTML auditor: it never panics, every finding
// has a known rule and a line inside the document, and a document without
// "<" has no findings.
func FuzzAuditHTML(f *testing.F) {
	f.Add(`<img src="https://x.example/a.png" srcset="a.png 1x, //b.example/b.png 2x">`)
	f.Add("<style>\na{background:url(https://x.example/a)}</style><p style=\"x:url(//y)\" onclick=x>")
	f.Add(`<meta http-equiv=refresh content="0;url=https://x.example"><a href=" javascript:x">`)
	f.Add("<script>\n</script><svg><use xlink:href='https://x.example/s.svg'/></svg>")
	rules := []string{RuleThirdParty, RuleProtocolRelative, RuleInlineScript, RuleEventHandler,
		RuleJavaScriptURL, RuleInlineStyle, RuleStyleElement, RuleMixedContent, RuleDataURL, "parse-error"}
	f.Fuzz(func(t *testing.T, doc string) {
		rep := Report{}
		a := auditor{rep: &rep, opts: AuditOptions{Links: true}}
		a.html("f.html", []byte(doc))
		lines := strings.Count(doc, "\n") + 1
		for _, fd := range rep.Findings {
			if fd.Line < 1 || fd.Line > lines {
				t.Fatalf("finding %v on line %d of a %d-line document", fd, fd.Line, lines)
			}
			known := false
			for _, r := range rules {
				known = known || fd.Rule == r
			}
			if !known {
				t.Fatalf("finding %v has an unknown rule", fd)
			}
		}
		if !strings.Contains(doc, "<") && len(rep.Findings) > 0 {
			t.Fatalf("findings %v in a document without tags", rep.Findings)
		}
	})
}

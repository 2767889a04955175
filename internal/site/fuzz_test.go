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

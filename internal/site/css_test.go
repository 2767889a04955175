package site

import (
	"fmt"
	"testing"
)

var cssCases = []struct {
	name, css string
	want      string // fmt of []cssURL
}{
	{"empty", "", "[]"},
	{"bare url", "a{background:url(x.png)}", "[{x.png 1 false}]"},
	{"quoted url", `a{background:url( "x y.png" )}`, "[{x y.png 1 false}]"},
	{"single quotes", `a{background:URL('x.png')}`, "[{x.png 1 false}]"},
	{"import string", "\n@import 'a.css';", "[{a.css 2 true}]"},
	{"import url", `@IMPORT url("a.css") screen;`, "[{a.css 1 true}]"},
	{"src function", `@font-face{src: src("f.woff2")}`, "[{f.woff2 1 false}]"},
	{"comment hides", "/* url(a.png)\n*/ b{background:url(b.png)}", "[{b.png 2 false}]"},
	{"string hides", `a{content:"url(a.png)"} b{x:url(b.png)}`, "[{b.png 1 false}]"},
	{"not url suffix", "a{x:myurl(a.png)}", "[]"},
	{"multi-line url", "a{x:url(\n'a.png'\n)}\nb{x:url(b.png)}", "[{a.png 1 false} {b.png 4 false}]"},
	{"unterminated", "a{x:url(a.png", "[{a.png 1 false}]"},
	{"unterminated string", `a{x:url("a.png`, "[{a.png 1 false}]"},
	{"escaped quote", `a{x:url("a\".png")}`, `[{a\".png 1 false}]`},
	{"image-set", `a{x:image-set(url(a.png) 1x, url(b.png) 2x)}`, "[{a.png 1 false} {b.png 1 false}]"},
	{"importer ident", "@imports 'x';", "[]"},
}

func TestCSSURLs(t *testing.T) {
	for _, tt := range cssCases {
		t.Run(tt.name, func(t *testing.T) {
			got := cssURLs(tt.css)
			if got == nil {
				got = []cssURL{}
			}
			if s := fmt.Sprint(got); s != tt.want {
				t.Errorf("cssURLs(%q) = %s, want %s", tt.css, s, tt.want)
			}
		})
	}
}

func TestSrcsetURLs(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a.png", "[a.png]"},
		{"a.png 1x, b.png 2x", "[a.png b.png]"},
		{"a.png 100w,b.png 200w", "[a.png b.png]"},
		{"a,b.png 1x,c.png", "[a,b.png c.png]"},
		{" , a.png,b.png", "[a.png,b.png]"}, // one URL, as browsers read it
		{"a.png (x, y) 1x, b.png", "[a.png b.png]"},
		{"", "[]"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := srcsetURLs(tt.in)
			if got == nil {
				got = []string{}
			}
			if s := fmt.Sprint(got); s != tt.want {
				t.Errorf("srcsetURLs(%q) = %s, want %s", tt.in, s, tt.want)
			}
		})
	}
}

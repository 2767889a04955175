package site

import (
	"os"
	"strings"
	"testing"
)

func BenchmarkCSSURLs(b *testing.B) {
	css, err := os.ReadFile("../demo/tree/style.css")
	if err != nil {
		b.Fatal(err)
	}
	s := strings.Repeat(string(css)+"a{background:url(/i.png)}\n@import 'x.css';\n", 20)
	b.SetBytes(int64(len(s)))
	b.ReportAllocs()
	for b.Loop() {
		cssURLs(s)
	}
}

func BenchmarkAuditDemoTree(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Audit("../demo/tree", AuditOptions{Origin: "https://www.example.org"}); err != nil {
			b.Fatal(err)
		}
	}
}

package server

import (
	"errors"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
)

// TestResolve passes each attack through url.Parse, the way a request's
// target arrives at the handler.
func TestResolve(t *testing.T) {
	tests := []struct {
		target string
		want   string
		err    error
	}{
		{"/", ".", nil},
		{"/index.html", "index.html", nil},
		{"/r4.2/current//repodata/./repomd.xml", "r4.2/current/repodata/repomd.xml", nil},
		{"/a%20b", "a b", nil},
		{"/.well-known/security.txt", ".well-known/security.txt", nil},
		{"/../etc/passwd", "", errBadPath},
		{"/a/../../etc/passwd", "", errBadPath},
		{"/a/..", "", errBadPath},
		{"/%2e%2e/etc/passwd", "", errBadPath},
		{"/%2E%2E%2Fetc%2Fpasswd", "", errBadPath},
		{"/a%2f..%2f..%2fetc%2fpasswd", "", errBadPath},
		{"/..%5c..%5cetc%5cpasswd", "", errBadPath},
		{"/a\\..\\b", "", errBadPath},
		{"/a%00.html", "", errBadPath},
		{"/%252e%252e/etc/passwd", "%2e%2e/etc/passwd", nil}, // decoded once: a literal, harmless name
		{"/.git/config", "", errHidden},
		{"/sub/.htpasswd", "", errHidden},
		{"/%2egit/HEAD", "", errHidden},
		{"/..;/x", "", errHidden},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			u, err := url.Parse(tt.target)
			if err != nil {
				t.Fatalf("url.Parse: %v", err)
			}
			got, err := resolve(u.Path)
			if !errors.Is(err, tt.err) || got != tt.want {
				t.Errorf("resolve(%q) = %q, %v; want %q, %v", u.Path, got, err, tt.want, tt.err)
			}
		})
	}
}

func FuzzResolve(f *testing.F) {
	for _, s := range []string{"/", "/a/b", "/../x", "/a/./b/../c", "/.git", "\\..\\", "/%2e%2e", "//x//y/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		name, err := resolve(p)
		if err != nil {
			return
		}
		if name != "." && !filepath.IsLocal(name) {
			t.Fatalf("resolve(%q) = %q, which leaves the root", p, name)
		}
		for _, seg := range strings.Split(name, "/") {
			if seg == ".." || (strings.HasPrefix(seg, ".") && seg != "." && seg != ".well-known") {
				t.Fatalf("resolve(%q) = %q, which holds segment %q", p, name, seg)
			}
		}
	})
}

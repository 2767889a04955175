package sitepath

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
		{"/../etc/passwd", "", ErrBadPath},
		{"/a/../../etc/passwd", "", ErrBadPath},
		{"/a/..", "", ErrBadPath},
		{"/%2e%2e/etc/passwd", "", ErrBadPath},
		{"/%2E%2E%2Fetc%2Fpasswd", "", ErrBadPath},
		{"/a%2f..%2f..%2fetc%2fpasswd", "", ErrBadPath},
		{"/..%5c..%5cetc%5cpasswd", "", ErrBadPath},
		{"/a\\..\\b", "", ErrBadPath},
		{"/a%00.html", "", ErrBadPath},
		{"/%252e%252e/etc/passwd", "%2e%2e/etc/passwd", nil}, // decoded once: a literal, harmless name
		{"/.git/config", "", ErrHidden},
		{"/sub/.htpasswd", "", ErrHidden},
		{"/%2egit/HEAD", "", ErrHidden},
		{"/..;/x", "", ErrHidden},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			u, err := url.Parse(tt.target)
			if err != nil {
				t.Fatalf("url.Parse: %v", err)
			}
			got, err := Resolve(u.Path)
			if !errors.Is(err, tt.err) || got != tt.want {
				t.Errorf("Resolve(%q) = %q, %v; want %q, %v", u.Path, got, err, tt.want, tt.err)
			}
		})
	}
}

func FuzzResolve(f *testing.F) {
	for _, s := range []string{"/", "/a/b", "/../x", "/a/./b/../c", "/.git", "\\..\\", "/%2e%2e", "//x//y/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		name, err := Resolve(p)
		if err != nil {
			return
		}
		if name != "." && !filepath.IsLocal(name) {
			t.Fatalf("Resolve(%q) = %q, which leaves the root", p, name)
		}
		for _, seg := range strings.Split(name, "/") {
			if seg == ".." || (strings.HasPrefix(seg, ".") && seg != "." && seg != ".well-known") {
				t.Fatalf("Resolve(%q) = %q, which holds segment %q", p, name, seg)
			}
		}
	})
}

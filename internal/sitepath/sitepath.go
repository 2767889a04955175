// Package sitepath is depot's one path resolver: it maps a request's
// decoded URL path to a name inside a site's root, for the files the
// server serves and for the mirror responders that answer for those files.
//
// It never opens a file and never looks at the disk: the name it returns
// is opened through os.Root, which refuses symlinks that lead out.
package sitepath

import (
	"errors"
	"path"
	"path/filepath"
	"strings"
)

// Errors from Resolve. The server answers ErrBadPath with 400 and
// ErrHidden with 404.
var (
	ErrBadPath = errors.New("path not allowed") // traversal, NUL, backslash
	ErrHidden  = errors.New("hidden file")      // dot-files such as .git
)

// Resolve maps a request's decoded URL path (r.URL.Path) to a name relative
// to a site's root, for os.Root.
//
// Contract: the root is trusted, the URL path is not, and the result never
// leaves the root. Any ".." segment is refused outright rather than cleaned
// away (a client that sends one is either broken or attacking), as are NUL
// bytes and backslashes (Windows-style separators that other tools
// downstream might honour). Segments starting with "." are hidden, except
// ".well-known" (RFC 8615). The result is "." for the root itself.
//
// net/http has already percent-decoded the path once, so "%2e%2e" and
// "%2f" arrive here as ".." and "/" and are refused; a double-encoded
// "%252e%252e" arrives as the literal name "%2e%2e", which is only ever
// looked up as that name. os.Root, which opens the result, additionally
// refuses symlinks that lead out of the root.
func Resolve(urlPath string) (string, error) {
	if strings.ContainsAny(urlPath, "\x00\\") {
		return "", ErrBadPath
	}
	for rest := urlPath; ; {
		seg, tail, more := strings.Cut(rest, "/")
		switch {
		case seg == "..":
			return "", ErrBadPath
		case strings.HasPrefix(seg, ".") && seg != "." && seg != ".well-known":
			return "", ErrHidden
		}
		if !more {
			break
		}
		rest = tail
	}
	// A path that starts with "/" cleans to the same as "/"+path, and
	// path.Clean returns an already clean path without copying it.
	if !strings.HasPrefix(urlPath, "/") {
		urlPath = "/" + urlPath
	}
	name := strings.TrimPrefix(path.Clean(urlPath), "/")
	if name == "" {
		return ".", nil
	}
	// Belt and braces, as net/http's ServeFile keeps its own ".." check:
	// whatever the loop above missed must still be a local path.
	if !filepath.IsLocal(name) {
		return "", ErrBadPath
	}
	return name, nil
}

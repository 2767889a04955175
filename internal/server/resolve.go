package server

import (
	"errors"
	"path"
	"path/filepath"
	"strings"
)

// Errors from resolve. They map to statuses in statusOf.
var (
	errBadPath = errors.New("path not allowed") // 400: traversal, NUL, backslash
	errHidden  = errors.New("hidden file")      // 404: dot-files such as .git
)

// resolve maps a request's decoded URL path (r.URL.Path) to a name relative
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
func resolve(urlPath string) (string, error) {
	if strings.ContainsAny(urlPath, "\x00\\") {
		return "", errBadPath
	}
	for rest := urlPath; ; {
		seg, tail, more := strings.Cut(rest, "/")
		switch {
		case seg == "..":
			return "", errBadPath
		case strings.HasPrefix(seg, ".") && seg != "." && seg != ".well-known":
			return "", errHidden
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
		return "", errBadPath
	}
	return name, nil
}

package server

import (
	"errors"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"syscall"

	"depot/internal/docroot"
	"depot/internal/sitepath"
)

// contentTypes are the types depot sets itself, so that repository files
// never depend on the machine's /etc/mime.types or on content sniffing.
var contentTypes = map[string]string{
	".html":     "text/html; charset=utf-8",
	".htm":      "text/html; charset=utf-8",
	".css":      "text/css; charset=utf-8",
	".js":       "text/javascript; charset=utf-8",
	".txt":      "text/plain; charset=utf-8",
	".md":       "text/markdown; charset=utf-8",
	".json":     "application/json",
	".xml":      "application/xml",
	".svg":      "image/svg+xml",
	".png":      "image/png",
	".jpg":      "image/jpeg",
	".jpeg":     "image/jpeg",
	".gif":      "image/gif",
	".ico":      "image/x-icon",
	".webp":     "image/webp",
	".woff2":    "font/woff2",
	".pdf":      "application/pdf",
	".rpm":      "application/x-rpm",
	".deb":      "application/vnd.debian.binary-package",
	".udeb":     "application/vnd.debian.binary-package",
	".dsc":      "text/plain; charset=utf-8",
	".metalink": "application/metalink+xml",
	".meta4":    "application/metalink4+xml",
	".asc":      "application/pgp-signature",
	".sig":      "application/pgp-signature",
	".gpg":      "application/pgp-keys",
	".iso":      "application/x-iso9660-image",
	".gz":       "application/gzip",
	".xz":       "application/x-xz",
	".bz2":      "application/x-bzip2",
	".zst":      "application/zstd",
	".torrent":  "application/x-bittorrent",
}

// contentType returns the Content-Type for a file name. Unknown types are
// application/octet-stream: depot never sniffs content (X-Content-Type-
// Options: nosniff tells browsers not to either).
func contentType(name string) string {
	ext := strings.ToLower(path.Ext(name))
	if ct, ok := contentTypes[ext]; ok {
		return ct
	}
	if ct := mime.TypeByExtension(ext); ct != "" && ext != "" {
		return ct
	}
	switch path.Base(name) {
	case "InRelease", "Release", "Packages", "Sources", "Contents", "Index":
		return "text/plain; charset=utf-8"
	}
	return "application/octet-stream"
}

// fileError is what went wrong serving a file: the status the client gets
// and the detail only the error log sees.
type fileError struct {
	status int
	detail string // nginx-style message, e.g. open() "/srv/x" failed (2: ...)
}

func (e *fileError) Error() string { return e.detail }

// statusOf is the one place where errors become HTTP statuses.
func statusOf(err error) int {
	if fe, ok := err.(*fileError); ok {
		return fe.status // without errors.As, which allocates its target
	}
	if pe, ok := err.(*fs.PathError); ok {
		if errno, ok := pe.Err.(syscall.Errno); ok {
			err = errno // what an open returns, unwrapped once instead of per case
		}
	}
	if status := wrappedStatus(err); status != 0 {
		return status
	}
	switch {
	case errors.Is(err, sitepath.ErrBadPath):
		return http.StatusBadRequest
	case errors.Is(err, sitepath.ErrHidden), errors.Is(err, fs.ErrNotExist):
		return http.StatusNotFound
	case errors.Is(err, syscall.ENOTDIR), errors.Is(err, syscall.ENAMETOOLONG), errors.Is(err, syscall.ELOOP):
		// A file used as a directory, a name longer than NAME_MAX, a
		// symlink loop: nothing is there to serve, as nginx answers them.
		return http.StatusNotFound
	case errors.Is(err, fs.ErrPermission):
		return http.StatusForbidden
	case errors.Is(err, docroot.ErrEscapes):
		return http.StatusNotFound // a symlink out of the root: as if absent
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		// Out of descriptors: the server is overloaded, not broken, and
		// the client may retry (RFC 9110 §15.6.4).
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// wrappedStatus is the status of a *fileError that err wraps, or 0. It
// allocates (errors.As's target) only for errors that wrap others.
func wrappedStatus(err error) int {
	switch err.(type) {
	case interface{ Unwrap() error }, interface{ Unwrap() []error }:
		var fe *fileError
		if errors.As(err, &fe) {
			return fe.status
		}
	}
	return 0
}

// openError describes a failed open the way nginx's error log does:
// open() "/srv/x" failed (20: Not a directory).
func openError(full string, err error) *fileError {
	status := statusOf(err)
	var text string
	switch errno, ok := errnoOf(err); {
	case ok:
		text = errnoText(errno)
	case status == http.StatusNotFound:
		text = "2: No such file or directory" // hidden, or a symlink out of the root
	case status == http.StatusForbidden:
		text = "13: Permission denied"
	default:
		text = err.Error()
	}
	var buf [256]byte // the line is built here, and copied once into its string
	b := append(buf[:0], "open() "...)
	b = strconv.AppendQuote(b, full)
	b = append(b, " failed ("...)
	b = append(b, text...)
	b = append(b, ')')
	return &fileError{status: status, detail: string(b)}
}

// errnoOf finds the errno under err: directly in the *fs.PathError that
// an open returns, without errors.As's allocation, or anywhere below.
func errnoOf(err error) (syscall.Errno, bool) {
	if pe, ok := err.(*fs.PathError); ok {
		if e, ok := pe.Err.(syscall.Errno); ok {
			return e, true
		}
	}
	var e syscall.Errno
	ok := errors.As(err, &e)
	return e, ok
}

// errnoText is an errno as nginx writes it: "2: No such file or directory".
func errnoText(e syscall.Errno) string {
	switch e { // the frequent ones, without building them
	case syscall.ENOENT:
		return "2: No such file or directory"
	case syscall.EACCES:
		return "13: Permission denied"
	case syscall.ENOTDIR:
		return "20: Not a directory"
	}
	msg := e.Error()
	if msg != "" && msg[0] >= 'a' && msg[0] <= 'z' {
		msg = string(msg[0]-'a'+'A') + msg[1:] // strerror's capital
	}
	return strconv.Itoa(int(e)) + ": " + msg
}

// writeError sends the generic body for a status. The detail never reaches
// the client.
func writeError(w http.ResponseWriter, status int) {
	h := w.Header()
	// Canonical keys, deleted directly: Header.Del would canonicalize each.
	delete(h, "Content-Encoding")
	delete(h, "Etag")
	delete(h, "Last-Modified")
	delete(h, "Content-Range")
	delete(h, "Accept-Ranges")
	p := errorPageOf(status)
	h["Content-Type"] = textPlain
	h["Content-Length"] = p.length
	w.WriteHeader(status)
	_, _ = w.Write(p.body)
}

// errorPage is the generic body of one status, with its Content-Length.
// Both are shared by every response and never changed (net/http only reads
// header values, and the body is copied out).
type errorPage struct {
	body   []byte
	length []string
}

var textPlain = []string{"text/plain; charset=utf-8"}

// errorPages are the statuses depot answers most often, built once.
var errorPages = func() map[int]errorPage {
	m := map[int]errorPage{}
	for _, s := range []int{400, 403, 404, 405, 408, 413, 414, 429, 431, 500, 503} {
		m[s] = newErrorPage(s)
	}
	return m
}()

func errorPageOf(status int) errorPage {
	if p, ok := errorPages[status]; ok {
		return p
	}
	return newErrorPage(status)
}

func newErrorPage(status int) errorPage {
	body := strconv.Itoa(status) + " " + http.StatusText(status) + "\n"
	return errorPage{body: []byte(body), length: []string{strconv.Itoa(len(body))}}
}

// etag is nginx's strong validator: hex modification time and size.
func etag(fi fs.FileInfo) string {
	return `"` + strconv.FormatInt(fi.ModTime().Unix(), 16) + "-" + strconv.FormatInt(fi.Size(), 16) + `"`
}

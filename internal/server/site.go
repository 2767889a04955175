package server

import (
	"bytes"
	"fmt"
	"html"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"depot/internal/config"
	"depot/internal/docroot"
	"depot/internal/responder"
	"depot/internal/sitepath"
)

// site is one virtual host, ready to serve.
type site struct {
	cfg        config.Site
	root       *docroot.Root // shared by the sites with this root, kept across reloads
	cache      *fileCache    // the server's
	responders []responder.Responder
	csp        []string
	gate       *gate // shared by every site and listener
}

var (
	nosniff    = []string{"nosniff"}
	noReferrer = []string{"no-referrer"}
)

func newSite(cfg config.Site, responders []responder.Responder, g *gate, root *docroot.Root, cache *fileCache) *site {
	return &site{
		cfg:        cfg,
		root:       root,
		cache:      cache,
		responders: responders,
		gate:       g,
		// Only the site's own origin: the policy promises that pages load
		// nothing from third parties, and this makes a browser enforce it.
		csp: []string{"default-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'; object-src 'none'"},
	}
}

// serve answers one request. It writes the response and returns the detail
// of what went wrong, if anything, for the clearnet chain's error log.
// onion says whether the request came over an onion listener.
func (s *site) serve(w http.ResponseWriter, r *http.Request, onion bool) error {
	// Shared, never-modified value slices: one allocation less per header.
	h := w.Header()
	h["X-Content-Type-Options"] = nosniff
	h["Referrer-Policy"] = noReferrer
	h["Content-Security-Policy"] = s.csp

	ci, ok := s.gate.enter(w, r)
	if !ok {
		return s.gate.refused()
	}
	defer s.gate.leave(ci)

	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed)
		return nil
	}
	for _, resp := range s.responders {
		if handled, err := resp.Respond(w, r); handled {
			return err
		}
	}

	// Small files from memory. The key is the URL path as net/http
	// decoded it: an entry exists only for a path that sitepath.Resolve
	// accepted and that led to a regular file, and Resolve depends on
	// nothing else. Names found missing a moment ago are answered from
	// memory too (misses.go).
	e, missing := s.cache.lookup(s.root, r.URL.Path)
	if e != nil {
		s.serveEntry(w, r, e, onion)
		return nil
	}
	if missing != nil {
		writeError(w, missing.status)
		return missing
	}

	name, err := sitepath.Resolve(r.URL.Path)
	if err != nil {
		status := statusOf(err)
		writeError(w, status)
		if status == http.StatusNotFound {
			return openError(path.Join(s.cfg.Root, r.URL.Path), fs.ErrNotExist)
		}
		return &fileError{status: status, detail: "client sent invalid path"}
	}
	if name != "." && strings.HasSuffix(r.URL.Path, "/") {
		// "x/" names a directory: the kernel answers ENOTDIR for a file,
		// so "/hello.txt/" is 404 as in nginx, not the file.
		name += "/"
	}
	return s.serveName(w, r, name, onion)
}

func (s *site) serveName(w http.ResponseWriter, r *http.Request, name string, onion bool) error {
	checked := s.cache.since()
	t, f, missedIn, err := s.open(name)
	if err != nil {
		fe := openError(s.fullName(name), err)
		writeError(w, fe.status)
		if missedIn != nil && fe.status == http.StatusNotFound && !onion {
			// Onion requests record nothing (see misses.go).
			s.cache.putMiss(s.root, r.URL.Path, missedIn, checked, fe)
		}
		return fe
	}
	defer t.Release()
	defer f.Close()
	return s.serveFile(w, r, t, f, name, s.fullName(name), onion)
}

// fullName is the file system path of name for messages, as nginx writes
// it: the configured root joined with the name, and a trailing slash kept.
func (s *site) fullName(name string) string {
	full := path.Join(s.cfg.Root, name)
	if strings.HasSuffix(name, "/") {
		full += "/"
	}
	return full
}

// open opens name in the tree the site's root holds now. If that fails and
// the root's path names another directory meanwhile (a swapped tree whose
// old copy is being deleted, a flipped symlink), it opens name in the new
// tree instead: a deploy fails no request. The caller releases the tree.
// When the open fails in a tree that the root's path still named after the
// failure, missedIn is that tree (released: for comparison only).
func (s *site) open(name string) (t *docroot.Tree, f *os.File, missedIn *docroot.Tree, err error) {
	for try := 0; ; try++ {
		t, err := s.root.Acquire()
		if err != nil {
			return nil, nil, nil, err
		}
		f, err := t.Open(name)
		if err == nil {
			return t, f, nil, nil
		}
		t.Release()
		if try > 0 {
			return nil, nil, nil, err
		}
		if !s.root.Moved(t) {
			return nil, nil, t, err
		}
	}
}

// serveFile answers with f, opened as name (full in messages) in tree t.
func (s *site) serveFile(w http.ResponseWriter, r *http.Request, t *docroot.Tree, f *os.File, name, full string, onion bool) error {
	fi, err := f.Stat()
	if err != nil {
		fe := openError(full, err)
		writeError(w, fe.status)
		return fe
	}

	if fi.IsDir() {
		// A directory is addressed with a trailing slash so that relative
		// links in its index resolve (nginx and net/http do the same).
		if !strings.HasSuffix(r.URL.Path, "/") {
			// The target is built from the cleaned name, never from the
			// request: it is a path on this origin with exactly one
			// leading slash. "//repo/" would be a network-path reference
			// (RFC 3986 §4.2) to the host "repo": an open redirect.
			target := "/"
			if name != "." {
				target = "/" + name + "/"
			}
			http.Redirect(w, r, (&url.URL{Path: target, RawQuery: r.URL.RawQuery}).String(), http.StatusMovedPermanently)
			return nil
		}
		index := path.Join(name, "index.html")
		if ifi, err := t.Stat(index); err == nil && ifi.Mode().IsRegular() {
			full := path.Join(s.cfg.Root, index)
			f, err := t.Open(index)
			if err != nil {
				fe := openError(full, err)
				writeError(w, fe.status)
				return fe
			}
			defer f.Close()
			return s.serveFile(w, r, t, f, index, full, onion)
		}
		if !s.cfg.Autoindex {
			writeError(w, http.StatusForbidden)
			return &fileError{status: http.StatusForbidden, detail: "directory index of \"" + strings.TrimSuffix(full, "/") + "/\" is forbidden"}
		}
		return s.autoindex(w, r, t, name, f, onion)
	}
	if !fi.Mode().IsRegular() {
		writeError(w, http.StatusNotFound)
		return &fileError{status: http.StatusNotFound, detail: "\"" + full + "\" is not a regular file"}
	}

	if s.cache.fits(fi.Size()) {
		e, keep, err := s.cache.load(cacheKey{s.root, r.URL.Path}, t, name, f, fi)
		if err != nil {
			writeError(w, http.StatusInternalServerError)
			return &fileError{status: 500, detail: fmt.Sprintf("read() %q failed (%v)", full, err)}
		}
		if keep {
			s.cache.put(e, s.cache.since())
		}
		s.serveEntry(w, r, e, onion)
		return nil
	}

	ct := contentType(name)
	h := w.Header()
	h["Content-Type"] = []string{ct}
	h["Etag"] = []string{etag(fi)}
	if !onion && s.cfg.OnionLocation != "" && strings.HasPrefix(ct, "text/html") {
		h.Set("Onion-Location", onionLocation(s.cfg.OnionLocation, r))
	}
	// ServeContent handles HEAD, Range (RFC 9110 §14), If-Modified-Since
	// and If-None-Match against the ETag set above.
	if fi.Size() <= smallFile {
		// One read instead of two seeks and a sendfile: small files such
		// as repomd.xml are most of a repository's requests.
		bp := smallPool.Get().(*[]byte)
		defer smallPool.Put(bp)
		n, err := io.ReadFull(f, (*bp)[:fi.Size()])
		if err != nil {
			writeError(w, http.StatusInternalServerError)
			return &fileError{status: 500, detail: fmt.Sprintf("read() %q failed (%v)", full, err)}
		}
		// writerOnly hides ReadFrom, which would send the headers and the
		// body in two system calls; through Write they leave in one.
		corked(w, r, int64(n), func() {
			http.ServeContent(writerOnly{w}, r, "", fi.ModTime(), bytes.NewReader((*bp)[:n]))
		})
		return nil
	}
	// Given an *os.File, ServeContent reaches the connection's ReadFrom,
	// so plain-HTTP bodies go out by sendfile.
	http.ServeContent(w, r, "", fi.ModTime(), f)
	return nil
}

// serveEntry answers from a cached file as serveFile answers from disk.
func (s *site) serveEntry(w http.ResponseWriter, r *http.Request, e *cached, onion bool) {
	if e.html && !onion && s.cfg.OnionLocation != "" {
		w.Header().Set("Onion-Location", onionLocation(s.cfg.OnionLocation, r))
	}
	serveCached(w, r, e)
}

// writerOnly is a ResponseWriter without the optional interfaces.
type writerOnly struct{ http.ResponseWriter }

// smallFile is the size up to which a file is read whole into memory.
const smallFile = 32 << 10

var smallPool = sync.Pool{New: func() any { b := make([]byte, smallFile); return &b }}

// onionLocation is the Onion-Location header value: the onion address with
// the request's path and query.
func onionLocation(base string, r *http.Request) string {
	return strings.TrimSuffix(base, "/") + r.URL.RequestURI()
}

// autoindex writes an HTML listing without JavaScript of the directory
// name. It lists only what a request for each entry would serve: hidden
// entries, symlinks that lead out of the root or nowhere, and anything
// that is neither a regular file nor a directory are left out.
func (s *site) autoindex(w http.ResponseWriter, r *http.Request, t *docroot.Tree, name string, dir fs.File, onion bool) error {
	rd, ok := dir.(fs.ReadDirFile)
	if !ok {
		writeError(w, http.StatusInternalServerError)
		return &fileError{status: 500, detail: "directory cannot be listed"}
	}
	entries, err := rd.ReadDir(-1)
	if err != nil {
		writeError(w, http.StatusInternalServerError)
		return &fileError{status: 500, detail: "readdir() failed: " + err.Error()}
	}
	list := make([]fs.FileInfo, 0, len(entries))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		var info fs.FileInfo
		switch typ := e.Type(); {
		case typ&fs.ModeSymlink != 0:
			// Resolved as serving would resolve it: beneath the root.
			info, err = t.Stat(path.Join(name, e.Name()))
		case typ.IsRegular() || typ.IsDir():
			info, err = e.Info()
		default:
			continue // sockets, pipes, devices are never served
		}
		if err != nil || !(info.Mode().IsRegular() || info.IsDir()) {
			continue
		}
		list = append(list, entryInfo{info, e.Name()})
	}
	slices.SortFunc(list, func(a, b fs.FileInfo) int {
		if a.IsDir() != b.IsDir() {
			if a.IsDir() {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Name(), b.Name())
	})

	title := "Index of " + html.EscapeString(r.URL.Path)
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>")
	b.WriteString(title)
	b.WriteString("</title></head>\n<body><h1>")
	b.WriteString(title)
	b.WriteString("</h1>\n<table>\n<tr><th>Name</th><th>Last modified (UTC)</th><th>Size</th></tr>\n")
	if r.URL.Path != "/" {
		b.WriteString("<tr><td><a href=\"../\">../</a></td><td></td><td></td></tr>\n")
	}
	for _, e := range list {
		name := e.Name()
		size := "-"
		mod := e.ModTime().UTC().Format(time.DateTime)
		if e.IsDir() {
			name += "/"
		} else {
			size = formatSize(e.Size())
		}
		href := (&url.URL{Path: name}).EscapedPath()
		if strings.Contains(name, ":") {
			href = "./" + href // keep "a:b" from reading as a URL scheme
		}
		b.WriteString("<tr><td><a href=\"" + html.EscapeString(href) + "\">" + html.EscapeString(name) + "</a></td><td>" + mod + "</td><td>" + size + "</td></tr>\n")
	}
	b.WriteString("</table>\n</body></html>\n")

	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	if !onion && s.cfg.OnionLocation != "" {
		h.Set("Onion-Location", onionLocation(s.cfg.OnionLocation, r))
	}
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte(b.String()))
	}
	return nil
}

// entryInfo is a listed entry: its target's FileInfo under its own name.
type entryInfo struct {
	fs.FileInfo
	name string
}

func (e entryInfo) Name() string { return e.name }

func formatSize(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	whole := n / div
	tenth := (n % div) * 10 / div
	return strconv.FormatInt(whole, 10) + "." + strconv.FormatInt(tenth, 10) + string("KMGTP"[exp]) + "iB"
}

package server

import (
	"bytes"
	"io"
	"io/fs"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"depot/internal/docroot"
)

// The file cache keeps small files in memory with their response headers
// built, so that repository metadata (repomd.xml, InRelease, which every
// client asks for on every check) is answered without opening anything.
//
// Freshness: an entry is served only from the tree its site's root holds
// now (see docroot), and is looked at again (one stat) once it was last
// seen unchanged docroot.Interval ago, so a file replaced by rename
// (createrepo_c --update, rsync) is served within a second. A file that
// changed within the last Interval is not kept at all: its change time
// could still hide a rewrite in place (see docroot.Version.Settled).
//
// Memory: entries are charged their body and names plus entryOverhead,
// and the least recently used leave first once the total passes maxSize.

// Defaults of config.FileCache.
const (
	DefaultCacheMaxFile = 64 << 10
	DefaultCacheMaxSize = 64 << 20
)

// entryOverhead is what an entry costs beyond its bytes (the struct, the
// map slot, the header slices), so that empty files fill the cache too.
const entryOverhead = 512

type cacheKey struct {
	root *docroot.Root
	path string // the request's URL path, which resolved to name
}

// cached is one file as it was read: body and headers from one version,
// never modified after it is built.
type cached struct {
	key     cacheKey
	tree    *docroot.Tree // the tree the file was read from
	name    string        // beneath the tree, after index substitution
	ver     docroot.Version
	checked atomic.Int64 // when (ns since the cache's epoch) ver was last seen

	body    []byte
	modTime time.Time // for http.ServeContent
	modSec  time.Time // modTime truncated to the second, as Last-Modified says
	html    bool      // the type is HTML (Onion-Location)

	// Header values, shared by every response and never changed: net/http
	// only reads them.
	contentType, etag, lastModified, contentLength []string

	cost       int64
	prev, next *cached // the LRU list; guarded by fileCache.mu
}

var acceptRanges = []string{"bytes"}

// newCached builds an entry for the content body of name, read at version
// ver from tree.
func newCached(key cacheKey, tree *docroot.Tree, name string, ver docroot.Version, modTime time.Time, ctype, etag string, body []byte) *cached {
	e := &cached{
		key: key, tree: tree, name: name, ver: ver, body: body,
		modTime: modTime, modSec: modTime.Truncate(time.Second),
		html:          len(ctype) >= 9 && ctype[:9] == "text/html",
		contentType:   []string{ctype},
		etag:          []string{etag},
		contentLength: []string{strconv.Itoa(len(body))},
	}
	// As http.ServeContent: no Last-Modified for a zero or epoch time.
	if !modTime.IsZero() && !modTime.Equal(time.Unix(0, 0)) {
		e.lastModified = []string{modTime.UTC().Format(http.TimeFormat)}
	}
	e.cost = int64(len(body)+len(key.path)+len(name)+len(ctype)+len(etag)) + entryOverhead
	return e
}

// fileCache is the server's cache of small files, shared by every site and
// both listener chains. It never logs: entries hold only file content and
// its headers, nothing about a request.
type fileCache struct {
	now     func() time.Time
	epoch   time.Time
	maxFile atomic.Int64 // 0: the cache is off

	mu      sync.Mutex
	maxSize int64
	size    int64
	m       map[cacheKey]*cached
	lru     cached // sentinel: lru.next is the most recently used
	misses  misses // names found missing (misses.go)
}

func newFileCache(maxFile, maxSize int64, now func() time.Time) *fileCache {
	c := &fileCache{now: now, epoch: now(), m: map[cacheKey]*cached{}, misses: misses{m: map[cacheKey]*miss{}}}
	c.lru.next, c.lru.prev = &c.lru, &c.lru
	c.setLimits(maxFile, maxSize)
	return c
}

// setLimits changes the limits (on reload), evicting what no longer fits.
func (c *fileCache) setLimits(maxFile, maxSize int64) {
	if maxSize <= 0 {
		maxFile = 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.maxFile.Store(maxFile)
	c.maxSize = maxSize
	for _, e := range c.m {
		if int64(len(e.body)) > maxFile {
			c.unlink(e)
		}
	}
	for c.size > c.maxSize {
		c.unlink(c.lru.prev)
	}
	c.setMissLimit(maxSize)
}

// fits reports whether a file of size bytes is to be cached.
func (c *fileCache) fits(size int64) bool {
	max := c.maxFile.Load()
	return max > 0 && size <= max
}

func (c *fileCache) since() int64 { return int64(c.now().Sub(c.epoch)) }

// load reads f, the regular file name opened in tree with FileInfo fi,
// into an entry for key. keep says whether the entry may be put in the
// cache: the file did not change while it was read, and not within the
// last docroot.Interval either (see docroot.Version.Settled).
func (c *fileCache) load(key cacheKey, tree *docroot.Tree, name string, f *os.File, fi fs.FileInfo) (e *cached, keep bool, err error) {
	body := make([]byte, fi.Size())
	if _, err := io.ReadFull(f, body); err != nil {
		return nil, false, err
	}
	ver := docroot.VersionOf(fi)
	after, err := f.Stat()
	if err != nil {
		return nil, false, err
	}
	keep = docroot.VersionOf(after) == ver && ver.Settled(c.now())
	return newCached(key, tree, name, ver, fi.ModTime(), contentType(name), etag(fi), body), keep, nil
}

// get returns the entry for path under root if it can be served: read from
// the tree root holds now, and seen unchanged within docroot.Interval
// (looked at again otherwise). It returns nil for anything else, and drops
// an entry that turned out stale.
func (c *fileCache) get(root *docroot.Root, path string) *cached {
	e, _ := c.lookup(root, path)
	return e
}

// lookup is get, and without an entry the 404 of a fresh miss of path
// (misses.go), if there is one.
func (c *fileCache) lookup(root *docroot.Root, path string) (*cached, *fileError) {
	if c.maxFile.Load() == 0 {
		return nil, nil
	}
	tree := root.Current()
	key := cacheKey{root, path}
	var ms *miss
	c.mu.Lock()
	e := c.m[key]
	if e != nil {
		c.toFront(e)
	} else {
		ms = c.misses.m[key]
	}
	c.mu.Unlock()
	if e == nil {
		return nil, c.fresh(ms, tree)
	}
	if e.tree != tree {
		c.remove(e)
		return nil, nil
	}
	now := c.since()
	if age := now - e.checked.Load(); age >= 0 && age < int64(docroot.Interval) {
		return e, nil
	}
	t, err := root.Acquire()
	if err != nil {
		c.remove(e)
		return nil, nil
	}
	var ver docroot.Version
	if t == e.tree {
		ver, err = t.Version(e.name)
	}
	t.Release()
	if t != e.tree || err != nil || ver != e.ver {
		c.remove(e)
		return nil, nil
	}
	e.checked.Store(now)
	return e, nil
}

// put adds e, read at the time checked, unless it does not fit.
func (c *fileCache) put(e *cached, checked int64) {
	e.checked.Store(checked)
	c.mu.Lock()
	defer c.mu.Unlock()
	if int64(len(e.body)) > c.maxFile.Load() || e.cost > c.maxSize {
		return
	}
	if old := c.m[e.key]; old != nil {
		c.unlink(old)
	}
	c.forgetMiss(e.key)
	c.m[e.key] = e
	e.next, e.prev = c.lru.next, &c.lru
	e.next.prev, c.lru.next = e, e
	c.size += e.cost
	for c.size > c.maxSize {
		c.unlink(c.lru.prev)
	}
}

// dropRoot removes every entry read under root: its site's root changed
// on reload, or the site is gone.
func (c *fileCache) dropRoot(root *docroot.Root) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.m {
		if k.root == root {
			c.unlink(e)
		}
	}
	c.dropMisses(root)
}

func (c *fileCache) remove(e *cached) {
	c.mu.Lock()
	if c.m[e.key] == e {
		c.unlink(e)
	}
	c.mu.Unlock()
}

// unlink takes e out of the map and the list; c.mu is held.
func (c *fileCache) unlink(e *cached) {
	delete(c.m, e.key)
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
	c.size -= e.cost
}

// toFront marks e most recently used; c.mu is held.
func (c *fileCache) toFront(e *cached) {
	if c.lru.next == e || e.prev == nil {
		return
	}
	e.prev.next, e.next.prev = e.next, e.prev
	e.next, e.prev = c.lru.next, &c.lru
	e.next.prev, c.lru.next = e, e
}

// stats returns the number of entries and their total cost (for tests).
func (c *fileCache) stats() (n int, size int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m), c.size
}

// serveCached answers r from e exactly as http.ServeContent answers it
// from the same bytes, modification time and the Content-Type and ETag
// set before it (as serveName sets them): the differential tests hold the
// two to the same bytes. Requests with Range, If-Match or
// If-Unmodified-Since go through http.ServeContent itself; the rest (plain
// GET and HEAD, If-None-Match, If-Modified-Since), nearly all of a
// repository's traffic, are answered here without allocating.
func serveCached(w http.ResponseWriter, r *http.Request, e *cached) {
	h := w.Header()
	h["Content-Type"] = e.contentType
	h["Etag"] = e.etag
	if _, ok := r.Header["Range"]; ok || has(r.Header, "If-Match") || has(r.Header, "If-Unmodified-Since") {
		corked(w, r, int64(len(e.body)), func() {
			http.ServeContent(writerOnly{w}, r, "", e.modTime, bytes.NewReader(e.body))
		})
		return
	}
	if e.lastModified != nil {
		h["Last-Modified"] = e.lastModified
	}
	if e.notModified(r) {
		// RFC 9110 §15.4.5: no representation metadata but the
		// validators; Last-Modified goes too when an ETag is sent.
		delete(h, "Content-Type")
		delete(h, "Content-Length")
		delete(h, "Content-Encoding")
		delete(h, "Last-Modified")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h["Accept-Ranges"] = acceptRanges
	if !h2DeclaresLength(r, len(e.body)) {
		h["Content-Length"] = e.contentLength
	}
	corked(w, r, int64(len(e.body)), func() {
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = w.Write(e.body)
		}
	})
}

// h2HeldBody is how much of a body the HTTP/2 server holds before it
// sends any: h2.HeldBody, which this file does not import (the onion
// chain's files import nothing that holds a logger);
// TestHTTP2SmallBodiesDeclareTheirLength checks they are equal.
const h2HeldBody = 16 << 10

// h2DeclaresLength reports whether the HTTP/2 server will send the
// Content-Length of a body of n bytes written whole at once, in the same
// place of the HEADERS frame as a declared one: it does so for a GET whose
// body it still holds when the handler returns. Leaving the header out
// of the map then keeps a file's response headers at eight, which a Go
// map holds in one group; a ninth grows it into a table.
// TestHTTP2SmallBodiesDeclareTheirLength holds the server to it.
func h2DeclaresLength(r *http.Request, n int) bool {
	return r.ProtoMajor == 2 && r.Method == http.MethodGet && n <= h2HeldBody
}

// has reports whether a request header is present with a non-empty first
// value (how http.ServeContent reads the precondition headers).
func has(h http.Header, key string) bool {
	v := h[key]
	return len(v) > 0 && v[0] != ""
}

// notModified evaluates If-None-Match, or If-Modified-Since without it
// (RFC 9110 §13.2.2, steps 3 and 4), for GET and HEAD.
func (e *cached) notModified(r *http.Request) bool {
	if v := r.Header["If-None-Match"]; len(v) > 0 && v[0] != "" {
		return etagListMatches(v[0], e.etag[0])
	}
	v := r.Header["If-Modified-Since"]
	if e.lastModified == nil || len(v) == 0 || v[0] == "" {
		return false
	}
	t, err := http.ParseTime(v[0])
	if err != nil {
		return false // RFC 9110 §13.1.3: an invalid date is ignored
	}
	return !e.modSec.After(t)
}

// etagListMatches reports whether an If-None-Match value matches etag by
// weak comparison (RFC 9110 §13.1.2, §8.8.3.2): "*", or a list of entity
// tags. Parsing stops at the first malformed element, as net/http's does.
func etagListMatches(list, etag string) bool {
	for {
		list = trimSpace(list)
		if list == "" {
			return false
		}
		switch list[0] {
		case ',':
			list = list[1:]
			continue
		case '*':
			return true
		}
		tag, rest, ok := nextETag(list)
		if !ok {
			return false
		}
		if weakEqual(tag, etag) {
			return true
		}
		list = rest
	}
}

// nextETag splits an entity tag (W/"opaque" or "opaque") off s.
func nextETag(s string) (tag, rest string, ok bool) {
	start := 0
	if len(s) >= 2 && s[0] == 'W' && s[1] == '/' {
		start = 2
	}
	if len(s)-start < 2 || s[start] != '"' {
		return "", "", false
	}
	for i := start + 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return s[:i+1], s[i+1:], true
		case c == 0x21 || c >= 0x23 && c <= 0x7e || c >= 0x80: // etagc
		default:
			return "", "", false
		}
	}
	return "", "", false
}

func weakEqual(a, b string) bool {
	if len(a) >= 2 && a[:2] == "W/" {
		a = a[2:]
	}
	if len(b) >= 2 && b[:2] == "W/" {
		b = b[2:]
	}
	return a == b
}

// trimSpace trims the whitespace net/textproto trims from header values.
func trimSpace(s string) string {
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

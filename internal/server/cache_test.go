package server

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"depot/internal/docroot"
)

// testClock is a settable clock, started at the real time so that the
// files tests write are as old as they look.
type testClock struct{ ns atomic.Int64 }

func newTestClock() *testClock {
	c := &testClock{}
	c.ns.Store(time.Now().UnixNano())
	return c
}

func (c *testClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *testClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// cacheFixture is a cache over one root directory, on a test clock.
type cacheFixture struct {
	dir   string
	clock *testClock
	root  *docroot.Root
	c     *fileCache
}

func newCacheFixture(t *testing.T, maxFile, maxSize int64, files map[string]string) *cacheFixture {
	t.Helper()
	fx := &cacheFixture{dir: filepath.Join(t.TempDir(), "root"), clock: newTestClock()}
	writeTree(t, fx.dir, files)
	// Files are settled once Interval has passed since they were written.
	fx.clock.ns.Store(time.Now().UnixNano())
	fx.clock.advance(docroot.Interval)
	var err error
	if fx.root, err = docroot.Open(fx.dir, fx.clock.now); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fx.root.Close() })
	fx.c = newFileCache(maxFile, maxSize, fx.clock.now)
	return fx
}

// fill reads name as the server does on a miss and puts it in the cache
// under the URL path "/"+name. It reports whether the entry was kept.
func (fx *cacheFixture) fill(t *testing.T, name string) (*cached, bool) {
	t.Helper()
	tree, err := fx.root.Acquire()
	if err != nil {
		t.Fatal(err)
	}
	defer tree.Release()
	f, err := tree.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	e, keep, err := fx.c.load(cacheKey{fx.root, "/" + name}, tree, name, f, fi)
	if err != nil {
		t.Fatal(err)
	}
	if keep {
		fx.c.put(e, fx.c.since())
	}
	return e, keep
}

func (fx *cacheFixture) get(name string) *cached { return fx.c.get(fx.root, "/"+name) }

// TestCacheCapIsHonoured fills the cache far past its cap: the total never
// exceeds it, and the least recently used entries are the ones that left.
func TestCacheCapIsHonoured(t *testing.T) {
	files := map[string]string{}
	for i := range 40 {
		files[fmt.Sprintf("f%02d", i)] = strings.Repeat("x", 1000)
	}
	const maxSize = 10 * (1000 + entryOverhead + 16)
	fx := newCacheFixture(t, 4096, maxSize, files)
	for i := range 40 {
		fx.fill(t, fmt.Sprintf("f%02d", i))
		if i >= 2 && fx.get("f00") == nil {
			t.Fatalf("after %d fills: f00, used after every fill, was evicted", i+1)
		}
		n, size := fx.c.stats()
		if size > maxSize {
			t.Fatalf("after %d fills: %d entries cost %d bytes, more than the cap %d", i+1, n, size, maxSize)
		}
	}
	n, _ := fx.c.stats()
	if n < 8 || n > 10 {
		t.Errorf("%d entries kept, want about 10 of ~1.5 KB in %d bytes", n, maxSize)
	}
	if fx.get("f00") == nil || fx.get("f39") == nil {
		t.Error("the most recently used entries were evicted")
	}
	if fx.get("f01") != nil || fx.get("f30") != nil {
		t.Error("least recently used entries are still cached")
	}
	// Shrinking the limits on reload evicts at once.
	fx.c.setLimits(4096, 3*(1000+entryOverhead+16))
	if n, size := fx.c.stats(); n > 3 || size > 3*(1000+entryOverhead+16) {
		t.Errorf("after shrinking: %d entries, %d bytes", n, size)
	}
	fx.c.setLimits(500, maxSize)
	if n, _ := fx.c.stats(); n != 0 {
		t.Errorf("after max_file fell below every file: %d entries, want 0", n)
	}
}

func TestCacheKeepsOnlySmallFiles(t *testing.T) {
	fx := newCacheFixture(t, 100, 1<<20, map[string]string{"small": "s", "big": strings.Repeat("b", 101)})
	if !fx.c.fits(100) || fx.c.fits(101) {
		t.Error("fits: want files up to max_file")
	}
	fx.c.put(newCached(cacheKey{fx.root, "/big"}, nil, "big", docroot.Version{}, time.Time{}, "x", `"e"`, make([]byte, 101)), 0)
	if n, _ := fx.c.stats(); n != 0 {
		t.Errorf("a file over max_file was kept")
	}
	off := newFileCache(64<<10, 0, time.Now)
	if off.fits(1) {
		t.Error("max_size 0: want the cache off")
	}
}

// TestCacheRevalidates: an entry is served for at most Interval after the
// file was last seen; then a file replaced by rename is noticed and the
// entry dropped, and an unchanged one is served on.
func TestCacheRevalidates(t *testing.T) {
	fx := newCacheFixture(t, 4096, 1<<20, map[string]string{"repomd.xml": "one", "other": "o"})
	if _, keep := fx.fill(t, "repomd.xml"); !keep {
		t.Fatal("a settled file was not kept")
	}
	fx.fill(t, "other")
	writeTree(t, fx.dir, map[string]string{"repomd.xml.tmp": "two"})
	if err := os.Rename(filepath.Join(fx.dir, "repomd.xml.tmp"), filepath.Join(fx.dir, "repomd.xml")); err != nil {
		t.Fatal(err)
	}
	fx.clock.advance(docroot.Interval - time.Millisecond)
	if e := fx.get("repomd.xml"); e == nil || string(e.body) != "one" {
		t.Fatal("within Interval of the last look: want the entry served")
	}
	fx.clock.advance(time.Millisecond)
	if e := fx.get("repomd.xml"); e != nil {
		t.Errorf("Interval after the last look, the file replaced: got %q, want the entry dropped", e.body)
	}
	if e := fx.get("other"); e == nil {
		t.Error("an unchanged file was dropped on its look")
	}
	// The new file changed less than Interval ago (real time): served, not kept.
	fx.clock.ns.Store(time.Now().UnixNano())
	if e, keep := fx.fill(t, "repomd.xml"); keep || string(e.body) != "two" {
		t.Errorf("a file changed just now: body %q keep %v, want \"two\" not kept", e.body, keep)
	}
}

// TestCacheFollowsTheTree: after the root's tree is swapped, entries of
// the old tree are not served once the root follows.
func TestCacheFollowsTheTree(t *testing.T) {
	fx := newCacheFixture(t, 4096, 1<<20, map[string]string{"v": "1"})
	fx.fill(t, "v")
	writeTree(t, fx.dir+".new", map[string]string{"v": "2"})
	if err := os.Rename(fx.dir, fx.dir+".old"); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(fx.dir+".new", fx.dir); err != nil {
		t.Fatal(err)
	}
	fx.clock.advance(docroot.Interval)
	if e := fx.get("v"); e != nil {
		t.Errorf("after the swap: got %q from the old tree", e.body)
	}
}

func TestCacheDropRoot(t *testing.T) {
	fx := newCacheFixture(t, 4096, 1<<20, map[string]string{"a": "a", "b": "b", "two/c": "c"})
	other := *fx
	var err error
	if other.root, err = docroot.Open(filepath.Join(fx.dir, "two"), fx.clock.now); err != nil {
		t.Fatal(err)
	}
	defer other.root.Close()
	fx.fill(t, "a")
	fx.fill(t, "b")
	other.fill(t, "c")
	fx.c.dropRoot(fx.root)
	if n, size := fx.c.stats(); n != 1 || fx.get("a") != nil || other.get("c") == nil {
		t.Errorf("after dropRoot: %d entries (%d bytes), want only the other root's", n, size)
	}
}

// diffRequest is one request of the differential tables.
type diffRequest struct {
	name   string
	method string
	header []string
}

// diffRequests are the requests whose cached and uncached answers must be
// the same bytes. etag and lm are the file's validators.
func diffRequests(etag, lm, before, after string) []diffRequest {
	weak := "W/" + etag
	return []diffRequest{
		{name: "GET", method: "GET"},
		{name: "HEAD", method: "HEAD"},
		{name: "If-None-Match match", header: []string{"If-None-Match", etag}},
		{name: "If-None-Match weak", header: []string{"If-None-Match", weak}},
		{name: "If-None-Match list", header: []string{"If-None-Match", `"a", ` + etag}},
		{name: "If-None-Match list no space", header: []string{"If-None-Match", `"a",` + etag}},
		{name: "If-None-Match no comma", header: []string{"If-None-Match", `"a" ` + etag}},
		{name: "If-None-Match leading commas", header: []string{"If-None-Match", ` , ,` + etag}},
		{name: "If-None-Match star", header: []string{"If-None-Match", "*"}},
		{name: "If-None-Match other", header: []string{"If-None-Match", `"other"`}},
		{name: "If-None-Match garbage", header: []string{"If-None-Match", `garbage, ` + etag}},
		{name: "If-None-Match unterminated", header: []string{"If-None-Match", `"abc`}},
		{name: "If-None-Match W/ only", header: []string{"If-None-Match", `W/`}},
		{name: "If-None-Match blank", header: []string{"If-None-Match", "  "}},
		{name: "If-None-Match and stale IMS", header: []string{"If-None-Match", `"other"`, "If-Modified-Since", after}},
		{name: "If-None-Match HEAD", method: "HEAD", header: []string{"If-None-Match", etag}},
		{name: "If-Modified-Since same", header: []string{"If-Modified-Since", lm}},
		{name: "If-Modified-Since later", header: []string{"If-Modified-Since", after}},
		{name: "If-Modified-Since earlier", header: []string{"If-Modified-Since", before}},
		{name: "If-Modified-Since RFC 850", header: []string{"If-Modified-Since", "Sunday, 06-Nov-94 08:49:37 GMT"}},
		{name: "If-Modified-Since garbage", header: []string{"If-Modified-Since", "yesterday"}},
		{name: "Range", header: []string{"Range", "bytes=2-5"}},
		{name: "Range suffix", header: []string{"Range", "bytes=-3"}},
		{name: "Range open", header: []string{"Range", "bytes=5-"}},
		{name: "Range multi", header: []string{"Range", "bytes=0-1,4-6"}},
		{name: "Range unsatisfiable", header: []string{"Range", "bytes=9999-"}},
		{name: "Range malformed", header: []string{"Range", "bytes=x-y"}},
		{name: "Range HEAD", method: "HEAD", header: []string{"Range", "bytes=2-5"}},
		{name: "If-Range etag", header: []string{"Range", "bytes=2-5", "If-Range", etag}},
		{name: "If-Range stale etag", header: []string{"Range", "bytes=2-5", "If-Range", `"old"`}},
		{name: "If-Range date", header: []string{"Range", "bytes=2-5", "If-Range", lm}},
		{name: "If-Range old date", header: []string{"Range", "bytes=2-5", "If-Range", before}},
		{name: "If-Match", header: []string{"If-Match", etag}},
		{name: "If-Match other", header: []string{"If-Match", `"other"`}},
		{name: "If-Unmodified-Since earlier", header: []string{"If-Unmodified-Since", before}},
		{name: "If-Unmodified-Since later", header: []string{"If-Unmodified-Since", after}},
		{name: "If-Range without Range", header: []string{"If-Range", `"old"`}},
		{name: "empty Range", header: []string{"Range", ""}},
	}
}

// recorded is one answer, comparable.
type recorded struct {
	status int
	header http.Header
	body   string
}

func (r recorded) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d\n", r.status)
	keys := make([]string, 0, len(r.header))
	for k := range r.header {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s: %q\n", k, r.header[k])
	}
	fmt.Fprintf(&b, "\n%q", r.body)
	return b.String()
}

// boundary normalizes a multipart/byteranges boundary, random per answer.
func normalizeBoundary(r *recorded) {
	ct := r.header.Get("Content-Type")
	_, b, ok := strings.Cut(ct, "boundary=")
	if !ok {
		return
	}
	r.header.Set("Content-Type", strings.ReplaceAll(ct, b, "BOUNDARY"))
	r.body = strings.ReplaceAll(r.body, b, "BOUNDARY")
}

func record(h func(w http.ResponseWriter)) recorded {
	rec := httptest.NewRecorder()
	h(rec)
	out := recorded{status: rec.Code, header: rec.Header(), body: rec.Body.String()}
	normalizeBoundary(&out)
	return out
}

// TestServeCachedAsServeContent compares serveCached with what the
// uncached path does, http.ServeContent over the same bytes with the same
// Content-Type and ETag set, for a table of requests.
func TestServeCachedAsServeContent(t *testing.T) {
	mod := time.Date(2026, 11, 3, 10, 20, 30, 123456789, time.UTC)
	for _, mt := range []time.Time{mod, time.Unix(0, 0)} {
		body := []byte("<?xml version=\"1.0\"?><repomd/>\n")
		etag := `"68f0a1e6-1f"`
		e := newCached(cacheKey{}, nil, "repodata/repomd.xml", docroot.Version{}, mt, "application/xml", etag, body)
		lm := mt.UTC().Format(http.TimeFormat)
		before := mt.Add(-time.Hour).UTC().Format(http.TimeFormat)
		after := mt.Add(time.Hour).UTC().Format(http.TimeFormat)
		for _, tt := range diffRequests(etag, lm, before, after) {
			t.Run(mt.Format("2006")+"/"+tt.name, func(t *testing.T) {
				req := func() *http.Request {
					method := tt.method
					if method == "" {
						method = "GET"
					}
					r := httptest.NewRequest(method, "/repodata/repomd.xml", nil)
					for i := 0; i+1 < len(tt.header); i += 2 {
						r.Header.Set(tt.header[i], tt.header[i+1])
					}
					return r
				}
				want := record(func(w http.ResponseWriter) {
					w.Header().Set("Content-Type", "application/xml")
					w.Header().Set("Etag", etag)
					http.ServeContent(w, req(), "", mt, bytes.NewReader(body))
				})
				got := record(func(w http.ResponseWriter) { serveCached(w, req(), e) })
				if got.String() != want.String() {
					t.Errorf("cached answer differs from http.ServeContent's\ngot:\n%s\nwant:\n%s", got, want)
				}
			})
		}
	}
}

// TestServeCachedAllocatesNothing: a plain GET and a revalidation (304)
// from the cache, through a reused writer.
func TestServeCachedAllocatesNothing(t *testing.T) {
	fx := newCacheFixture(t, 4096, 1<<20, map[string]string{"repomd.xml": strings.Repeat("r", 4096)})
	e, _ := fx.fill(t, "repomd.xml")
	w := &discardWriter{h: http.Header{}}
	for _, hdr := range [][]string{nil, {"If-None-Match", e.etag[0]}, {"If-Modified-Since", e.lastModified[0]}} {
		r := mustRequest(t, "/repomd.xml")
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Set(hdr[i], hdr[i+1])
		}
		allocs := testing.AllocsPerRun(100, func() {
			clear(w.h)
			if e := fx.get("repomd.xml"); e != nil {
				serveCached(w, r, e)
			}
		})
		if allocs != 0 {
			t.Errorf("%v: %.1f allocations per request, want 0", hdr, allocs)
		}
	}
}

package server

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"depot/internal/config"
	"depot/internal/docroot"
	"depot/internal/h2"
)

// settledClock is a clock a little ahead of the real one: files written
// by a test look settled at once (changed more than docroot.Interval ago),
// so the cache keeps them without the test waiting a second.
func settledClock() time.Time { return time.Now().Add(2 * docroot.Interval) }

// rawExchange sends one request on a fresh connection and returns the
// whole answer as received, with the Date header and any multipart
// boundary made constant.
func rawExchange(t testing.TB, addr, request string) string {
	t.Helper()
	return constantDates(rawFull(t, addr, request))
}

// constantDates makes the Date header and a multipart boundary of an
// answer constant.
func constantDates(s string) string {
	s = dateLine.ReplaceAllString(s, "Date: DATE\r\n")
	if m := boundaryRE.FindStringSubmatch(s); m != nil {
		s = strings.ReplaceAll(s, m[1], "BOUNDARY")
	}
	return s
}

var (
	dateLine   = regexp.MustCompile(`Date: [^\r]*\r\n`)
	boundaryRE = regexp.MustCompile(`boundary=([0-9a-f]+)`)
)

// TestCachedAnswersAreUncachedAnswers serves one tree from a server with
// the cache and one without, and compares their answers to a table of
// requests byte for byte, twice (the second time from memory).
func TestCachedAnswersAreUncachedAnswers(t *testing.T) {
	site := `onion_location = "http://` + strings.Repeat("a", 56) + `.onion"
autoindex = true
`
	cached := startServer(t, site, Options{Now: settledClock})
	uncached := startServer(t, site+"[file_cache]\noff = true\n", Options{Now: settledClock})
	// The same bytes and times in both trees.
	mod := time.Date(2026, 11, 3, 10, 20, 30, 0, time.UTC)
	for _, root := range []string{cached.root, uncached.root} {
		writeTree(t, root, map[string]string{"big.bin": strings.Repeat("0123456789abcdef", 8<<10)}) // over max_file
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil {
				os.Chtimes(p, mod, mod)
			}
			return err
		})
	}
	etag := func(name string) string {
		fi, err := os.Stat(filepath.Join(cached.root, name))
		if err != nil {
			t.Fatal(err)
		}
		return `"` + strconv.FormatInt(mod.Unix(), 16) + "-" + strconv.FormatInt(fi.Size(), 16) + `"`
	}
	lm := mod.Format(http.TimeFormat)
	before, after := mod.Add(-time.Hour).Format(http.TimeFormat), mod.Add(time.Hour).Format(http.TimeFormat)
	paths := []string{
		"/", "/index.html", "/r4.2/current/host/fc37/repodata/repomd.xml", "/deb/dists/bookworm/InRelease",
		"/iso/Qubes-R4.2.iso", "/iso/Qubes-R4.2.iso.asc", "/big.bin", "/r9.9/missing", "/listing", "/listing/",
		"/.git/config", "/r4.2/current/host/fc37/repodata/repomd.xml/", "/index.html?x=1",
	}
	requests := diffRequestTable(paths, "Connection: close\r\n", func(name string) string {
		if _, err := os.Stat(filepath.Join(cached.root, name)); err != nil {
			return `"none"`
		}
		return etag(name)
	}, lm, before, after)
	for round := range 2 {
		for _, req := range requests {
			want := rawExchange(t, uncached.clearnet, req)
			if got := rawExchange(t, cached.clearnet, req); got != want {
				t.Errorf("round %d: %q\ncached answer:\n%s\nuncached answer:\n%s", round, req, got, want)
			}
			if got, want := rawExchange(t, cached.onion, req), rawExchange(t, uncached.onion, req); got != want {
				t.Errorf("round %d, onion: %q\ncached answer:\n%s\nuncached answer:\n%s", round, req, got, want)
			}
		}
		if n, _ := cached.srv.cache.stats(); n == 0 {
			t.Fatalf("round %d: nothing was cached; the comparison proved nothing", round)
		}
		if n, _ := uncached.srv.cache.stats(); n != 0 {
			t.Fatalf("[file_cache] off = true: %d entries cached", n)
		}
	}
	if t.Failed() {
		return
	}
	sameLogLines(t, cached, uncached, "the cached server", "the uncached one")
}

// sameLogLines fails t unless a and b's logs hold the same lines, but for
// the times and connection numbers, in any order (a line is written after
// its answer is sent, and a refused request's once its connection has
// closed, which may be after the client saw the close: so it waits a
// little for them to agree).
func sameLogLines(t *testing.T, a, b *testServer, aName, bName string) {
	t.Helper()
	times := regexp.MustCompile(`(?m)\[[^]]*\]|^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d|#\d+: \*\d+`)
	lines := func(ts *testServer, name string) []string {
		l := strings.Split(times.ReplaceAllString(ts.readLog(t, name), "T"), "\n")
		for i := range l {
			l[i] = strings.ReplaceAll(l[i], ts.root, "ROOT")
		}
		slices.Sort(l)
		return l
	}
	// only is what a holds and b does not.
	only := func(a, b []string) (out []string) {
		b = slices.Clone(b)
		for _, x := range a {
			if i := slices.Index(b, x); i >= 0 {
				b = slices.Delete(b, i, i+1)
			} else {
				out = append(out, x)
			}
		}
		return out
	}
	for _, name := range []string{"access.log", "error.log"} {
		al, bl := lines(a, name), lines(b, name)
		for deadline := time.Now().Add(5 * time.Second); !slices.Equal(al, bl) && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
			al, bl = lines(a, name), lines(b, name)
		}
		if !slices.Equal(al, bl) {
			t.Errorf("%s differs between %s and %s:\nonly in %s:\n%s\nonly in %s:\n%s", name, aName, bName,
				aName, strings.Join(only(al, bl), "\n"), bName, strings.Join(only(bl, al), "\n"))
		}
	}
}

// version is one content of repomd.xml in TestSwapUnderLoad.
type version struct {
	body, etag, lastModified string
	swapped                  time.Time // when the rename that put it in place returned
}

// TestSwapUnderLoad replaces repomd.xml by rename (as createrepo_c and
// rsync do) over and over while clients ask for it: no answer mixes the
// headers of one version with the body of another, and none is older than
// a second (plus a margin, not a speed test) after a newer version was in
// place.
func TestSwapUnderLoad(t *testing.T) {
	ts := startServer(t, "", Options{Now: settledClock})
	const name = "r4.2/current/host/fc37/repodata/repomd.xml"
	file := filepath.Join(ts.root, name)
	base := time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)
	var (
		mu       sync.Mutex
		versions []version
	)
	put := func(i int) {
		body := fmt.Sprintf("<repomd revision=\"%d\">%s</repomd>\n", i, strings.Repeat("x", 100+7*i))
		tmp := file + ".tmp"
		if err := os.WriteFile(tmp, []byte(body), 0o644); err != nil {
			t.Error(err)
			return
		}
		mod := base.Add(time.Duration(i) * time.Second)
		os.Chtimes(tmp, mod, mod)
		v := version{body: body, etag: `"` + strconv.FormatInt(mod.Unix(), 16) + "-" + strconv.FormatInt(int64(len(body)), 16) + `"`,
			lastModified: mod.Format(http.TimeFormat)}
		if err := os.Rename(tmp, file); err != nil {
			t.Error(err)
			return
		}
		v.swapped = time.Now()
		mu.Lock()
		versions = append(versions, v)
		mu.Unlock()
	}
	put(0)

	type seen struct {
		start                         time.Time
		status                        int
		body, etag, lastModified, len string
	}
	var (
		answers []seen
		wg      sync.WaitGroup
		stop    = make(chan struct{})
	)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	defer client.CloseIdleConnections()
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				s := seen{start: time.Now()}
				resp, err := client.Get("http://" + ts.clearnet + "/" + name)
				if err != nil {
					t.Error(err)
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				s.status, s.body = resp.StatusCode, string(b)
				s.etag, s.lastModified, s.len = resp.Header.Get("ETag"), resp.Header.Get("Last-Modified"), resp.Header.Get("Content-Length")
				mu.Lock()
				answers = append(answers, s)
				mu.Unlock()
			}
		})
	}
	// Swaps every 300 ms for 3 s: entries are cached between them (the
	// clock makes every file settled), so a stale entry would be seen.
	for i := 1; i <= 10; i++ {
		time.Sleep(300 * time.Millisecond) // the pace of the swaps; no outcome depends on it
		put(i)
	}
	time.Sleep(1500 * time.Millisecond)
	close(stop)
	wg.Wait()

	byBody := map[string]int{}
	for i, v := range versions {
		byBody[v.body] = i
	}
	const margin = 250 * time.Millisecond
	var bad, checked int
	for _, a := range answers {
		i, ok := byBody[a.body]
		switch {
		case a.status != 200 || !ok:
			bad++
			if bad <= 5 {
				t.Errorf("status %d, body %.60q: want 200 and one version's body", a.status, a.body)
			}
			continue
		case a.etag != versions[i].etag || a.lastModified != versions[i].lastModified || a.len != strconv.Itoa(len(a.body)):
			bad++
			if bad <= 5 {
				t.Errorf("version %d's body with ETag %s, Last-Modified %s, Content-Length %s; want %s, %s, %d",
					i, a.etag, a.lastModified, a.len, versions[i].etag, versions[i].lastModified, len(a.body))
			}
			continue
		}
		// The newest version in place a second (and the margin) before
		// the request was sent.
		due := 0
		for j, v := range versions {
			if v.swapped.Add(time.Second + margin).Before(a.start) {
				due = j
			}
		}
		if due > 0 {
			checked++
		}
		if i < due {
			bad++
			if bad <= 5 {
				t.Errorf("request sent %v after version %d was in place got version %d", a.start.Sub(versions[due].swapped), due, i)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no answer came a second after a swap; the age check proved nothing")
	}
	if n, _ := ts.srv.cache.stats(); n == 0 {
		t.Fatal("nothing was cached; the test proved nothing about the cache")
	}
	t.Logf("%d answers, %d checked for age, %d versions", len(answers), checked, len(versions))
}

// TestReloadEmptiesEntriesOfAChangedRoot: a SIGHUP that gives a site
// another root drops what was cached from the old one; one that keeps the
// root keeps its entries.
func TestReloadEmptiesEntriesOfAChangedRoot(t *testing.T) {
	ts := startServer(t, "", Options{Now: settledClock})
	const p = "/r4.2/current/host/fc37/repodata/repomd.xml"
	body(t, get(t, ts.clearnet, p))
	if n, _ := ts.srv.cache.stats(); n != 1 {
		t.Fatalf("%d entries after one request, want 1", n)
	}
	same := *ts.cfg
	if err := ts.srv.Reload(&same); err != nil {
		t.Fatal(err)
	}
	if n, _ := ts.srv.cache.stats(); n != 1 {
		t.Errorf("reload with the same root: %d entries, want 1 kept", n)
	}
	other := filepath.Join(t.TempDir(), "other")
	writeTree(t, other, map[string]string{p[1:]: "other tree"})
	moved := *ts.cfg
	moved.Site = []config.Site{ts.cfg.Site[0]}
	moved.Site[0].Root = other
	if err := ts.srv.Reload(&moved); err != nil {
		t.Fatal(err)
	}
	if n, _ := ts.srv.cache.stats(); n != 0 {
		t.Errorf("reload with another root: %d entries, want the old root's dropped", n)
	}
	if got := body(t, get(t, ts.clearnet, p)); got != "other tree" {
		t.Errorf("after the reload: %q, want the new root's file", got)
	}
}

// diffRequestTable is the requests of diffRequests for each path (with the
// ETag tagOf gives the file a path names, and extra header lines after
// Host), and an HTTP/1.0 GET and a POST of each.
func diffRequestTable(paths []string, extra string, tagOf func(name string) string, lm, before, after string) []string {
	var requests []string
	for _, p := range paths {
		name := strings.TrimPrefix(strings.SplitN(p, "?", 2)[0], "/")
		if name == "" {
			name = "index.html"
		}
		for _, dr := range diffRequests(tagOf(name), lm, before, after) {
			method := dr.method
			if method == "" {
				method = "GET"
			}
			req := method + " " + p + " HTTP/1.1\r\nHost: x\r\n" + extra
			for i := 0; i+1 < len(dr.header); i += 2 {
				req += dr.header[i] + ": " + dr.header[i+1] + "\r\n"
			}
			requests = append(requests, req+"\r\n")
		}
		requests = append(requests, "GET "+p+" HTTP/1.0\r\n\r\n", "POST "+p+" HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"+extra+"\r\n")
	}
	return requests
}

// TestHTTP2SmallBodiesDeclareTheirLength: over HTTP/2, a cached file's
// answer has its Content-Length whatever its size, GET or HEAD, though
// for a small GET depot leaves the header to its HTTP/2 server (see
// h2DeclaresLength): this fails if the server stops declaring it, or
// holds less of a body than h2HeldBody.
func TestHTTP2SmallBodiesDeclareTheirLength(t *testing.T) {
	if h2HeldBody != h2.HeldBody {
		t.Fatalf("h2HeldBody is %d, the HTTP/2 server holds %d", h2HeldBody, h2.HeldBody)
	}
	ts, _, tc := startTLS(t, Options{Now: settledClock})
	sizes := []int{0, 1, 100, h2HeldBody - 1, h2HeldBody, h2HeldBody + 1, 40 << 10}
	files := map[string]string{}
	for _, n := range sizes {
		files["f"+strconv.Itoa(n)] = strings.Repeat("x", n)
	}
	writeTree(t, ts.root, files)
	client := h2Client(tc.RootCAs)
	for round := range 2 { // the second from memory
		for _, n := range sizes {
			for _, method := range []string{http.MethodGet, http.MethodHead} {
				req, err := http.NewRequest(method, "https://"+ts.clearnet+"/f"+strconv.Itoa(n), nil)
				if err != nil {
					t.Fatal(err)
				}
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					t.Fatal(err)
				}
				want := 0
				if method == http.MethodGet {
					want = n
				}
				if resp.ProtoMajor != 2 || resp.StatusCode != 200 || len(b) != want || resp.Header.Get("Content-Length") != strconv.Itoa(n) {
					t.Errorf("round %d: %s of %d bytes: HTTP/%d %d, Content-Length %q, %d bytes of body; want HTTP/2 200, Content-Length %d, %d bytes",
						round, method, n, resp.ProtoMajor, resp.StatusCode, resp.Header.Get("Content-Length"), len(b), n, want)
				}
			}
		}
	}
	if n, _ := ts.srv.cache.stats(); n < len(sizes) {
		t.Fatalf("%d entries cached, want the %d files: the test proved nothing", n, len(sizes))
	}
}

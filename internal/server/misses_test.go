package server

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"depot/internal/docroot"
)

// getStatus fetches path and returns the status and body.
func getStatus(t *testing.T, addr, path string) (int, string) {
	t.Helper()
	resp := get(t, addr, path)
	return resp.StatusCode, body(t, resp)
}

// TestMissAppearsAfterInterval: a name found missing is answered from
// memory until docroot.Interval has passed, then looked up again, so a file
// created under it (in place, or in a tree swapped in) is served within a
// second.
func TestMissAppearsAfterInterval(t *testing.T) {
	clock := newTestClock()
	ts := startServer(t, "", Options{Now: clock.now})
	for _, name := range []string{"late.txt", "new/dir/late.txt", "index.html/late.txt"} {
		t.Run(name, func(t *testing.T) {
			if st, _ := getStatus(t, ts.clearnet, "/"+name); st != http.StatusNotFound {
				t.Fatalf("GET /%s before it exists: got %d, want 404", name, st)
			}
			if name == "index.html/late.txt" {
				// ENOTDIR rather than ENOENT: replace the file by a directory.
				if err := os.Remove(filepath.Join(ts.root, "index.html")); err != nil {
					t.Fatal(err)
				}
			}
			writeTree(t, ts.root, map[string]string{name: "late"})
			// Within the interval the miss answers: nothing looked at the disk.
			if st, _ := getStatus(t, ts.clearnet, "/"+name); st != http.StatusNotFound {
				t.Fatalf("GET /%s just after it was created: got %d, want the recorded 404 (is the miss kept?)", name, st)
			}
			clock.advance(docroot.Interval)
			if st, b := getStatus(t, ts.clearnet, "/"+name); st != http.StatusOK || b != "late" {
				t.Errorf("GET /%s a second after it was created: got %d %q, want 200 \"late\"", name, st, b)
			}
		})
	}
}

// TestMissFollowsSwappedTree: a name missing from one tree is served at
// once from the next tree when the root's path is seen to name another
// directory, without waiting for the miss to age.
func TestMissFollowsSwappedTree(t *testing.T) {
	dir := t.TempDir()
	rel1, rel2 := filepath.Join(dir, "1"), filepath.Join(dir, "2")
	writeTree(t, rel1, map[string]string{"a.txt": "one"})
	writeTree(t, rel2, map[string]string{"a.txt": "two", "b.txt": "two"})
	current := filepath.Join(dir, "current")
	if err := os.Symlink("1", current); err != nil {
		t.Fatal(err)
	}
	clock := newTestClock()
	root, err := docroot.Open(current, clock.now)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	c := newFileCache(DefaultCacheMaxFile, DefaultCacheMaxSize, clock.now)
	tree := root.Current()
	fe := &fileError{status: http.StatusNotFound, detail: "missing"}
	c.putMiss(root, "/b.txt", tree, c.since(), fe)
	if _, got := c.lookup(root, "/b.txt"); got != fe {
		t.Fatalf("lookup of a fresh miss: got %v, want its 404", got)
	}
	if err := os.Symlink("2", current+".tmp"); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(current+".tmp", current); err != nil {
		t.Fatal(err)
	}
	if !root.Moved(tree) {
		t.Fatal("the root did not follow the flipped symlink")
	}
	if _, got := c.lookup(root, "/b.txt"); got != nil {
		t.Errorf("lookup after the tree was swapped: got %v, want no answer (the name is looked up in the new tree)", got)
	}
}

// TestMissErrorLines: every request for a missing name writes its access
// and error lines, the same whether it was looked up or answered from the
// recorded miss, and the client sees the same answer.
func TestMissErrorLines(t *testing.T) {
	ts := startServer(t, "", Options{})
	var answers []string
	for range 3 {
		answers = append(answers, rawExchange(t, ts.clearnet, "GET /r9.9/missing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
	}
	for i, a := range answers[1:] {
		if a != answers[0] {
			t.Errorf("answer %d differs from the first:\n%s\nwant\n%s", i+2, a, answers[0])
		}
	}
	if !strings.HasPrefix(answers[0], "HTTP/1.1 404 Not Found\r\n") || !strings.HasSuffix(answers[0], "\r\n\r\n404 Not Found\n") {
		t.Errorf("answer: %q, want a 404 with the generic body", answers[0])
	}
	access := strings.Split(strings.TrimSpace(ts.readLog(t, "access.log")), "\n")
	errs := strings.Split(strings.TrimSpace(ts.readLog(t, "error.log")), "\n")
	if len(access) != 3 || len(errs) != 3 {
		t.Fatalf("got %d access and %d error lines, want 3 of each:\n%s\n%s", len(access), len(errs), access, errs)
	}
	want := `open() "` + filepath.Join(ts.root, "r9.9/missing") + `" failed (2: No such file or directory), client: 127.0.0.1, server: *, request: "GET /r9.9/missing HTTP/1.1", host: "x"`
	prefix := regexp.MustCompile(`^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[error\] \d+#0: \*\d+ `)
	for i, line := range errs {
		if msg := prefix.ReplaceAllString(line, ""); msg != want {
			t.Errorf("error line %d: %q\nwant ... %q", i+1, line, want)
		}
		if !strings.Contains(access[i], `"GET /r9.9/missing HTTP/1.1" 404 14 `) {
			t.Errorf("access line %d: %q, want the 404 of 14 bytes", i+1, access[i])
		}
	}
}

// TestRecordedMissAllocatesNothing: a repeated 404, answered from the
// recorded miss, writes its access and error lines without an allocation
// (a time formatter that kept a pointer from the error-log entry once made
// its request line escape to the heap, one allocation per 404).
func TestRecordedMissAllocatesNothing(t *testing.T) {
	at := settledClock()
	now := func() time.Time { return at }
	ts := startServer(t, "", Options{Now: now})
	h := newClearnet(&ts.srv.sites, io.Discard, io.Discard, now, nil)
	r := mustRequest(t, "/r9.9/missing")
	w := &discardWriter{h: http.Header{}}
	h.ServeHTTP(w, r) // records the miss
	allocs := testing.AllocsPerRun(100, func() {
		clear(w.h)
		h.ServeHTTP(w, r)
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per repeated 404, want 0", allocs)
	}
}

// TestOnionRecordsNoMiss: the cache holds nothing about an onion request,
// not even the name of a missing file it asked for; a clearnet request's
// miss is recorded.
func TestOnionRecordsNoMiss(t *testing.T) {
	ts := startServer(t, "", Options{})
	misses := func() int {
		ts.srv.cache.mu.Lock()
		defer ts.srv.cache.mu.Unlock()
		return len(ts.srv.cache.misses.m)
	}
	if st, _ := getStatus(t, ts.onion, "/onion-secret-name"); st != http.StatusNotFound {
		t.Fatalf("onion GET of a missing name: got %d, want 404", st)
	}
	if n := misses(); n != 0 {
		t.Errorf("after an onion request: %d misses recorded, want 0", n)
	}
	if st, _ := getStatus(t, ts.clearnet, "/clearnet-name"); st != http.StatusNotFound {
		t.Fatalf("clearnet GET of a missing name: got %d, want 404", st)
	}
	if n := misses(); n != 1 {
		t.Errorf("after a clearnet request: %d misses recorded, want 1", n)
	}
	// The onion chain reads the clearnet's miss: the same answer.
	if st, b := getStatus(t, ts.onion, "/clearnet-name"); st != http.StatusNotFound || b != "404 Not Found\n" {
		t.Errorf("onion GET of a recorded miss: got %d %q", st, b)
	}
}

// TestMissesCapIsHonoured: misses of many names never cost more than
// their share of the cache, the oldest leave first, and long names and a
// cache that is off keep none.
func TestMissesCapIsHonoured(t *testing.T) {
	fx := newCacheFixture(t, 4096, 64*missShare*1024, map[string]string{"a": "a"}) // 64 KiB of misses
	tree := fx.root.Current()
	limit := fx.c.misses.maxSize
	if limit != 64*1024 {
		t.Fatalf("misses' share: %d bytes, want %d", limit, 64*1024)
	}
	key := func(i int) string { return fmt.Sprintf("/scan/%06d", i) }
	for i := range 2000 {
		fe := &fileError{status: http.StatusNotFound, detail: strings.Repeat("d", 100)}
		fx.c.putMiss(fx.root, key(i), tree, fx.c.since(), fe)
		if size := fx.c.misses.size; size > limit {
			t.Fatalf("after %d misses: %d bytes, more than the share %d", i+1, size, limit)
		}
	}
	if _, fe := fx.c.lookup(fx.root, key(1999)); fe == nil {
		t.Error("the newest miss is not kept")
	}
	if _, fe := fx.c.lookup(fx.root, key(0)); fe != nil {
		t.Error("the oldest miss is still kept")
	}
	if n := len(fx.c.misses.queue) - fx.c.misses.head; n > int(limit/missOverhead) {
		t.Errorf("%d misses queued, more than fit in %d bytes", n, limit)
	}
	long := "/" + strings.Repeat("x", maxMissPath)
	fx.c.putMiss(fx.root, long, tree, fx.c.since(), &fileError{status: 404, detail: "d"})
	if _, fe := fx.c.lookup(fx.root, long); fe != nil {
		t.Error("a miss of a name longer than maxMissPath was kept")
	}
	// Turned off on reload: every miss goes.
	fx.c.setLimits(0, 0)
	if size, n := fx.c.misses.size, len(fx.c.misses.m); size != 0 || n != 0 {
		t.Errorf("cache off: %d misses of %d bytes kept", n, size)
	}
}

// TestMissingNameAppearsUnderLoad: clients ask for a missing name in a
// loop while a file is created under it by rename, as a deploy does. Every
// answer is the 404 or the whole file, and every request sent a second
// after the file appeared (plus a margin for a loaded machine, not a speed
// test) gets the file.
func TestMissingNameAppearsUnderLoad(t *testing.T) {
	ts := startServer(t, "", Options{})
	const name = "r4.3/repodata/repomd.xml"
	content := strings.Repeat("<repomd/>\n", 100)
	type answer struct {
		start  time.Time
		status int
		body   string
	}
	var (
		mu      sync.Mutex
		answers []answer
		wg      sync.WaitGroup
		stop    = make(chan struct{})
		warm    = make(chan struct{}, 4)
	)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	for range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				a := answer{start: time.Now()}
				resp, err := client.Get("http://" + ts.clearnet + "/" + name)
				if err != nil {
					t.Error(err)
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				a.status, a.body = resp.StatusCode, string(b)
				mu.Lock()
				answers = append(answers, a)
				mu.Unlock()
				if i == 20 {
					warm <- struct{}{}
				}
			}
		})
	}
	for range 4 {
		<-warm // each client has seen the 404 a while
	}
	file := filepath.Join(ts.root, name)
	writeTree(t, ts.root, map[string]string{name + ".tmp": content})
	if err := os.Rename(file+".tmp", file); err != nil {
		t.Fatal(err)
	}
	created := time.Now()
	time.Sleep(time.Second + 2*swapMargin) // the load runs on; this decides nothing
	close(stop)
	wg.Wait()

	cutoff := created.Add(time.Second + swapMargin)
	var late, bad int
	for _, a := range answers {
		if a.start.After(cutoff) {
			late++
		}
		ok := a.status == http.StatusNotFound && a.body == "404 Not Found\n" && !a.start.After(cutoff) ||
			a.status == http.StatusOK && a.body == content
		if !ok {
			if bad++; bad <= 5 {
				t.Errorf("GET sent %v after the file appeared: %d, %d bytes", a.start.Sub(created), a.status, len(a.body))
			}
		}
	}
	if late == 0 {
		t.Errorf("no request was sent more than %v after the file appeared; the check proved nothing", time.Second+swapMargin)
	}
	t.Logf("%d answers, %d after the second", len(answers), late)
}

// swapMargin is added to the second within which a new file is served.
const swapMargin = 250 * time.Millisecond

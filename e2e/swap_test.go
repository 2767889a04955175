package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"depot/internal/testtool"
)

// Serving follows the operator's deploys: a tree swapped by depot site
// build, a `current` symlink flipped to a new release, an rsync
// --delay-updates deploy. Each runs while clients loop over the site's
// pages: every answer must be 200 with one version's whole page, and every
// request sent a second after the deploy returned (plus a margin for a
// loaded machine, not a speed test) must get the new version.

// swapMargin is added to the second within which a deploy is served.
const swapMargin = 250 * time.Millisecond

// answer is one response seen under load.
type answer struct {
	path   string
	start  time.Time
	status int
	body   string
	err    error
}

// underLoad requests paths from four clients until deploy has run and a
// second and a half more have passed. It returns every answer and when
// deploy returned.
func underLoad(t *testing.T, d *Depot, paths []string, deploy func()) ([]answer, time.Time) {
	t.Helper()
	var (
		mu      sync.Mutex
		answers []answer
		wg      sync.WaitGroup
		stop    = make(chan struct{})
		warm    = make(chan struct{}, 4)
	)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	for g := range 4 {
		wg.Go(func() {
			for i := g; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				a := answer{path: paths[i%len(paths)], start: time.Now()}
				resp, err := client.Get(d.URL(a.path))
				if err == nil {
					var b []byte
					b, err = io.ReadAll(resp.Body)
					resp.Body.Close()
					a.status, a.body = resp.StatusCode, string(b)
				}
				a.err = err
				mu.Lock()
				answers = append(answers, a)
				mu.Unlock()
				if i-g == 20 {
					warm <- struct{}{}
				}
			}
		})
	}
	for range 4 {
		<-warm // each client is under way
	}
	deploy()
	done := time.Now()
	time.Sleep(time.Second + 2*swapMargin) // the load runs on; this decides nothing
	close(stop)
	wg.Wait()
	return answers, done
}

// checkAnswers holds answers to the rule above: old and new are each
// path's page before and after the deploy.
func checkAnswers(t *testing.T, answers []answer, done time.Time, old, new map[string]string) {
	t.Helper()
	var failed, mixed, stale, late int
	cutoff := done.Add(time.Second + swapMargin)
	for _, a := range answers {
		if a.start.After(cutoff) {
			late++
		}
		switch {
		case a.err != nil || a.status != http.StatusOK:
			if failed++; failed <= 5 {
				t.Errorf("GET %s at %s: status %d, error %v; want 200 throughout the deploy", a.path, a.start.Format("15:04:05.000"), a.status, a.err)
			}
		case a.body != old[a.path] && a.body != new[a.path]:
			if mixed++; mixed <= 5 {
				t.Errorf("GET %s: a body of neither version (%d bytes): %.80q", a.path, len(a.body), a.body)
			}
		case a.body == old[a.path] && a.start.After(cutoff):
			if stale++; stale <= 5 {
				t.Errorf("GET %s sent %v after the deploy returned: the old version", a.path, a.start.Sub(done))
			}
		}
	}
	if late == 0 {
		t.Errorf("no request was sent more than %v after the deploy; the check above proved nothing", time.Second+swapMargin)
	}
	t.Logf("%d answers, %d after the deploy's second", len(answers), late)
}

// readPages reads each path of a tree.
func readPages(t *testing.T, dir string, paths []string) map[string]string {
	t.Helper()
	pages := map[string]string{}
	for _, p := range paths {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(p, "/"))))
		if err != nil {
			t.Fatal(err)
		}
		pages[p] = string(b)
	}
	return pages
}

// writePages writes markdown or plain pages of one version under dir.
func writePages(t *testing.T, dir, version string, names ...string) {
	t.Helper()
	for i, name := range names {
		// Sizes differ between versions, so a mixed answer cannot pass
		// for a whole one.
		body := fmt.Sprintf("# Page %d, %s\n\n%s\n", i, version, strings.Repeat(version+" ", 40*(i+1)))
		writeFile(t, filepath.Join(dir, name), []byte(body))
	}
}

func TestServingFollowsSiteBuild(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "docs"), filepath.Join(dir, "public")
	writePages(t, src, "one", "index.md", "guide.md", "sub/page.md")
	runOK(t, dir, depotBin, "site", "build", src, dst)
	d := startDepot(t, serveConfig(t, dst))
	paths := []string{"/index.html", "/guide.html", "/sub/page.html", "/index.txt", "/sub/page.txt"}
	old := readPages(t, dst, paths)

	writePages(t, src, "two-two", "index.md", "guide.md", "sub/page.md")
	var new map[string]string
	answers, done := underLoad(t, d, paths, func() {
		runOK(t, dir, depotBin, "site", "build", src, dst)
		new = readPages(t, dst, paths)
	})
	checkAnswers(t, answers, done, old, new)
}

func TestServingFollowsSymlinkFlip(t *testing.T) {
	dir := t.TempDir()
	rel1, rel2 := filepath.Join(dir, "releases", "1"), filepath.Join(dir, "releases", "2")
	writePages(t, rel1, "one", "index.html", "a/b.txt", "c.xml")
	writePages(t, rel2, "two-two", "index.html", "a/b.txt", "c.xml")
	current := filepath.Join(dir, "current")
	if err := os.Symlink("releases/1", current); err != nil {
		t.Fatal(err)
	}
	d := startDepot(t, serveConfig(t, current))
	paths := []string{"/index.html", "/a/b.txt", "/c.xml"}
	old, new := readPages(t, rel1, paths), readPages(t, rel2, paths)

	answers, done := underLoad(t, d, paths, func() {
		// ln -sfn as deploy tools do it: a new link renamed over the old,
		// then the old release deleted.
		if err := os.Symlink("releases/2", current+".tmp"); err != nil {
			t.Error(err)
		}
		if err := os.Rename(current+".tmp", current); err != nil {
			t.Error(err)
		}
		if err := os.RemoveAll(rel1); err != nil {
			t.Error(err)
		}
	})
	checkAnswers(t, answers, done, old, new)
}

func TestServingFollowsRsyncDelayUpdates(t *testing.T) {
	testtool.Need(t, "rsync")
	dir := t.TempDir()
	src, root := filepath.Join(dir, "src"), filepath.Join(dir, "root")
	writePages(t, root, "one", "index.html", "repodata/repomd.xml", "dists/stable/InRelease")
	d := startDepot(t, serveConfig(t, root))
	paths := []string{"/index.html", "/repodata/repomd.xml", "/dists/stable/InRelease"}
	old := readPages(t, root, paths)
	writePages(t, src, "two-two", "index.html", "repodata/repomd.xml", "dists/stable/InRelease")
	new := readPages(t, src, paths)
	// Let the old files settle: the server keeps in memory only files
	// that did not change within the last second.
	time.Sleep(1100 * time.Millisecond)
	for _, p := range paths {
		get(t, http.DefaultClient, d.URL(p))
	}

	answers, done := underLoad(t, d, paths, func() {
		runOK(t, dir, "rsync", "-a", "--delay-updates", "--delete-after", src+"/", root+"/")
	})
	checkAnswers(t, answers, done, old, new)
}

package e2e

import (
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	outboundpkg "depot/internal/outbound"
)

// nodeConfig is one node of a depot network checking mirror: a site with
// metalinks and the mirror status page, base_url the node's own address,
// and extra appended ([mirrors] for a follower).
func nodeConfig(t testing.TB, addr, root, mirror, extra string) string {
	t.Helper()
	return fmt.Sprintf(`log_dir = %q
data_dir = %q

[[listen]]
address = %q

[[site]]
hosts = ["*"]
root = %q
base_url = "http://node.example/"
metalinks = true
mirror_status_path = "/mirrors/"

[[mirror]]
name = "mirror-one"
url = "http://%s/"
country = "DE"
continent = "EU"
content = ["yum"]
%s`, t.TempDir(), t.TempDir(), addr, root, mirror, extra)
}

var pubdate = regexp.MustCompile(`pubdate="[^"]*"`)

// waitMetalink polls url until its metalink satisfies ok, and returns it
// without its pubdate (the time it was built).
func waitMetalink(t *testing.T, d *Depot, url, what string, ok func(string) bool) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, body := get(t, http.DefaultClient, url)
		if code == 200 && ok(body) {
			return pubdate.ReplaceAllString(body, "")
		}
		if time.Now().After(deadline) {
			t.Fatalf("within 20s %s never had %s; last answer %d:\n%s\ndepot said:\n%s", url, what, code, body, d.Output())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestMirrorFollower runs three `depot serve`: a mirror, the checking node,
// and a node with [mirrors] checker = false and state_from pointing at the
// checker's status JSON. The follower serves the checker's metalink, while
// under strace it connects to the checker only (never to the mirror), and
// records that destination as mirror-state for the audit. A follower whose
// checker is down serves base_url alone.
func TestMirrorFollower(t *testing.T) {
	const repomd = "/r4.2/current/vm/fc37/repodata/repomd.xml"
	www := t.TempDir()
	writeFile(t, filepath.Join(www, filepath.FromSlash(repomd)), []byte(`<?xml version="1.0"?><repomd><revision>1700000000</revision></repomd>`))
	mirrorRoot := t.TempDir()
	runOK(t, ".", "cp", "-a", www+"/.", mirrorRoot)
	mirror := startDepot(t, serveConfig(t, mirrorRoot))
	mirrorURL := "http://" + mirror.Addr + repomd

	checker := startDepot(t, nodeConfig(t, freeAddr(t), www, mirror.Addr, ""))
	want := waitMetalink(t, checker, checker.URL(repomd+".metalink"), "the checked mirror", func(b string) bool { return strings.Contains(b, mirrorURL) })

	// The follower's own copy of the tree, as rsync leaves it.
	followerRoot := t.TempDir()
	runOK(t, ".", "cp", "-a", www+"/.", followerRoot)
	trace := filepath.Join(t.TempDir(), "trace")
	follower := startDepotWrapped(t, nodeConfig(t, freeAddr(t), followerRoot, mirror.Addr,
		fmt.Sprintf("\n[mirrors]\nchecker = false\nstate_from = %q\n", checker.URL("/mirrors/status.json"))), traceNetwork(t, trace))
	got := waitMetalink(t, follower, follower.URL(repomd+".metalink"), "the checker's mirror", func(b string) bool { return strings.Contains(b, mirrorURL) })
	if got != want {
		t.Errorf("the follower's metalink differs from the checker's:\n%s\nchecker:\n%s", got, want)
	}
	if _, status := get(t, http.DefaultClient, follower.URL("/mirrors/status.json")); !strings.Contains(status, `"state_from"`) || !strings.Contains(status, checker.Addr) {
		t.Errorf("the follower's status JSON does not say where its results come from:\n%s", status)
	}
	// The status page's path without its slash redirects to the page, as
	// /statistics does.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(checker.URL("/mirrors?lang=en"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusMovedPermanently || loc != "/mirrors/?lang=en" {
		t.Errorf("GET /mirrors?lang=en: %d Location %q, want 301 to /mirrors/?lang=en", resp.StatusCode, loc)
	}

	follower.Stop(t)
	calls := outbound(t, trace)
	if len(calls) == 0 {
		t.Error("strace saw no connection from the follower; the check below proves nothing")
	}
	for _, call := range calls {
		if !strings.Contains(call, `htons(`+portOf(checker.Addr)+`)`) {
			t.Errorf("the follower connected to something other than the checker %s:\n%s", checker.Addr, call)
		}
	}
	rec, err := outboundpkg.ReadRecord(outboundpkg.Path(follower.Config.DataDir))
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Destinations) != 1 || rec.Destinations[0].Port != portOf(checker.Addr) || rec.Destinations[0].Purpose != outboundpkg.MirrorState {
		t.Errorf("the follower's outbound.json: %+v, want the checker alone, for mirror-state", rec.Destinations)
	}

	// A follower whose checker does not answer offers base_url alone.
	lost := startDepot(t, nodeConfig(t, freeAddr(t), followerRoot, mirror.Addr,
		fmt.Sprintf("\n[mirrors]\nchecker = false\nstate_from = %q\n", "http://"+freeAddr(t)+"/mirrors/status.json")))
	body := waitMetalink(t, lost, lost.URL(repomd+".metalink"), "a metalink", func(string) bool { return true })
	if strings.Contains(body, mirrorURL) || !strings.Contains(body, "http://node.example"+repomd) {
		t.Errorf("a follower whose checker is down lists:\n%s\nwant base_url alone", body)
	}
}

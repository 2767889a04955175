package e2e

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	outboundpkg "depot/internal/outbound"
	"depot/internal/testtool"
)

// TestMirrorNetwork runs an origin depot with metalinks and one mirror, a
// second depot serving a copy of the tree, all through `depot serve`:
// the origin checks the mirror, its live metalink then lists the mirror
// before base_url, real dnf installs metadata through that metalink, and
// under strace the origin's only outbound connections go to the
// configured mirror.
func TestMirrorNetwork(t *testing.T) {
	testtool.Need(t, "dnf", "createrepo_c")
	www := t.TempDir()
	repo := filepath.Join(www, "r4.2", "current", "vm", "fc37")
	copyFile(t, demoFile(demoRPM), filepath.Join(repo, "rpm", filepath.Base(demoRPM)))
	runOK(t, www, "createrepo_c", "--no-database", repo)

	// The mirror: a plain depot over an identical copy of the tree.
	mirrorRoot := t.TempDir()
	runOK(t, ".", "cp", "-a", www+"/.", mirrorRoot)
	mirror := startDepot(t, serveConfig(t, mirrorRoot))

	origin := freeAddr(t)
	cfgText := fmt.Sprintf(`log_dir = %q
data_dir = %q

[[listen]]
address = %q

[[site]]
hosts = ["*"]
root = %q
base_url = "http://%s/"
metalinks = true

[[mirror]]
name = "mirror-one"
url = "http://%s/"
country = "DE"
continent = "EU"
content = ["yum"]
`, t.TempDir(), t.TempDir(), origin, www, origin, mirror.Addr)
	trace := filepath.Join(t.TempDir(), "trace")
	d := startDepotWrapped(t, cfgText, traceNetwork(t, trace))

	metalinkURL := d.URL("/r4.2/current/vm/fc37/repodata/repomd.xml.metalink")
	mirrorURL := "http://" + mirror.Addr + "/r4.2/current/vm/fc37/repodata/repomd.xml"
	baseURL := "http://" + origin + "/r4.2/current/vm/fc37/repodata/repomd.xml"
	var body string
	deadline := time.Now().Add(20 * time.Second)
	for {
		var code int
		code, body = get(t, http.DefaultClient, metalinkURL)
		if code == 200 && strings.Contains(body, mirrorURL) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("within 20s the metalink never listed the checked mirror %s; last answer %d:\n%s\ndepot said:\n%s", mirrorURL, code, body, d.Output())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if i, j := strings.Index(body, mirrorURL), strings.Index(body, baseURL); j < 0 || i > j {
		t.Errorf("the metalink must list the mirror before base_url, and base_url last:\n%s", body)
	}

	dnf := dnf(t, "metalink="+metalinkURL+"\ngpgcheck=0\nrepo_gpgcheck=0\n")
	if out := dnf("makecache"); !strings.Contains(out, "Metadata cache created") {
		t.Errorf("dnf makecache through the metalink failed:\n%s", out)
	}
	waitForLog(t, mirror.AccessLog(), "dnf fetching primary metadata from the mirror", func(l logLine) bool {
		return strings.Contains(l.Request, "primary.xml") && strings.Contains(l.UserAgent, "libdnf")
	})
	waitForLog(t, d.AccessLog(), "the counted metalink request", func(l logLine) bool {
		return strings.Contains(l.Request, "repomd.xml.metalink") && strings.Contains(l.UserAgent, "libdnf") && l.Status == "200"
	})

	d.Stop(t)
	for _, call := range outbound(t, trace) {
		if !strings.Contains(call, `htons(`+portOf(mirror.Addr)+`)`) || !strings.Contains(call, `"127.0.0.1"`) {
			t.Errorf("the origin connected to something other than its configured mirror %s:\n%s", mirror.Addr, call)
		}
	}
	if len(outbound(t, trace)) == 0 {
		t.Error("strace saw no connection to the mirror at all; the check above proves nothing")
	}
	// The record depot keeps for the audit names what strace saw, and
	// nothing else.
	rec, err := outboundpkg.ReadRecord(outboundpkg.Path(d.Config.DataDir))
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Destinations) != 1 || rec.Resolver != "none" {
		t.Fatalf("outbound.json: %+v, want the mirror alone and resolver none", rec)
	}
	if m := rec.Destinations[0]; m.Host != "127.0.0.1" || m.Port != portOf(mirror.Addr) || m.Purpose != "mirror-check" || m.Count < 1 {
		t.Errorf("outbound.json lists %+v, want 127.0.0.1:%s for mirror-check", m, portOf(mirror.Addr))
	}
}

func portOf(addr string) string {
	return addr[strings.LastIndexByte(addr, ':')+1:]
}

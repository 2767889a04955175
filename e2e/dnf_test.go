package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"depot/internal/demo"
	"depot/internal/testtool"
)

// dnf runs dnf against the one repository depot-test at baseURL, with
// every piece of state in a temporary directory, and returns a function
// that runs a dnf subcommand and its output.
func dnf(t testing.TB, repoOptions string) func(args ...string) string {
	t.Helper()
	testtool.Need(t, "dnf")
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "repos.d", "depot-test.repo"), []byte("[depot-test]\nname=depot e2e\n"+repoOptions))
	writeFile(t, filepath.Join(dir, "dnf.conf"), []byte("[main]\ninstall_weak_deps=False\n"))
	common := []string{
		"-y", "--config=" + filepath.Join(dir, "dnf.conf"),
		"--installroot=" + filepath.Join(dir, "root"),
		"--setopt=reposdir=" + filepath.Join(dir, "repos.d"),
		"--setopt=cachedir=" + filepath.Join(dir, "cache"),
		"--releasever=37", "--disablerepo=*", "--enablerepo=depot-test",
	}
	// dnf download comes from dnf-plugins-core.
	if _, err := runErr(dir, "dnf", append(common, "download", "--help")...); err != nil {
		testtool.Missing(t, "dnf download is not available: install dnf-plugins-core")
	}
	return func(args ...string) string {
		t.Helper()
		return runOK(t, dir, "dnf", append(common, args...)...)
	}
}

// TestDNF serves a repository made by createrepo_c and uses it with dnf:
// metadata, a query and a package download, each logged in combined format.
func TestDNF(t *testing.T) {
	testtool.Need(t, "dnf", "createrepo_c")
	www := t.TempDir()
	repo := filepath.Join(www, "fedora", "37")
	copyFile(t, demoFile(demoRPM), filepath.Join(repo, "Packages", "d", filepath.Base(demoRPM)))
	runOK(t, www, "createrepo_c", "--no-database", repo)

	d := startDepot(t, serveConfig(t, www))
	dnf := dnf(t, fmt.Sprintf("baseurl=%s\ngpgcheck=0\nrepo_gpgcheck=0\n", d.URL("/fedora/$releasever/")))

	if out := dnf("makecache"); !strings.Contains(out, "Metadata cache created") {
		t.Errorf("dnf makecache did not create the cache:\n%s", out)
	}
	if out := dnf("repoquery", "--available", "depot-demo-hello"); !strings.Contains(out, "depot-demo-hello-0:1.0-1.noarch") {
		t.Errorf("dnf repoquery does not list depot-demo-hello-0:1.0-1.noarch:\n%s", out)
	}
	dest := t.TempDir()
	dnf("download", "--destdir="+dest, "depot-demo-hello")
	assertSameFile(t, filepath.Join(dest, filepath.Base(demoRPM)), demoFile(demoRPM))

	repomd, err := os.ReadFile(filepath.Join(repo, "repodata", "repomd.xml"))
	if err != nil {
		t.Fatal(err)
	}
	l := waitForLog(t, d.AccessLog(), "dnf's GET of repomd.xml", func(l logLine) bool {
		return l.Request == "GET /fedora/37/repodata/repomd.xml HTTP/1.1"
	})
	if l.Status != "200" || l.Size != strconv.Itoa(len(repomd)) || l.Addr != "127.0.0.1" || !strings.Contains(l.UserAgent, "libdnf") {
		t.Errorf("repomd.xml logged as\n%s\nwant 127.0.0.1, status 200, %d bytes and libdnf's user agent", l.Raw, len(repomd))
	}
	waitForLog(t, d.AccessLog(), "the package download", func(l logLine) bool {
		return l.Request == "GET /fedora/37/Packages/d/"+filepath.Base(demoRPM)+" HTTP/1.1" && l.Status == "200"
	})
}

// TestDNFDemoSigned uses the embedded demo's yum tree with dnf, checking
// repomd.xml's signature against the demo key that depot serves.
func TestDNFDemoSigned(t *testing.T) {
	testtool.Need(t, "dnf")
	root, err := demo.Extract(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	d := startDepot(t, serveConfig(t, root))
	dnf := dnf(t, fmt.Sprintf("baseurl=%s\ngpgcheck=0\nrepo_gpgcheck=1\ngpgkey=%s\n",
		d.URL("/yum/r4.2/current/host/fc$releasever/"), d.URL("/KEY.asc")))

	if out := dnf("makecache"); !strings.Contains(out, "Metadata cache created") || !strings.Contains(out, "Importing GPG key 0xB831CAF4") {
		t.Errorf("dnf makecache did not import the demo key and create the cache:\n%s", out)
	}
	dest := t.TempDir()
	dnf("download", "--destdir="+dest, "depot-demo-hello")
	assertSameFile(t, filepath.Join(dest, filepath.Base(demoRPM)), demoFile(demoRPM))
	waitForLog(t, d.AccessLog(), "the signature's GET", func(l logLine) bool {
		return l.Request == "GET /yum/r4.2/current/host/fc37/repodata/repomd.xml.asc HTTP/1.1" && l.Status == "200"
	})
}

func assertSameFile(t testing.TB, got, want string) {
	t.Helper()
	g, err := os.ReadFile(got)
	if err != nil {
		t.Fatalf("the client did not save the file: %v", err)
	}
	w, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(g, w) {
		t.Errorf("%s (%d bytes) differs from %s (%d bytes)", got, len(g), want, len(w))
	}
}

package mirrors

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"depot/internal/config"
	"depot/internal/mirrors/mirrorstest"
	"depot/internal/server"
	"depot/internal/testtool"
)

// createrepo makes dir a yum repository whose version is rev (used as the
// revision and every timestamp, so each rev gives a distinct repomd.xml).
func createrepo(t *testing.T, dir string, rev int) {
	t.Helper()
	os.MkdirAll(dir, 0o755)
	out, err := exec.Command(testtool.Path(t, "createrepo_c"), "--quiet", "--update", "--revision", strconv.Itoa(rev),
		"--set-timestamp-to-revision", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("createrepo_c: %v\n%s", err, out)
	}
}

// dnfMakecache runs a real dnf against a metalink, in a private
// installroot, cache and repo directory; it returns dnf's error and output.
func dnfMakecache(t *testing.T, metalinkURL string) (string, error) {
	t.Helper()
	dnf := testtool.Path(t, "dnf")
	dir := t.TempDir()
	repos := filepath.Join(dir, "repos.d")
	os.MkdirAll(repos, 0o755)
	os.WriteFile(filepath.Join(repos, "depot.repo"), []byte("[depot-test]\nname=depot test\nmetalink="+metalinkURL+
		"\nenabled=1\ngpgcheck=0\nrepo_gpgcheck=0\nskip_if_unavailable=False\ntimeout=5\nminrate=1\nretries=1\n"), 0o644)
	conf := filepath.Join(dir, "dnf.conf")
	os.WriteFile(conf, []byte("[main]\nreposdir="+repos+"\ncachedir="+filepath.Join(dir, "cache")+
		"\nkeepcache=0\nplugins=0\ninstall_weak_deps=0\n"), 0o644)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, dnf, "-c", conf, "--installroot", filepath.Join(dir, "root"), "--releasever", "1",
		"--noplugins", "--setopt=reposdir="+repos, "--setopt=cachedir="+filepath.Join(dir, "cache"), "-y", "makecache")
	cmd.Env = append(os.Environ(), "LANG=C")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// freePort returns a loopback address nobody listens on (for base_url,
// which must be known before the server binds).
func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// accessLogCount flushes the server's access log and counts its lines
// whose request contains substr.
func accessLogCount(t *testing.T, srv *server.Server, substr string) int {
	t.Helper()
	if err := srv.AccessLog().Flush(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(srv.AccessLog().Path())
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, substr) {
			n++
		}
	}
	return n
}

// TestDNF runs the real dnf against depot's metalink, with a fresh, a
// stale and a down mirror; then with the fresh one a sync behind; then
// with every mirror down.
func TestDNF(t *testing.T) {
	testtool.Need(t, "dnf", "createrepo_c")
	dir := t.TempDir()
	origin := filepath.Join(dir, "origin")
	repo := filepath.Join(origin, "repo")
	createrepo(t, repo, 1700000000)

	staleDir := filepath.Join(dir, "stale")
	createrepo(t, filepath.Join(staleDir, "repo"), 1600000000) // never the origin's
	freshDir := filepath.Join(dir, "fresh")
	copyTree(t, origin, freshDir)
	fresh := mirrorstest.Dir(t, freshDir)
	stale := mirrorstest.Dir(t, staleDir)

	addr := freePort(t)
	logDir := filepath.Join(dir, "logs")
	cfg := &config.Config{
		LogDir: logDir, DataDir: filepath.Join(dir, "data"), RetentionMonths: 3,
		Listen: []config.Listen{{Address: addr}},
		Site: []config.Site{{Hosts: []string{"*"}, Root: origin, BaseURL: "http://" + addr + "/", Metalinks: true,
			RedirectMinSize: config.DefaultRedirectMinSize}},
		Mirror: []config.Mirror{
			{Name: "down", URL: mirrorstest.Refusing(t), Country: "DE"},
			{Name: "stale", URL: stale.URL, Country: "DE"},
			{Name: "fresh", URL: fresh.URL, Country: "US"},
		},
	}
	svc, err := New(cfg, Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	srv, err := server.New(cfg, server.Options{Responders: svc.Responders})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	defer func() { cancel(); <-done }()
	if _, err := svc.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	metalinkURL := "http://" + addr + "/repo/repodata/repomd.xml.metalink"
	repomdPath := "/repo/repodata/repomd.xml"

	t.Run("fresh stale down", func(t *testing.T) {
		staleBefore := stale.Total() // the check's own requests
		if out, err := dnfMakecache(t, metalinkURL); err != nil {
			t.Fatalf("dnf makecache: %v\n%s", err, out)
		}
		if fresh.Requests(repomdPath) == 0 {
			t.Error("dnf did not fetch repomd.xml from the fresh mirror")
		}
		if n := stale.Total() - staleBefore; n != 0 {
			t.Errorf("stale mirror got %d requests; it must not be in the metalink", n)
		}
	})

	t.Run("fresh one sync behind", func(t *testing.T) {
		createrepo(t, repo, 1700003600) // the origin moves on; the mirror does not
		before, primary := fresh.Requests(repomdPath), fresh.Matching("primary.xml")
		if out, err := dnfMakecache(t, metalinkURL); err != nil {
			t.Fatalf("dnf makecache with the mirror one sync behind: %v\n%s", err, out)
		}
		// dnf went on to the metadata the mirror's repomd.xml names: it
		// accepted that older repomd.xml because the metalink lists it as
		// an alternate, and did not fall back to base_url.
		if fresh.Requests(repomdPath) == before || fresh.Matching("primary.xml") == primary {
			t.Error("dnf did not use the mirror that is one sync behind")
		}
		if n := accessLogCount(t, srv, "GET "+repomdPath+" "); n != 0 {
			t.Errorf("dnf fell back to base_url (%d requests) instead of accepting the alternate", n)
		}
	})

	t.Run("every mirror down", func(t *testing.T) {
		fresh.Close()
		stale.Close()
		if _, err := svc.Check(context.Background()); err != nil {
			t.Fatal(err)
		}
		if out, err := dnfMakecache(t, metalinkURL); err != nil {
			t.Fatalf("dnf makecache with every mirror down: %v\n%s", err, out)
		}
		// The access line is written once the response is sent, which may
		// be a moment after dnf has it: wait for it, with a deadline.
		for deadline := time.Now().Add(5 * time.Second); accessLogCount(t, srv, "GET "+repomdPath+" ") == 0; {
			if time.Now().After(deadline) {
				t.Fatal("dnf did not fetch repomd.xml from base_url (depot's access log has no such line)")
			}
			time.Sleep(20 * time.Millisecond) // poll interval, not an outcome
		}
	})
}

package e2e

import (
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"depot/internal/demo"
	"depot/internal/testtool"
)

// apt returns a function that runs apt-get or apt-cache with the single
// source line sourcesLine and every piece of state in a temporary
// directory, so the host's apt configuration is neither read nor touched.
func apt(t testing.TB, sourcesLine string) (dir string, run func(tool string, args ...string) string) {
	t.Helper()
	testtool.Need(t, "apt-get", "apt-cache")
	dir = t.TempDir()
	for _, d := range []string{"state/lists/partial", "cache/archives/partial", "etc/apt.conf.d", "etc/preferences.d", "etc/trusted.gpg.d"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(dir, "state", "status"), nil)
	writeFile(t, filepath.Join(dir, "sources.list"), []byte(sourcesLine+"\n"))
	opts := []string{
		"-o", "Dir::Etc::main=/dev/null",
		"-o", "Dir::Etc::Parts=" + filepath.Join(dir, "etc/apt.conf.d"),
		"-o", "Dir::Etc::PreferencesParts=" + filepath.Join(dir, "etc/preferences.d"),
		"-o", "Dir::Etc::TrustedParts=" + filepath.Join(dir, "etc/trusted.gpg.d"),
		"-o", "Dir::Etc::SourceList=" + filepath.Join(dir, "sources.list"),
		"-o", "Dir::Etc::SourceParts=/dev/null",
		"-o", "Dir::State=" + filepath.Join(dir, "state"),
		"-o", "Dir::State::status=" + filepath.Join(dir, "state", "status"),
		"-o", "Dir::Cache=" + filepath.Join(dir, "cache"),
		"-o", "Debug::NoLocking=1",
		"-o", "APT::Sandbox::User=root",
		"-o", "APT::Architecture=amd64",
		"-o", "APT::Architectures=amd64",
		"-o", "Acquire::Languages=none",
	}
	return dir, func(tool string, args ...string) string {
		t.Helper()
		out := runOK(t, dir, tool, append(opts, args...)...)
		// apt-get update exits 0 on some failures; they print W: or E:.
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, "W:") || strings.HasPrefix(line, "E:") || strings.HasPrefix(line, "Err:") {
				t.Fatalf("%s\nwarned or failed:\n%s", cmdline(dir, tool, append(opts, args...)), out)
			}
		}
		return out
	}
}

// TestApt serves an unsigned repository made by apt-ftparchive and uses it
// with apt-get update, apt-cache show and apt-get download.
func TestApt(t *testing.T) {
	testtool.Need(t, "apt-get", "apt-ftparchive")
	www := t.TempDir()
	repo := filepath.Join(www, "debian")
	copyFile(t, demoFile(demoDeb), filepath.Join(repo, "pool", "main", "d", "depot-demo-hello", filepath.Base(demoDeb)))
	packages := runOK(t, repo, "apt-ftparchive", "packages", "pool")
	dist := filepath.Join(repo, "dists", "bookworm")
	writeFile(t, filepath.Join(dist, "main", "binary-amd64", "Packages"), []byte(packages))
	writeGzip(t, filepath.Join(dist, "main", "binary-amd64", "Packages.gz"), packages)
	release := runOK(t, repo, "apt-ftparchive",
		"-o", "APT::FTPArchive::Release::Suite=bookworm",
		"-o", "APT::FTPArchive::Release::Codename=bookworm",
		"-o", "APT::FTPArchive::Release::Architectures=amd64",
		"-o", "APT::FTPArchive::Release::Components=main",
		"release", "dists/bookworm")
	writeFile(t, filepath.Join(dist, "Release"), []byte(release))

	d := startDepot(t, serveConfig(t, www))
	dir, apt := apt(t, "deb [trusted=yes] "+d.URL("/debian")+" bookworm main")
	apt("apt-get", "update")
	if out := apt("apt-cache", "show", "depot-demo-hello"); !strings.Contains(out, "Version: 1.0-1") {
		t.Errorf("apt-cache show has no Version: 1.0-1:\n%s", out)
	}
	apt("apt-get", "download", "depot-demo-hello")
	assertSameFile(t, filepath.Join(dir, filepath.Base(demoDeb)), demoFile(demoDeb))

	// apt asks for InRelease first; this repository has none.
	waitForLog(t, d.AccessLog(), "apt's 404 for InRelease", func(l logLine) bool {
		return l.Request == "GET /debian/dists/bookworm/InRelease HTTP/1.1" && l.Status == "404"
	})
	l := waitForLog(t, d.AccessLog(), "apt's GET of Release", func(l logLine) bool {
		return l.Request == "GET /debian/dists/bookworm/Release HTTP/1.1"
	})
	if l.Status != "200" || !strings.Contains(l.UserAgent, "APT-HTTP") {
		t.Errorf("Release logged as\n%s\nwant status 200 and apt's user agent", l.Raw)
	}
	waitForLog(t, d.AccessLog(), "the package download", func(l logLine) bool {
		return l.Request == "GET /debian/pool/main/d/depot-demo-hello/"+filepath.Base(demoDeb)+" HTTP/1.1" && l.Status == "200"
	})
}

// TestAptDemoSigned uses the embedded demo's apt tree, verifying InRelease
// with the demo key.
func TestAptDemoSigned(t *testing.T) {
	testtool.Need(t, "apt-get")
	root, err := demo.Extract(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	d := startDepot(t, serveConfig(t, root))
	dir, apt := apt(t, "deb [signed-by="+filepath.Join(root, "KEY.asc")+"] "+d.URL("/deb/r4.2/vm")+" bookworm main")
	if out := apt("apt-get", "update"); !strings.Contains(out, "bookworm InRelease") {
		t.Errorf("apt-get update did not fetch InRelease:\n%s", out)
	}
	apt("apt-get", "download", "depot-demo-hello")
	assertSameFile(t, filepath.Join(dir, filepath.Base(demoDeb)), demoFile(demoDeb))
}

func writeGzip(t testing.TB, path, content string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	zw.Write([]byte(content))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

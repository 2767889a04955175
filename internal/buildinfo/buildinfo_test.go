package buildinfo

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	settings := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i+1 < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	const rev = "3d691c0b3baaf4f5611e5a06662fd17666b6aca3"
	tests := []struct {
		name string
		bi   debug.BuildInfo
		want string
	}{
		{"release", debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.0"},
			Settings: settings("GOOS", "linux", "GOARCH", "amd64", "vcs.revision", rev, "vcs.time", "2026-12-01T19:43:25Z", "vcs.modified", "false")},
			"depot v1.2.0\ncommit " + rev + "\ncommit time 2026-12-01T19:43:25Z\ngo go1.26.8 linux/amd64\n"},
		{"modified", debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261201194325-3d691c0b3baa+dirty"},
			Settings: settings("vcs.revision", rev, "vcs.modified", "true")},
			"depot v0.0.0-20261201194325-3d691c0b3baa+dirty\ncommit " + rev + " (modified: built with uncommitted changes)\ngo go1.26.8\n"},
		{"no vcs", debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: settings("GOOS", "linux", "GOARCH", "arm64")},
			"depot (devel)\ncommit unknown (built without VCS information: -buildvcs=false, or outside a git clone)\ngo go1.26.8 linux/arm64\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FromBuildInfo(&tt.bi).String(); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// TestBuiltBinaryNamesItsCommit builds depot from a fresh git repository
// holding this tree's files, with VCS stamping on, and finds that
// repository's commit in `depot version`; after a change to a file, the
// next build says "modified". A fresh repository rather than this
// checkout: the go command stamps nothing in a git worktree (whose .git is
// a file), and the test must see the code as it is, committed or not.
func TestBuiltBinaryNamesItsCommit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds depot twice")
	}
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	moduleRoot, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	files, err := exec.Command("git", "-C", moduleRoot, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Skipf("not in a git checkout: %v", err)
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	for _, name := range strings.Split(strings.TrimRight(string(files), "\x00"), "\x00") {
		b, err := os.ReadFile(filepath.Join(moduleRoot, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted in the tree, not yet in the index
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(src, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(src, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", src, "-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "commit.gpgsign=false"}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "--quiet")
	git("add", "-A")
	git("commit", "--quiet", "-m", "test")
	head := git("rev-parse", "HEAD")

	version := func() string {
		t.Helper()
		bin := filepath.Join(dir, "depot")
		build := exec.Command("go", "build", "-buildvcs=true", "-o", bin, "./cmd/depot")
		build.Dir = src
		build.Env = append(os.Environ(), "GOFLAGS=")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
		out, err := exec.Command(bin, "version").CombinedOutput()
		if err != nil {
			t.Fatalf("depot version: %v\n%s", err, out)
		}
		return string(out)
	}
	out := version()
	for _, want := range []string{"depot v0.0.0-", "\ncommit " + head + "\n", "\ngo go1."} {
		if !strings.Contains(out, want) {
			t.Errorf("depot version printed\n%s\nwant %q in it", out, want)
		}
	}
	if err := os.WriteFile(filepath.Join(src, "README.md"), []byte("changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := version(); !strings.Contains(out, "\ncommit "+head+" (modified") || !strings.Contains(out, "+dirty") {
		t.Errorf("after a change, depot version printed\n%s\nwant the commit marked modified and a +dirty version", out)
	}
}

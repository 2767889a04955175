package atomicfile

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestWriteReplacesWhole(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sub", "f.json")
	if err := WriteBytes(p, 0o640, []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := WriteBytes(p, 0o640, []byte("two")); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil || string(b) != "two" {
		t.Fatalf("content %q, %v; want \"two\"", b, err)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", st.Mode().Perm())
	}
	assertOnly(t, filepath.Dir(p), "f.json")
}

func TestWriteFailureLeavesOldContent(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := WriteBytes(p, 0o644, []byte("old")); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := Write(p, 0o644, func(w io.Writer) error {
		w.Write([]byte("half of the new"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "old" {
		t.Errorf("content %q after a failed write, want \"old\"", b)
	}
	assertOnly(t, dir, "f")
}

// assertOnly fails unless dir holds exactly the file names want, sorted.
func assertOnly(t *testing.T, dir string, want ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, want) {
		t.Errorf("%s holds %v, want only %v (a temporary file was left behind)", dir, names, want)
	}
}

func TestCreateCommitAbort(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "access.log-20261130.gz")
	f, err := Create(p, 0o640)
	if err != nil {
		t.Fatal(err)
	}
	if base := filepath.Base(f.Name()); !IsTemp(base) || TempTarget(base) != filepath.Base(p) {
		t.Errorf("temporary name %s: IsTemp %v, TempTarget %q; want true, %q", base, IsTemp(base), TempTarget(base), filepath.Base(p))
	}
	f.WriteString("data")
	mtime := time.Date(2026, 11, 30, 23, 59, 0, 0, time.UTC)
	if err := f.SetModTime(mtime); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the target exists before Commit: %v", err)
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	f.Abort() // after Commit: nothing
	st, err := os.Stat(p)
	if err != nil || !st.ModTime().Equal(mtime) || st.Mode().Perm() != 0o640 {
		t.Fatalf("after Commit: %v, %v; want mtime %v, mode 0640", st, err, mtime)
	}
	assertOnly(t, dir, filepath.Base(p))

	g, err := Create(p, 0o640)
	if err != nil {
		t.Fatal(err)
	}
	g.WriteString("other")
	g.Abort()
	if b, _ := os.ReadFile(p); string(b) != "data" {
		t.Errorf("after Abort the target holds %q, want the old data", b)
	}
	assertOnly(t, dir, filepath.Base(p))
}

// TestAppendRefusesLinks is the second attack of issue 9: a symlinked
// access.log must not get lines appended to its target.
func TestAppendRefusesLinks(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	os.WriteFile(secret, []byte("root's file\n"), 0o600)
	link := filepath.Join(dir, "access.log")
	if err := os.Symlink(secret, link); err != nil {
		t.Fatal(err)
	}
	f, err := OpenAppend(link, 0o640)
	if err == nil {
		f.Close()
		t.Fatal("OpenAppend opened a symbolic link")
	}
	if !strings.Contains(err.Error(), "symbolic link") || !strings.Contains(err.Error(), link) {
		t.Errorf("error %q does not say that the path is a link", err)
	}
	if b, _ := os.ReadFile(secret); string(b) != "root's file\n" {
		t.Errorf("the link's target changed: %q", b)
	}
	if _, err := OpenNoFollow(link); err == nil {
		t.Error("OpenNoFollow opened a symbolic link")
	}

	// A regular file is appended to.
	plain := filepath.Join(dir, "error.log")
	for range 2 {
		f, err := OpenAppend(plain, 0o640)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString("line\n")
		f.Close()
	}
	if b, _ := os.ReadFile(plain); string(b) != "line\nline\n" {
		t.Errorf("appended %q", b)
	}
}

func TestRemoveRemovesTheLinkNotItsTarget(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	os.WriteFile(target, []byte("keep"), 0o600)
	link := filepath.Join(dir, "access.log-20261130.gz.tmp")
	os.Symlink(target, link)
	if err := Remove(link); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(target); err != nil || string(b) != "keep" {
		t.Errorf("target: %q, %v", b, err)
	}
	assertOnly(t, dir, "target")
}

func TestTempTarget(t *testing.T) {
	for name, want := range map[string]string{
		".stats.json.tmp-123":         "stats.json",
		"access.log-20261130.gz.tmp":  "access.log-20261130.gz",
		"access.log.2.gz.rewrite.tmp": "access.log.2.gz.rewrite",
		".depot-logs.lock":            "",
		"access.log":                  "",
	} {
		if got := TempTarget(name); got != want {
			t.Errorf("TempTarget(%q) = %q, want %q", name, got, want)
		}
	}
}

// TestCommitNewNeverReplaces: CommitNew gives the target its whole content
// at once, like Commit, but fails with fs.ErrExist when anything (a file,
// or a symbolic link, even a dangling one) has the name, which it leaves
// as it was; no temporary file remains either way.
func TestCommitNewNeverReplaces(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "depot.toml")
	f, err := Create(p, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("first")
	if err := f.CommitNew(); err != nil {
		t.Fatal(err)
	}
	f.Abort()
	st, err := os.Lstat(p)
	if err != nil || st.Mode() != 0o644 {
		t.Fatalf("after CommitNew: %v, %v; want a regular file, mode 0644", st, err)
	}
	assertOnly(t, dir, "depot.toml")

	g, err := Create(p, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	g.WriteString("second")
	if err := g.CommitNew(); !errors.Is(err, fs.ErrExist) {
		t.Errorf("CommitNew over a file: got %v, want fs.ErrExist", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "first" {
		t.Errorf("the existing file holds %q, want it untouched", b)
	}
	assertOnly(t, dir, "depot.toml")

	link := filepath.Join(dir, "link.toml")
	if err := os.Symlink(filepath.Join(dir, "nowhere"), link); err != nil {
		t.Fatal(err)
	}
	h, err := Create(link, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.CommitNew(); !errors.Is(err, fs.ErrExist) {
		t.Errorf("CommitNew over a dangling link: got %v, want fs.ErrExist", err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "nowhere")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("CommitNew wrote through the link: %v", err)
	}
	assertOnly(t, dir, "depot.toml", "link.toml")
}

// TestReplaceDir: a directory tree is put in place whole: at a new name by
// a rename, over an existing tree by exchanging the two (the old tree is
// then left at the temporary name for the caller to remove) or, where the
// file system cannot exchange, by moving the old one aside and removing it.
func TestReplaceDir(t *testing.T) {
	dir := t.TempDir()
	dst := filepath.Join(dir, "site")
	tree := func(name, content string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(p, "index.html"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	first := tree(".site.build-1", "first")
	if err := ReplaceDir(first, dst); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "index.html")); string(b) != "first" {
		t.Fatalf("after ReplaceDir to a new name, %s holds %q", dst, b)
	}
	second := tree(".site.build-2", "second")
	if err := ReplaceDir(second, dst); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "index.html")); string(b) != "second" {
		t.Fatalf("after ReplaceDir over a tree, %s holds %q, want the new tree", dst, b)
	}
	if b, err := os.ReadFile(filepath.Join(second, "index.html")); err == nil && string(b) != "first" {
		t.Errorf("the temporary name holds %q, want the old tree or nothing", b)
	}
	os.RemoveAll(second)
	assertOnly(t, dir, "site")

	if err := ReplaceDir(filepath.Join(dir, "missing"), dst); err == nil {
		t.Error("ReplaceDir of a directory that does not exist succeeded")
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "index.html")); string(b) != "second" {
		t.Errorf("a failed ReplaceDir left %s holding %q", dst, b)
	}
}

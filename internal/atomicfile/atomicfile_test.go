package atomicfile

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
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

// TestAppendRefusesFIFOs: a named pipe planted as access.log in a
// writable log directory made depot serve hang at start (and at a reopen)
// in its open, waiting for a reader, with no word. It is refused at once,
// with a reader on the other end or without.
func TestAppendRefusesFIFOs(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "access.log")
	if err := syscall.Mkfifo(fifo, 0o666); err != nil {
		t.Fatal(err)
	}
	open := func(what string) {
		t.Helper()
		got := make(chan error, 1)
		go func() {
			f, err := OpenAppend(fifo, 0o640)
			if err == nil {
				f.Close()
			}
			got <- err
		}()
		select {
		case err := <-got:
			if err == nil {
				t.Fatalf("%s: OpenAppend opened a named pipe", what)
			}
			if !strings.Contains(err.Error(), "not a regular file") || !strings.Contains(err.Error(), fifo) {
				t.Errorf("%s: error %q does not say that the path is not a regular file", what, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: OpenAppend still waits on a named pipe", what)
		}
	}
	open("no reader")
	r, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	open("a reader")
}

// TestOpenNoFollowRefusesFIFOs: prune and compression read a file before
// they replace or delete it; a named pipe swapped in for it after the
// listing held them in the open. They refuse it at once.
func TestOpenNoFollowRefusesFIFOs(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "access.log-20261130")
	if err := syscall.Mkfifo(fifo, 0o666); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	for name, open := range map[string]func() (*os.File, error){
		"OpenNoFollow":   func() (*os.File, error) { return OpenNoFollow(fifo) },
		"OpenNoFollowIn": func() (*os.File, error) { return OpenNoFollowIn(root, filepath.Base(fifo)) },
	} {
		got := make(chan error, 1)
		go func() {
			f, err := open()
			if err == nil {
				f.Close()
			}
			got <- err
		}()
		select {
		case err := <-got:
			if err == nil || !strings.Contains(err.Error(), "not a regular file") {
				t.Errorf("%s: error %v, want one saying it is not a regular file", name, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s still waits on a named pipe", name)
		}
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

// TestInNeverLeavesTheRoot: below a directory held open, a subdirectory
// that is a symbolic link out of it is refused for writing, removing and
// reading, and a link at the name itself is never read.
func TestInNeverLeavesTheRoot(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "f"), []byte("theirs"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "sub")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "real"), filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "real"), []byte("mine"), 0o600)
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	if err := WriteBytesIn(root, "sub/f", 0o644, []byte("ours")); err == nil {
		t.Error("WriteBytesIn through a link out of the root succeeded")
	}
	if err := RemoveIn(root, "sub/f"); err == nil {
		t.Error("RemoveIn through a link out of the root succeeded")
	}
	if f, err := OpenNoFollowIn(root, "sub/f"); err == nil {
		f.Close()
		t.Error("OpenNoFollowIn through a link out of the root succeeded")
	}
	if f, err := OpenNoFollowIn(root, "link"); err == nil {
		f.Close()
		t.Error("OpenNoFollowIn opened a symbolic link")
	}
	if b, err := os.ReadFile(filepath.Join(outside, "f")); err != nil || string(b) != "theirs" {
		t.Errorf("outside file: %q, %v", b, err)
	}
	assertOnly(t, outside, "f")
	// Inside, it works as Write does, creating the last directory.
	if err := WriteBytesIn(root, "new/f", 0o640, []byte("ok")); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "new", "f")); err != nil || string(b) != "ok" {
		t.Errorf("new/f: %q, %v", b, err)
	}
	assertOnly(t, filepath.Join(dir, "new"), "f")
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

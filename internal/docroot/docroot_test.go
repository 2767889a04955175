package docroot

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// clock is a settable clock for Interval.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

func write(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func read(t testing.TB, r *Root, name string) string {
	t.Helper()
	f, err := r.Open(name)
	if err != nil {
		t.Fatalf("Open(%q): %v", name, err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// both runs a test with openat2 and with the os.Root fallback.
func both(t *testing.T, f func(t *testing.T, slow bool)) {
	t.Run("openat2", func(t *testing.T) { f(t, false) })
	t.Run("os.Root", func(t *testing.T) { f(t, true) })
}

func TestOpenStaysBeneath(t *testing.T) {
	both(t, func(t *testing.T, slow bool) {
		dir := t.TempDir()
		root := filepath.Join(dir, "root")
		write(t, dir, map[string]string{"secret": "s", "root/a/b.txt": "b"})
		for name, target := range map[string]string{
			"root/abs": filepath.Join(dir, "secret"), "root/rel": "../secret",
			"root/a/up": "../../secret", "root/inside": "a/b.txt",
		} {
			if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
		}
		r, err := open(root, nil, slow)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if got := read(t, r, "a/b.txt"); got != "b" {
			t.Errorf("a/b.txt: got %q, want %q", got, "b")
		}
		if got := read(t, r, "inside"); got != "b" {
			t.Errorf("symlink inside: got %q, want %q", got, "b")
		}
		for _, name := range []string{"abs", "rel", "a/up", "../secret", "a/../../secret"} {
			if f, err := r.Open(name); !errors.Is(err, ErrEscapes) {
				if f != nil {
					f.Close()
				}
				t.Errorf("Open(%q): got %v, want ErrEscapes", name, err)
			}
			if _, err := r.Stat(name); !errors.Is(err, ErrEscapes) {
				t.Errorf("Stat(%q): got %v, want ErrEscapes", name, err)
			}
		}
		if _, err := r.Open("missing"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Open(missing): got %v, want ErrNotExist", err)
		}
	})
}

// exchange swaps two directories in one renameat2, as depot site build does.
func exchange(t testing.TB, a, b string) {
	t.Helper()
	if err := unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE); err != nil {
		t.Skipf("renameat2(RENAME_EXCHANGE): %v", err)
	}
}

func TestFollowsASwappedTree(t *testing.T) {
	both(t, func(t *testing.T, slow bool) {
		dir := t.TempDir()
		site, next := filepath.Join(dir, "site"), filepath.Join(dir, "site.new")
		write(t, site, map[string]string{"v": "1"})
		write(t, next, map[string]string{"v": "2"})
		c := newClock()
		r, err := open(site, c.now, slow)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		held, err := r.Acquire() // a request in flight across the swap
		if err != nil {
			t.Fatal(err)
		}
		exchange(t, next, site)

		// Within Interval the tree held is served, still whole.
		c.advance(Interval - time.Millisecond)
		if got := read(t, r, "v"); got != "1" {
			t.Errorf("before Interval: got %q, want the old %q", got, "1")
		}
		c.advance(time.Millisecond)
		if got := read(t, r, "v"); got != "2" {
			t.Errorf("after Interval: got %q, want the new %q", got, "2")
		}
		// The request in flight still reads its own tree, then lets it go.
		f, err := held.Open("v")
		if err != nil {
			t.Fatalf("old tree, acquired before the swap: %v", err)
		}
		f.Close()
		held.Release()
		if n := held.refs.Load(); n != 0 {
			t.Errorf("old tree has %d references after its last release, want 0 (closed)", n)
		}
	})
}

func TestFollowsAFlippedSymlink(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{"rel1/v": "1", "rel2/v": "2"})
	current := filepath.Join(dir, "current")
	if err := os.Symlink("rel1", current); err != nil {
		t.Fatal(err)
	}
	c := newClock()
	r, err := open(current, c.now, false)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := os.Symlink("rel2", current+".tmp"); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(current+".tmp", current); err != nil {
		t.Fatal(err)
	}
	if got := read(t, r, "v"); got != "1" {
		t.Errorf("before Interval: got %q, want %q", got, "1")
	}
	c.advance(Interval)
	if got := read(t, r, "v"); got != "2" {
		t.Errorf("after the flip and Interval: got %q, want %q", got, "2")
	}
}

// TestMissingNameLooksAtOnce: the old tree is deleted right after a swap
// (site build does so); a name missing from it is looked up in the new
// tree at once, not after Interval.
func TestMissingNameLooksAtOnce(t *testing.T) {
	dir := t.TempDir()
	site, next := filepath.Join(dir, "site"), filepath.Join(dir, "site.new")
	write(t, site, map[string]string{"v": "1"})
	write(t, next, map[string]string{"v": "2", "only-new": "n"})
	c := newClock()
	r, err := open(site, c.now, false)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	exchange(t, next, site)
	if err := os.RemoveAll(next); err != nil { // the old tree, now at next
		t.Fatal(err)
	}
	if got := read(t, r, "v"); got != "2" {
		t.Errorf("v: got %q, want %q", got, "2")
	}
	if _, err := r.Stat("only-new"); err != nil {
		t.Errorf("Stat(only-new): %v", err)
	}
	if _, err := r.Open("never"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open(never): got %v, want ErrNotExist", err)
	}
}

// TestPathGoneKeepsTree: a swap by two renames leaves a moment without
// anything at the path; the tree held keeps answering.
func TestPathGoneKeepsTree(t *testing.T) {
	dir := t.TempDir()
	site := filepath.Join(dir, "site")
	write(t, site, map[string]string{"v": "1"})
	c := newClock()
	r, err := open(site, c.now, false)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := os.Rename(site, site+".old"); err != nil {
		t.Fatal(err)
	}
	c.advance(2 * Interval)
	if got := read(t, r, "v"); got != "1" {
		t.Errorf("got %q, want %q from the tree held", got, "1")
	}
	write(t, site, map[string]string{"v": "2"})
	c.advance(Interval)
	if got := read(t, r, "v"); got != "2" {
		t.Errorf("once a tree is back: got %q, want %q", got, "2")
	}
}

func TestCloseReleases(t *testing.T) {
	r, err := Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	held, err := r.Acquire()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Acquire(); !errors.Is(err, fs.ErrClosed) {
		t.Errorf("Acquire after Close: got %v, want fs.ErrClosed", err)
	}
	if _, err := held.Stat("."); err != nil {
		t.Errorf("a tree acquired before Close: %v", err)
	}
	held.Release()
	if n := held.refs.Load(); n != 0 {
		t.Errorf("%d references left, want 0", n)
	}
}

// TestConcurrentSwaps hammers Acquire and Open while the tree is swapped
// back and forth (under -race): every open succeeds in one tree or the
// other, and no descriptor is used after it was closed.
func TestConcurrentSwaps(t *testing.T) {
	dir := t.TempDir()
	site, other := filepath.Join(dir, "site"), filepath.Join(dir, "other")
	write(t, site, map[string]string{"v": "1"})
	write(t, other, map[string]string{"v": "2"})
	c := newClock()
	r, err := open(site, c.now, false)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var fails atomic.Int64
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				f, err := r.Open("v")
				if err != nil {
					fails.Add(1)
					continue
				}
				b := make([]byte, 1)
				if _, err := f.Read(b); err != nil || (b[0] != '1' && b[0] != '2') {
					fails.Add(1)
				}
				f.Close()
			}
		})
	}
	for range 200 {
		exchange(t, site, other)
		c.advance(Interval)
	}
	close(stop)
	wg.Wait()
	if n := fails.Load(); n != 0 {
		t.Errorf("%d opens or reads failed during the swaps", n)
	}
}

func TestVersion(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{"f": "one"})
	r, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	tr, _ := r.Acquire()
	defer tr.Release()
	v1, err := tr.Version("f")
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := tr.Stat("f")
	if VersionOf(fi) != v1 {
		t.Errorf("VersionOf(Stat) %+v != Version %+v", VersionOf(fi), v1)
	}
	// An atomic replacement with the same size and mtime: another inode.
	write(t, dir, map[string]string{"f.tmp": "two"})
	mt := time.Unix(0, v1.Mtime)
	os.Chtimes(filepath.Join(dir, "f.tmp"), mt, mt)
	if err := os.Rename(filepath.Join(dir, "f.tmp"), filepath.Join(dir, "f")); err != nil {
		t.Fatal(err)
	}
	v2, err := tr.Version("f")
	if err != nil {
		t.Fatal(err)
	}
	if v2 == v1 || v2.Size != v1.Size || v2.Mtime != v1.Mtime {
		t.Errorf("replaced file: %+v, was %+v: want another inode, same size and mtime", v2, v1)
	}
	now := time.Unix(0, v2.Ctime)
	if v2.Settled(now) || v2.Settled(now.Add(Interval-1)) || !v2.Settled(now.Add(Interval)) {
		t.Error("Settled: want false within Interval of the change, true after")
	}
}

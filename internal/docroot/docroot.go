// Package docroot opens files beneath a site's root directory and nowhere
// else, and follows the root's path when the directory behind it is
// replaced: a tree swapped by `depot site build`, a `current` symlink
// flipped to a new release. It never writes, and never opens a name that
// leads out of the directory it holds.
package docroot

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Interval is how long the root's path is trusted to name the directory
// opened last: at most once per Interval the path is looked at again (one
// stat), and the new directory opened if it is another one. A failed open
// looks at once (see Moved).
const Interval = time.Second

// ErrEscapes is what Open and Stat return for a name that leads out of
// the tree, by "..", an absolute symlink or a relative one.
var ErrEscapes = errors.New("path escapes from the root")

// Root is a configured root directory, followed through replacements.
// Its methods are safe for concurrent use.
type Root struct {
	path  string
	now   func() time.Time
	epoch time.Time
	slow  bool // os.Root instead of openat2 (kernels before 5.6; tests)

	cur atomic.Pointer[Tree]
	due atomic.Int64 // when (ns since epoch) the path is looked at again

	mu     sync.Mutex // one look at the path at a time
	closed atomic.Bool
}

// Open opens the directory at path, which the caller trusts (it comes
// from the configuration). now is the clock of Interval; nil means
// time.Now.
func Open(path string, now func() time.Time) (*Root, error) {
	return open(path, now, !hasOpenat2(path))
}

func open(path string, now func() time.Time, slow bool) (*Root, error) {
	if now == nil {
		now = time.Now
	}
	t, err := openTree(path, slow)
	if err != nil {
		return nil, err
	}
	r := &Root{path: path, now: now, epoch: now(), slow: slow}
	r.cur.Store(t)
	r.due.Store(int64(Interval))
	return r, nil
}

// hasOpenat2 probes the kernel once per Open: kernels without openat2
// answer ENOSYS.
func hasOpenat2(dir string) bool {
	fd, err := unix.Openat2(unix.AT_FDCWD, dir, &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC})
	if err == nil {
		unix.Close(fd)
	}
	return err != unix.ENOSYS
}

// Path is the configured path.
func (r *Root) Path() string { return r.path }

// Current returns the tree to serve from now, looking at the path first if
// Interval has passed since the last look. The result is for comparison
// (is this still the tree an answer came from?); to open files in it, use
// Acquire.
func (r *Root) Current() *Tree {
	if r.since() >= r.due.Load() && r.mu.TryLock() {
		// TryLock: while one request looks, the others serve the tree
		// they have, which was current a microsecond ago.
		r.look(false, nil)
		r.mu.Unlock()
	}
	return r.cur.Load()
}

// Acquire returns the current tree, held open until Release.
func (r *Root) Acquire() (*Tree, error) {
	for {
		if r.closed.Load() {
			return nil, fs.ErrClosed
		}
		t := r.Current()
		if t.ref() {
			return t, nil
		}
		// t was replaced and released between the load and ref: the next
		// load finds its successor.
	}
}

// Moved looks at the path now, without waiting for Interval, and reports
// whether it names another directory than t, which is then the current
// tree. Call it when a name is missing from t: the tree may have been
// swapped and the old one is being deleted. A look costs one stat and no
// lock unless the tree changed, so a flood of missing names does not
// serialize on it.
func (r *Root) Moved(t *Tree) bool {
	if r.cur.Load() != t {
		return true
	}
	if !r.changed(t) {
		return false
	}
	r.mu.Lock()
	r.look(true, t)
	r.mu.Unlock()
	return r.cur.Load() != t
}

// changed reports whether the path names another directory than t now.
// A path that names nothing (a swap by two renames, for a moment) has not
// changed: the tree held still answers.
func (r *Root) changed(t *Tree) bool {
	var st unix.Stat_t
	if err := unix.Stat(r.path, &st); err != nil {
		return false
	}
	return uint64(st.Dev) != t.dev || st.Ino != t.ino
}

// look re-resolves the path, with r.mu held. Unless forced it does so only
// when due; forced, only if t is still current (else someone already did).
func (r *Root) look(force bool, t *Tree) {
	cur := r.cur.Load()
	now := r.since()
	if r.closed.Load() || force && cur != t || !force && now < r.due.Load() {
		return
	}
	r.due.Store(now + int64(Interval))
	if !r.changed(cur) {
		return
	}
	next, err := openTree(r.path, r.slow)
	if err != nil {
		return
	}
	r.cur.Store(next)
	cur.Release() // the root's own reference; requests in it keep it open
}

func (r *Root) since() int64 { return int64(r.now().Sub(r.epoch)) }

// Open opens name, a local slash-separated path, for reading in the
// current tree. If that fails and the tree was replaced meanwhile, it
// tries once more in the new one.
func (r *Root) Open(name string) (*os.File, error) {
	for try := 0; ; try++ {
		t, err := r.Acquire()
		if err != nil {
			return nil, err
		}
		f, err := t.Open(name)
		t.Release()
		if err == nil || try > 0 || !r.Moved(t) {
			return f, err
		}
	}
}

// Stat is Open's FileInfo, resolved as Open resolves the name.
func (r *Root) Stat(name string) (fs.FileInfo, error) {
	for try := 0; ; try++ {
		t, err := r.Acquire()
		if err != nil {
			return nil, err
		}
		fi, err := t.Stat(name)
		t.Release()
		if err == nil || try > 0 || !r.Moved(t) {
			return fi, err
		}
	}
}

// Close releases the root's tree; trees acquired before stay open until
// released. Acquire fails afterwards.
func (r *Root) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed.Swap(true) {
		return nil
	}
	r.cur.Load().Release()
	return nil
}

// Tree is one directory opened at a root's path: files are opened
// beneath it and nowhere else.
//
// On Linux 5.6 and later it asks the kernel: one openat2 call with
// RESOLVE_BENEATH refuses any path, ".." or symlink (absolute or relative)
// that would leave the directory, and RESOLVE_NO_MAGICLINKS refuses
// /proc-style links. That is one system call per file where os.Root walks
// the path a component at a time, which matters for repository trees six
// directories deep. Where openat2 is missing, os.Root gives the same
// guarantee the slow way.
type Tree struct {
	path     string
	fd       int      // directory descriptor for openat2, or -1
	slow     *os.Root // when openat2 is unavailable
	dev, ino uint64
	refs     atomic.Int64 // the root's own, plus one per Acquire
}

func openTree(dir string, slow bool) (*Tree, error) {
	t := &Tree{path: dir, fd: -1}
	var st unix.Stat_t
	if slow {
		r, err := os.OpenRoot(dir)
		if err != nil {
			return nil, err
		}
		fi, err := r.Stat(".")
		if err != nil {
			r.Close()
			return nil, err
		}
		t.slow = r
		sys := fi.Sys().(*syscall.Stat_t)
		t.dev, t.ino = uint64(sys.Dev), sys.Ino
	} else {
		fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: dir, Err: err}
		}
		// The identity of what was opened, not of what the path named a
		// moment before.
		if err := unix.Fstat(fd, &st); err != nil {
			unix.Close(fd)
			return nil, &fs.PathError{Op: "fstat", Path: dir, Err: err}
		}
		t.fd = fd
		t.dev, t.ino = uint64(st.Dev), st.Ino
	}
	t.refs.Store(1)
	return t, nil
}

// ref takes a reference unless the tree was already closed.
func (t *Tree) ref() bool {
	for {
		n := t.refs.Load()
		if n <= 0 {
			return false
		}
		if t.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// Release gives back what Acquire took; the last release closes the
// directory.
func (t *Tree) Release() {
	if t.refs.Add(-1) != 0 {
		return
	}
	if t.slow != nil {
		t.slow.Close()
	} else {
		unix.Close(t.fd)
	}
}

// Open opens name, a local slash-separated path (as the server's resolver
// returns it), for reading.
func (t *Tree) Open(name string) (*os.File, error) {
	if t.slow != nil {
		f, err := t.slow.Open(name)
		return f, slowError(err)
	}
	return t.openat2(name, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOCTTY)
}

// Stat returns the FileInfo of name, resolved as Open resolves it. It opens
// with O_PATH, so that a FIFO does not block it and no read access is
// needed.
func (t *Tree) Stat(name string) (fs.FileInfo, error) {
	if t.slow != nil {
		fi, err := t.slow.Stat(name)
		return fi, slowError(err)
	}
	f, err := t.openat2(name, unix.O_PATH|unix.O_CLOEXEC)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Stat()
}

// Version returns what identifies the content of name now: see Version.
func (t *Tree) Version(name string) (Version, error) {
	if t.slow != nil {
		fi, err := t.Stat(name)
		if err != nil {
			return Version{}, err
		}
		return VersionOf(fi), nil
	}
	f, err := t.openat2(name, unix.O_PATH|unix.O_CLOEXEC)
	if err != nil {
		return Version{}, err
	}
	var st unix.Stat_t
	err = unix.Fstat(int(f.Fd()), &st)
	f.Close()
	if err != nil {
		return Version{}, &fs.PathError{Op: "fstat", Path: name, Err: err}
	}
	return versionOfStat(&st), nil
}

func (t *Tree) openat2(name string, flags uint64) (*os.File, error) {
	for {
		fd, err := unix.Openat2(t.fd, name, &unix.OpenHow{
			Flags:   flags,
			Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS,
		})
		switch {
		case err == unix.EINTR || err == unix.EAGAIN:
			continue // EAGAIN: a concurrent rename raced the lookup
		case err == unix.EXDEV:
			return nil, &fs.PathError{Op: "open", Path: name, Err: ErrEscapes}
		case err != nil:
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		return os.NewFile(uintptr(fd), path.Join(t.path, name)), nil
	}
}

// slowError turns os.Root's error for a path that leaves the root, which
// it does not export, into ErrEscapes.
func slowError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Err != nil && pe.Err.Error() == "path escapes from parent" {
		return &fs.PathError{Op: pe.Op, Path: pe.Path, Err: ErrEscapes}
	}
	return err
}

// Version identifies one version of a file: a file replaced by rename
// (rsync, createrepo_c --update, a swapped tree) has another inode, and
// one rewritten in place another change time. Two equal Versions name the
// same content unless the file was rewritten within one tick of the
// file system's clock; see Settled.
type Version struct {
	Dev, Ino     uint64
	Size         int64
	Mtime, Ctime int64 // nanoseconds since the epoch
}

// VersionOf is the Version of a FileInfo from this package or package os.
func VersionOf(fi fs.FileInfo) Version {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return Version{Dev: uint64(st.Dev), Ino: st.Ino, Size: st.Size,
			Mtime: st.Mtim.Nano(), Ctime: st.Ctim.Nano()}
	}
	return Version{Size: fi.Size(), Mtime: fi.ModTime().UnixNano()}
}

func versionOfStat(st *unix.Stat_t) Version {
	return Version{Dev: uint64(st.Dev), Ino: st.Ino, Size: st.Size,
		Mtime: st.Mtim.Nano(), Ctime: st.Ctim.Nano()}
}

// Settled reports whether the version's last change is at least Interval
// before now: content read from it then is the content of every later
// read with an equal Version, since any change after now would get a
// change time of its own. (A file changed within a tick of a read can
// keep its Version with other bytes; git calls this "racily clean".)
func (v Version) Settled(now time.Time) bool {
	return v.Ctime != 0 && now.UnixNano()-v.Ctime >= int64(Interval)
}

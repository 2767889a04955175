// Package atomicfile writes files in directories that others may write to
// (log_dir, data_dir) without being tricked: a file is replaced whole (a
// reader, or a crash at any moment, sees the old content or the new, never
// a mix), temporary files are created exclusively and never through a
// symbolic link, and appends refuse a link. A directory tree built beside
// its place is put there whole too (ReplaceDir).
//
// It never writes in place, never follows a symbolic link it did not make,
// never leaves its temporary file behind on an error it can see, and never
// creates more than the last element of a directory path.
package atomicfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// File is a temporary file that replaces its target on Commit. Write to
// it (it is also readable, to check what was written); the target is
// untouched until Commit.
type File struct {
	*os.File
	target string
	done   bool
	// root, when set, holds the directory open: tmp and target are names
	// relative to it (see CreateIn).
	root *os.Root
	tmp  string
}

// Create makes a temporary file ".BASE.tmp-RANDOM" beside path, mode 0600
// until Commit gives it perm. It is created with O_EXCL and O_NOFOLLOW: a
// file or symbolic link planted under that name is never opened.
func Create(path string, perm os.FileMode) (*File, error) {
	f, _, err := createTemp(os.OpenFile, os.Remove, path, path, perm)
	if err != nil {
		return nil, err
	}
	return &File{File: f, target: path}, nil
}

// createTemp makes the temporary file of Create and CreateIn through open
// and remove (the file system's, or an os.Root's) and returns it with its
// name; shown is path as an error names it.
func createTemp(open func(string, int, os.FileMode) (*os.File, error), remove func(string) error, path, shown string, perm os.FileMode) (*os.File, string, error) {
	dir, base := filepath.Split(path)
	for range 100 {
		tmp := filepath.Join(dir, "."+base+tempInfix+strconv.FormatUint(rand.Uint64()>>32, 10))
		// O_EXCL|O_NOFOLLOW: nothing planted under the name is opened
		// (and an os.Root follows no link out of it).
		f, err := open(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		if err := f.Chmod(perm); err != nil {
			f.Close()
			remove(tmp)
			return nil, "", err
		}
		return f, tmp, nil
	}
	return nil, "", fmt.Errorf("creating a temporary file for %s: every name tried exists", shown)
}

// SetModTime sets the temporary file's modification time (through its
// descriptor, never its name).
func (f *File) SetModTime(t time.Time) error {
	tv := unix.NsecToTimeval(t.UnixNano())
	return unix.Futimes(int(f.Fd()), []unix.Timeval{tv, tv})
}

// Commit syncs and closes the temporary file, renames it over the target
// and syncs the directory, so that the replacement survives a crash.
func (f *File) Commit() error {
	return f.commit("replacing", func(tmp string) error { return os.Rename(tmp, f.target) })
}

// CommitNew is Commit for a file that must not replace anything: the
// temporary file is linked to the target's name, which fails with an
// error wrapping fs.ErrExist when anything (even a dangling symbolic link)
// has that name, and leaves it as it was.
func (f *File) CommitNew() error {
	return f.commit("creating", func(tmp string) error {
		if err := os.Link(tmp, f.target); err != nil {
			return err
		}
		return os.Remove(tmp)
	})
}

// commit syncs and closes the temporary file, puts it in place and syncs
// the directory; the temporary file is removed if place fails.
func (f *File) commit(what string, place func(tmp string) error) error {
	if f.done {
		return errors.New("atomicfile: Commit after Commit or Abort")
	}
	f.done = true
	err := f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if f.root != nil {
		if err == nil {
			err = f.root.Rename(f.tmp, f.target)
		}
		if err != nil {
			f.root.Remove(f.tmp)
			return fmt.Errorf("replacing %s: %w", filepath.Join(f.root.Name(), f.target), err)
		}
		return syncDirIn(f.root, filepath.Dir(f.target))
	}
	if err == nil {
		err = place(f.Name())
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("%s %s: %w", what, f.target, err)
	}
	return SyncDir(filepath.Dir(f.target))
}

// Abort closes and removes the temporary file; after Commit it does
// nothing, so it can be deferred.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.Close()
	if f.root != nil {
		f.root.Remove(f.tmp)
		return
	}
	os.Remove(f.Name())
}

// Write creates or replaces path with what fill writes, through a File;
// the directory is created by MakeDir if needed. If fill fails, path is
// untouched.
func Write(path string, perm os.FileMode, fill func(w io.Writer) error) error {
	if err := MakeDir(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := Create(path, perm)
	if err != nil {
		return err
	}
	defer f.Abort()
	bw := bufio.NewWriterSize(f, 64<<10)
	if err := fill(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing %s: %w", f.Name(), err)
	}
	return f.Commit()
}

// MakeDir creates dir with mode perm if it does not exist, and only its
// last element: a parent that does not exist is an error that says so, so
// that a mistyped path never becomes a tree of new directories.
func MakeDir(dir string, perm os.FileMode) error {
	st, err := os.Stat(dir)
	if err == nil {
		if !st.IsDir() {
			return fmt.Errorf("%s exists and is not a directory", dir)
		}
		return nil
	}
	if err := os.Mkdir(dir, perm); err != nil && !errors.Is(err, fs.ErrExist) {
		parent := filepath.Dir(dir)
		if st, perr := os.Stat(parent); perr != nil || !st.IsDir() {
			return fmt.Errorf("cannot create %s: its parent %s is not an existing directory; create the parent first, or fix the path", dir, parent)
		}
		return fmt.Errorf("cannot create %s: %w", dir, err)
	}
	return nil
}

// WriteBytes is Write for content already in memory.
func WriteBytes(path string, perm os.FileMode, b []byte) error {
	return Write(path, perm, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// SyncDir makes renames and removals in dir durable. A file system that
// cannot sync a directory (EINVAL) is not an error: the rename has
// happened; every other failure is.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("syncing directory %s: %w", dir, err)
	}
	return nil
}

// ReplaceDir puts the directory tmp at dst, whole. If dst exists, the two
// are exchanged in one renameat2(RENAME_EXCHANGE), so a reader always sees
// a whole tree, and the old one is left at tmp for the caller to remove.
// Where the kernel or file system cannot exchange, dst is moved aside and
// tmp renamed over it: a moment without a tree, never a half-written one.
// The directory holding dst is synced.
func ReplaceDir(tmp, dst string) error {
	if _, err := os.Lstat(tmp); err != nil {
		return err
	}
	defer SyncDir(filepath.Dir(dst))
	if _, err := os.Lstat(dst); errors.Is(err, fs.ErrNotExist) {
		return os.Rename(tmp, dst)
	}
	if err := unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, dst, unix.RENAME_EXCHANGE); err == nil {
		return nil
	}
	old := tmp + ".old"
	if err := os.Rename(dst, old); err != nil {
		return fmt.Errorf("moving the old %s aside: %w", dst, err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Rename(old, dst)
		return fmt.Errorf("putting the new %s in place: %w", dst, err)
	}
	return os.RemoveAll(old)
}

// Remove removes path (a symbolic link itself, never its target) and
// syncs its directory.
func Remove(path string) error {
	if err := os.Remove(path); err != nil {
		return err
	}
	return SyncDir(filepath.Dir(path))
}

// OpenAppend opens path for appending, creating it with perm if needed. A
// symbolic link at path is refused (O_NOFOLLOW), and so is anything that
// is not a regular file: lines are never written through a link planted
// in the log directory. The open does not wait: a named pipe planted there
// would hold it until someone reads (O_NONBLOCK, which changes nothing for
// a regular file).
func OpenAppend(path string, perm os.FileMode) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, perm)
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("%s is a symbolic link; depot does not write through links: replace it with a regular file (rm %s)", path, path)
	}
	if errors.Is(err, syscall.ENXIO) {
		// A named pipe with no reader, or a socket.
		return nil, fmt.Errorf("%s is not a regular file (%w); depot writes logs to regular files only: remove it (rm %s)", path, err, path)
	}
	if err != nil {
		return nil, err
	}
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = fmt.Errorf("%s is not a regular file (%v); depot writes logs to regular files only: remove it (rm %s)", path, st.Mode().Type(), path)
		}
		return nil, err
	}
	return f, nil
}

// OpenNoFollow opens path for reading, refusing a symbolic link: for files
// that depot will replace or delete after reading them. Anything but a
// regular file is refused too, without waiting: a named pipe would hold
// the open until someone writes (O_NONBLOCK, which changes nothing for a
// regular file).
func OpenNoFollow(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("%s is a symbolic link; depot does not follow links it would change", path)
	}
	if err != nil {
		return nil, err
	}
	return regularOnly(f, path)
}

// OpenRegular opens path for reading, following a symbolic link (as
// reading tools do), and refuses at once anything but a regular file: a
// named pipe planted among the logs would hold the open, or the first
// read, until someone writes.
func OpenRegular(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	return regularOnly(f, path)
}

// regularOnly returns f if it is a regular file, or closes it.
func regularOnly(f *os.File, path string) (*os.File, error) {
	st, err := f.Stat()
	if err == nil && !st.Mode().IsRegular() {
		err = fmt.Errorf("%s is not a regular file (%v); depot reads logs from regular files only", path, st.Mode().Type())
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// tempInfix marks the temporary files Create makes: ".NAME.tmp-RANDOM".
const tempInfix = ".tmp-"

// IsTemp reports whether a base name is one of depot's temporary or working
// files, which are never data: the ".NAME.tmp-RANDOM" files of this
// package, any "NAME.tmp" (the "X.gz.tmp" and "X.rewrite.tmp" of earlier
// versions' compression and prune), and the lock file earlier versions
// kept in the log directory.
func IsTemp(name string) bool {
	switch {
	case strings.HasSuffix(name, ".tmp"):
		return true
	case strings.HasPrefix(name, ".") && strings.Contains(name, tempInfix):
		return true
	}
	return name == ".depot-logs.lock"
}

// TempTarget is the base name of the file that the temporary file name
// was made to replace: "X" for ".X.tmp-N", "X" for "X.tmp", and "" for the
// old lock file.
func TempTarget(name string) string {
	if strings.HasPrefix(name, ".") {
		if i := strings.LastIndex(name, tempInfix); i > 0 {
			return name[1:i]
		}
	}
	t, _ := strings.CutSuffix(name, ".tmp")
	if t == name {
		return ""
	}
	return t
}

// In a directory held open as an os.Root, the functions below work on
// names relative to it: a symbolic link, planted before or swapped in
// while they work (a subdirectory replaced by a link to /etc), cannot
// lead them out of it. Use them for whatever lies below the directory
// that the configuration names (log_dir, data_dir): others may write
// there, but not above it.

// CreateIn is Create for name, relative to root.
func CreateIn(root *os.Root, name string, perm os.FileMode) (*File, error) {
	f, tmp, err := createTemp(root.OpenFile, root.Remove, name, filepath.Join(root.Name(), name), perm)
	if err != nil {
		return nil, err
	}
	return &File{File: f, target: name, root: root, tmp: tmp}, nil
}

// WriteBytesIn is WriteBytes for name, relative to root; the directory
// name is in is created if missing (its last element only).
func WriteBytesIn(root *os.Root, name string, perm os.FileMode, b []byte) error {
	if dir := filepath.Dir(name); dir != "." {
		if err := root.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("cannot create %s: %w", filepath.Join(root.Name(), dir), err)
		}
	}
	f, err := CreateIn(root, name, perm)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.Write(b); err != nil {
		return fmt.Errorf("writing %s: %w", f.Name(), err)
	}
	return f.Commit()
}

// RemoveIn is Remove for name, relative to root.
func RemoveIn(root *os.Root, name string) error {
	if err := root.Remove(name); err != nil {
		return err
	}
	return syncDirIn(root, filepath.Dir(name))
}

// OpenNoFollowIn is OpenNoFollow for name, relative to root. (os.Root
// follows a link that stays inside it: the file opened is checked to be
// the one that is at name.)
func OpenNoFollowIn(root *os.Root, name string) (*os.File, error) {
	full := filepath.Join(root.Name(), name)
	lst, err := root.Lstat(name)
	if err != nil {
		return nil, err
	}
	if lst.Mode()&fs.ModeSymlink != 0 {
		return nil, fmt.Errorf("%s is a symbolic link; depot does not follow links it would change", full)
	}
	f, err := root.OpenFile(name, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	if f, err = regularOnly(f, full); err != nil {
		return nil, err
	}
	if st, err := f.Stat(); err != nil || !os.SameFile(st, lst) {
		f.Close()
		return nil, fmt.Errorf("%s was replaced while it was opened; depot does not follow links it would change", full)
	}
	return f, nil
}

// syncDirIn is SyncDir for dir, relative to root.
func syncDirIn(root *os.Root, dir string) error {
	d, err := root.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("syncing directory %s: %w", d.Name(), err)
	}
	return nil
}

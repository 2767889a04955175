// Package atomicfile replaces files whole: a reader, or a crash at any
// moment, sees either the old content or the new, never a mix or a
// truncated file.
//
// It never writes in place, never leaves its temporary file behind on an
// error it can see, and never creates more than the last element of a
// directory path.
package atomicfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Write creates or replaces path with what fill writes. The content goes to
// a temporary file in the same directory (created by MakeDir if needed),
// which is synced, given perm and renamed over path; the directory is
// synced so the rename survives a crash. If fill fails, path is untouched.
func Write(path string, perm os.FileMode, fill func(w io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	if err := MakeDir(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 64<<10)
	if err = fill(bw); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return fmt.Errorf("writing %s: %w", tmp.Name(), err)
	}
	if err = tmp.Chmod(perm); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", tmp.Name(), err)
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	SyncDir(dir)
	return nil
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

// SyncDir makes renames in dir durable. It is best effort: some file
// systems cannot sync a directory, and the rename has happened anyway.
func SyncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// tempInfix marks the temporary files Write creates: ".NAME.tmp-RANDOM".
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

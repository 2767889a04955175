package logfiles

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/klauspost/compress/gzip"

	"depot/internal/atomicfile"
)

// CompressFile compresses the rotated file src to src+".gz" as indexed
// gzip, crash-safely:
//
//  1. write a temporary file (atomicfile: created exclusively, never
//     through a link), fsync it, and read it back to the end (it must
//     inflate to exactly src's size);
//  2. rename it to src+".gz" and fsync the directory;
//  3. only then remove src.
//
// At every instant the data is whole in src, or in src+".gz", or both. src
// itself is opened without following a link. The caller holds the
// directory lock.
func CompressFile(src string) error {
	in, err := atomicfile.OpenNoFollow(src)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file; not compressed", src)
	}
	out, err := atomicfile.Create(src+".gz", st.Mode().Perm())
	if err != nil {
		return err
	}
	defer out.Abort()
	bw := bufio.NewWriterSize(out, 256<<10)
	iw := newIndexedWriter(bw)
	if _, err = io.CopyBuffer(iw, in, make([]byte, 256<<10)); err != nil {
		return fmt.Errorf("compressing %s: %w", src, err)
	}
	if err = iw.Close(); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return err
	}
	if n, verr := gzipSize(io.NewSectionReader(out, 0, 1<<62)); verr != nil || n != st.Size() {
		return fmt.Errorf("compressing %s: the compressed copy reads back as %d bytes (%v), want %d", src, n, verr, st.Size())
	}
	if err = out.SetModTime(st.ModTime()); err != nil {
		return err
	}
	if err = out.Commit(); err != nil {
		return err
	}
	return atomicfile.Remove(src)
}

// gzipSize inflates gzip data to its end and returns how many bytes it
// holds. An error means the data is truncated or corrupt.
func gzipSize(r io.Reader) (int64, error) {
	zr, err := gzip.NewReader(bufio.NewReaderSize(r, 256<<10))
	if err != nil {
		return 0, err
	}
	return io.Copy(io.Discard, zr)
}

func gzipFileSize(path string) (int64, error) {
	f, err := atomicfile.OpenNoFollow(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return gzipSize(f)
}

// removeTemps removes the leftover temporary files of logs in dir (a name
// relative to root, which nothing leads out of): what a
// crash during compression or prune left, or a file or link planted under
// such a name. The caller holds the directory lock, so no such file is in
// use; temporary files of anything but a log (the statistics data file's,
// when data_dir is log_dir) are not touched. A regular temporary file whose
// source is gone is kept and reported (it may be the last copy of
// something); anything else is unlinked, never followed.
func removeTemps(root *os.Root, dir string) (removed []string, errs []error) {
	d, err := root.Open(dir)
	if err != nil {
		return nil, []error{err}
	}
	entries, err := d.ReadDir(-1)
	d.Close()
	if err != nil {
		return nil, []error{err}
	}
	for _, e := range entries {
		name := e.Name()
		if !atomicfile.IsTemp(name) {
			continue
		}
		if target := strings.TrimSuffix(atomicfile.TempTarget(name), ".rewrite"); target != "" {
			if _, ok := parseName(dir, target); !ok {
				continue // not a log's
			}
		}
		path := filepath.Join(root.Name(), dir, name)
		if e.Type().IsRegular() {
			if src := tempSource(root, dir, name); src != "" {
				errs = append(errs, fmt.Errorf("%s: left by an interrupted compression or prune, but %s is missing; kept for you to inspect", path, src))
				continue
			}
		}
		if err := root.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, path)
	}
	return removed, errs
}

// tempSource returns "" when the file a temporary file was made from
// still exists, or else the name of that missing file. A compression's
// temp (target X.gz) was made from X, a rewrite's from its target itself.
func tempSource(root *os.Root, dir, name string) string {
	target := atomicfile.TempTarget(name)
	if target == "" {
		return "" // the old lock file: nothing was made from anything
	}
	target = strings.TrimSuffix(target, ".rewrite")
	for _, src := range []string{target, strings.TrimSuffix(target, ".gz")} {
		if _, err := root.Lstat(filepath.Join(dir, src)); err == nil {
			return ""
		}
	}
	return target
}

// recoverCompression finishes what an interrupted compression left in dir,
// and compresses rotated plain files that depot named (dateext) but has
// not compressed yet. A partial .gz (a temp file, or a .gz that does not
// inflate to its source's size) is removed and redone while its source is
// kept; a temp file whose source is gone is left alone and reported.
func recoverCompression(dir string) (redone []string, err error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	_, errs := removeTemps(root, ".")
	root.Close()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		n, ok := parseName(dir, e.Name())
		if !ok || n.comp != "" || n.active || n.day.IsZero() || !e.Type().IsRegular() {
			continue
		}
		if st, serr := os.Lstat(n.path + ".gz"); serr == nil {
			src, _ := e.Info()
			if size, gerr := gzipFileSize(n.path + ".gz"); gerr == nil && src != nil && size == src.Size() && st.Size() > 0 {
				// The .gz is whole: the crash came after its rename.
				if rerr := atomicfile.Remove(n.path); rerr != nil {
					errs = append(errs, rerr)
				}
				continue
			}
			if rerr := atomicfile.Remove(n.path + ".gz"); rerr != nil {
				errs = append(errs, rerr)
				continue
			}
		}
		if cerr := CompressFile(n.path); cerr != nil {
			errs = append(errs, cerr)
			continue
		}
		redone = append(redone, n.path)
	}
	return redone, errors.Join(errs...)
}

// lockDir takes an exclusive advisory lock on the directory itself (its
// descriptor), waiting for it: it serialises depot's changes to a log
// directory (rotation's compression, prune) across processes, and creates
// nothing there.
func lockDir(dir string) (unlock func(), err error) {
	return flockDir(dir, syscall.LOCK_EX)
}

// lockFor is the lock of a run over a directory: shared for a dry run,
// which changes nothing, exclusive otherwise.
func lockFor(dryRun bool) func(dir string) (unlock func(), err error) {
	if dryRun {
		return lockDirShared
	}
	return lockDir
}

// lockDirShared takes a shared lock: for reading the directory (a dry
// run) while no change is made.
func lockDirShared(dir string) (unlock func(), err error) {
	return flockDir(dir, syscall.LOCK_SH)
}

func flockDir(dir string, how int) (func(), error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("locking log directory: %w", err)
	}
	if err := syscall.Flock(int(d.Fd()), how); err != nil {
		d.Close()
		return nil, fmt.Errorf("locking log directory %s: %w", dir, err)
	}
	return func() {
		_ = syscall.Flock(int(d.Fd()), syscall.LOCK_UN)
		d.Close()
	}, nil
}

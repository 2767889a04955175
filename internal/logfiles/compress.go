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
)

// CompressFile compresses the rotated file src to src+".gz" as indexed
// gzip, crash-safely:
//
//  1. write src+".gz.tmp", fsync it, and read it back to the end (it must
//     inflate to exactly src's size);
//  2. rename it to src+".gz" and fsync the directory;
//  3. only then remove src.
//
// At every instant the data is whole in src, or in src+".gz", or both. The
// caller holds the directory lock.
func CompressFile(src string) (err error) {
	dst := src + ".gz"
	tmp := src + compressTmpSuffix
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			out.Close()
			os.Remove(tmp)
		}
	}()
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
	if err = out.Sync(); err != nil {
		return err
	}
	if err = out.Close(); err != nil {
		return err
	}
	if n, verr := gzipSize(tmp); verr != nil || n != st.Size() {
		return fmt.Errorf("compressing %s: the compressed copy reads back as %d bytes (%v), want %d", src, n, verr, st.Size())
	}
	_ = os.Chtimes(tmp, st.ModTime(), st.ModTime())
	if err = os.Rename(tmp, dst); err != nil {
		return err
	}
	if err = syncDir(filepath.Dir(src)); err != nil {
		return err
	}
	if err := os.Remove(src); err != nil {
		return err
	}
	return syncDir(filepath.Dir(src))
}

// gzipSize inflates the gzip file at path to its end and returns how many
// bytes it holds. An error means the file is truncated or corrupt.
func gzipSize(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(bufio.NewReaderSize(f, 256<<10))
	if err != nil {
		return 0, err
	}
	return io.Copy(io.Discard, zr)
}

// recoverCompression finishes what an interrupted compression left in dir,
// and compresses rotated plain files that depot named (dateext) but has
// not compressed yet. A partial .gz (a temp file, or a .gz that does not
// inflate to its source's size) is removed and redone while its source is
// kept; a temp file whose source is gone is left alone and reported.
func recoverCompression(dir string) (redone []string, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, e := range entries {
		name := e.Name()
		if src, ok := strings.CutSuffix(name, compressTmpSuffix); ok {
			if _, serr := os.Stat(filepath.Join(dir, src)); serr != nil {
				errs = append(errs, fmt.Errorf("%s: partial compression whose source %s is missing; kept for you to inspect", filepath.Join(dir, name), src))
				continue
			}
			if rerr := os.Remove(filepath.Join(dir, name)); rerr != nil {
				errs = append(errs, rerr)
			}
		}
	}
	for _, e := range entries {
		n, ok := parseName(dir, e.Name())
		if !ok || n.gz || n.active || n.day.IsZero() || !e.Type().IsRegular() {
			continue
		}
		if st, serr := os.Stat(n.path + ".gz"); serr == nil {
			src, _ := e.Info()
			if size, gerr := gzipSize(n.path + ".gz"); gerr == nil && src != nil && size == src.Size() && st.Size() > 0 {
				// The .gz is whole: the crash came after its rename.
				if rerr := os.Remove(n.path); rerr != nil {
					errs = append(errs, rerr)
				}
				continue
			}
			if rerr := os.Remove(n.path + ".gz"); rerr != nil {
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

// syncDir makes a rename or removal in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return err
	}
	return nil
}

// lockName is the lock file that serialises depot's changes to a log
// directory (rotation's compression, prune) across processes.
const lockName = ".depot-logs.lock"

// lockDir takes an exclusive advisory lock on dir, waiting for it.
func lockDir(dir string) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("locking log directory: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking log directory %s: %w", dir, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

package server

import (
	"errors"
	"io/fs"
	"os"
	"path"

	"golang.org/x/sys/unix"
)

// root opens files beneath one directory and nowhere else.
//
// On Linux 5.6 and later it asks the kernel: one openat2 call with
// RESOLVE_BENEATH refuses any path, ".." or symlink (absolute or relative)
// that would leave the directory, and RESOLVE_NO_MAGICLINKS refuses
// /proc-style links. That is one system call per file where os.Root walks
// the path a component at a time, which matters for repository trees six
// directories deep. Where openat2 is missing, os.Root gives the same
// guarantee the slow way.
type root struct {
	dir  string
	fd   int      // directory descriptor for openat2, or -1
	slow *os.Root // fallback when openat2 is unavailable
}

// errEscapes is what both paths return for a name that leads out.
var errEscapes = errors.New("path escapes from the root")

func openRoot(dir string) (*root, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: dir, Err: err}
	}
	r := &root{dir: dir, fd: fd}
	// Probe once: kernels without openat2 answer ENOSYS.
	probe, err := unix.Openat2(fd, ".", &unix.OpenHow{Flags: unix.O_RDONLY | unix.O_CLOEXEC, Resolve: unix.RESOLVE_BENEATH})
	if err == nil {
		unix.Close(probe)
		return r, nil
	}
	unix.Close(fd)
	r.fd = -1
	if r.slow, err = os.OpenRoot(dir); err != nil {
		return nil, err
	}
	return r, nil
}

// Open opens name, a local path as resolve returns it, for reading.
func (r *root) Open(name string) (*os.File, error) {
	if r.slow != nil {
		f, err := r.slow.Open(name)
		if err != nil && isEscape(err) {
			return nil, &fs.PathError{Op: "open", Path: name, Err: errEscapes}
		}
		return f, err
	}
	return r.openat2(name, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOCTTY)
}

func (r *root) openat2(name string, flags uint64) (*os.File, error) {
	for {
		fd, err := unix.Openat2(r.fd, name, &unix.OpenHow{
			Flags:   flags,
			Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS,
		})
		switch {
		case err == unix.EINTR || err == unix.EAGAIN:
			continue // EAGAIN: a concurrent rename raced the lookup
		case err == unix.EXDEV:
			return nil, &fs.PathError{Op: "open", Path: name, Err: errEscapes}
		case err != nil:
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		return os.NewFile(uintptr(fd), path.Join(r.dir, name)), nil
	}
}

// Stat returns the FileInfo of name, resolved as Open resolves it. It
// opens with O_PATH, so that a FIFO does not block it and no read access
// is needed.
func (r *root) Stat(name string) (fs.FileInfo, error) {
	if r.slow != nil {
		fi, err := r.slow.Stat(name)
		if err != nil && isEscape(err) {
			return nil, &fs.PathError{Op: "stat", Path: name, Err: errEscapes}
		}
		return fi, err
	}
	f, err := r.openat2(name, unix.O_PATH|unix.O_CLOEXEC)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Stat()
}

func (r *root) Close() error {
	if r.slow != nil {
		return r.slow.Close()
	}
	return unix.Close(r.fd)
}

// isEscape recognises os.Root's error for a path that leaves the root,
// which it does not export.
func isEscape(err error) bool {
	var pe *fs.PathError
	return errors.As(err, &pe) && pe.Err != nil && pe.Err.Error() == "path escapes from parent"
}

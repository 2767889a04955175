// Package logfilestest has helpers for tests of log files: reading every
// line of a log file (by content, as depot does), writing fixtures in
// every compressed format depot reads, and a small disk that fills up.
package logfilestest

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
	"golang.org/x/sys/unix"

	"depot/internal/logread"
)

// ReadLines returns every line of the file at path, plain or compressed.
func ReadLines(tb testing.TB, path string) []string {
	tb.Helper()
	r, err := logread.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer r.Close()
	var lines []string
	for {
		l, err := r.Next()
		if errors.Is(err, io.EOF) {
			return lines
		}
		if err != nil {
			tb.Fatal(err)
		}
		lines = append(lines, string(l))
	}
}

// WriteFile writes lines (each followed by "\n") to dir/name, compressed
// as the name says (.gz, .xz, .zst), and returns the path. Go has no bzip2
// writer: see Bzip2.
func WriteFile(tb testing.TB, dir, name string, lines ...string) string {
	tb.Helper()
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	data := []byte(strings.Join(lines, "\n"))
	if len(lines) > 0 {
		data = append(data, '\n')
	}
	if err := os.WriteFile(path, Compress(tb, filepath.Ext(name), data), 0o640); err != nil {
		tb.Fatal(err)
	}
	return path
}

// Compress compresses data as the file extension ext says (".gz", ".xz",
// ".zst"); any other extension leaves it plain.
func Compress(tb testing.TB, ext string, data []byte) []byte {
	tb.Helper()
	var b bytes.Buffer
	var w io.WriteCloser
	var err error
	switch ext {
	case ".gz":
		w = gzip.NewWriter(&b)
	case ".xz":
		w, err = xz.NewWriter(&b)
	case ".zst":
		w, err = zstd.NewWriter(&b, zstd.WithEncoderConcurrency(1))
	default:
		return data
	}
	if err == nil {
		_, err = w.Write(data)
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// Names lists the file names in dir, sorted, hidden files included.
func Names(tb testing.TB, dir string) []string {
	tb.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// Disk is a directory whose space can run out and come back.
type Disk struct {
	Dir  string
	Fill func() // from now on, writes of files in Dir fail for lack of space
	Free func() // space is back
}

// SmallDisk returns a real file system that fills: a 1 MiB tmpfs where the
// test may mount one (root, as CI runs), filled by a file that takes all
// its space; elsewhere a directory under a file size limit
// (RLIMIT_FSIZE), lowered to the log's size to fill it. Both make write(2)
// fail on the log file itself, after a short write, as a full disk does.
func SmallDisk(t *testing.T) *Disk {
	t.Helper()
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=1m,mode=0700"); err == nil {
		t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
		filler := filepath.Join(dir, "filler")
		return &Disk{
			Dir: dir,
			Fill: func() {
				f, err := os.Create(filler)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				block := make([]byte, 4096)
				for {
					if _, err := f.Write(block); err != nil {
						if !errors.Is(err, syscall.ENOSPC) {
							t.Fatalf("filling the tmpfs: %v", err)
						}
						return
					}
				}
			},
			Free: func() {
				if err := os.Remove(filler); err != nil {
					t.Fatal(err)
				}
			},
		}
	}
	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Setrlimit(unix.RLIMIT_FSIZE, &old) })
	return &Disk{
		Dir: dir,
		Fill: func() {
			var size int64
			if st, err := os.Stat(filepath.Join(dir, "access.log")); err == nil {
				size = st.Size()
			}
			// A little room left, so that the first write is a short one.
			lim := unix.Rlimit{Cur: uint64(size) + 100, Max: old.Max}
			if err := unix.Setrlimit(unix.RLIMIT_FSIZE, &lim); err != nil {
				t.Fatal(err)
			}
		},
		Free: func() {
			if err := unix.Setrlimit(unix.RLIMIT_FSIZE, &old); err != nil {
				t.Fatal(err)
			}
		},
	}
}

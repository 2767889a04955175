// Package logfilestest has helpers for tests of log files: reading every
// line of a log directory, plain and gzip, writing fixtures, and a small
// disk that fills up.
package logfilestest

import (
	"bufio"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// ReadLines returns every line of the file at path, inflating .gz files
// (all members).
func ReadLines(tb testing.TB, path string) []string {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			tb.Fatalf("%s: %v", path, err)
		}
		r = zr
	}
	var lines []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return lines
}

// WriteFile writes lines (each followed by "\n") to dir/name, gzip when
// name ends in .gz, and returns the path.
func WriteFile(tb testing.TB, dir, name string, lines ...string) string {
	tb.Helper()
	path := filepath.Join(dir, name)
	data := []byte(strings.Join(lines, "\n"))
	if len(lines) > 0 {
		data = append(data, '\n')
	}
	if strings.HasSuffix(name, ".gz") {
		var b strings.Builder
		zw := gzip.NewWriter(&b)
		zw.Write(data)
		zw.Close()
		data = []byte(b.String())
	}
	if err := os.WriteFile(path, data, 0o640); err != nil {
		tb.Fatal(err)
	}
	return path
}

// Names lists the file names in dir, sorted.
func Names(tb testing.TB, dir string) []string {
	tb.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".depot") {
			names = append(names, e.Name())
		}
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

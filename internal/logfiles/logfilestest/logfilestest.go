// Package logfilestest has helpers for tests of log files: reading every
// line of a log file (by content, as depot does), writing fixtures in
// every compressed format depot reads, finding client addresses in any
// spelling, and a small disk that fills up.
package logfilestest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
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

// Encodings returns the spellings of a by which it could still be found in
// a file: for IPv4 (and IPv4-mapped) dotted, IPv4-mapped in hexadecimal,
// 32-bit decimal and hexadecimal; for IPv6 the canonical and expanded
// address and the text of its /64 and /48 prefixes.
func Encodings(a netip.Addr) []string {
	a = a.WithZone("")
	if a.Is4In6() {
		a = a.Unmap()
	}
	if a.Is4() {
		b := a.As4()
		n := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		return []string{
			a.String(),
			fmt.Sprintf("::ffff:%x:%x", n>>16, n&0xffff),
			fmt.Sprintf("%d", n),
			fmt.Sprintf("%08x", n),
		}
	}
	out := []string{a.String(), a.StringExpanded()}
	for _, bits := range []int{64, 48} {
		p, _ := a.Prefix(bits)
		out = append(out,
			strings.TrimSuffix(p.Addr().String(), "::")+":",
			p.Addr().StringExpanded()[:bits/16*5])
	}
	return out
}

// FindAddresses reads every file below dir, inflating gzip ones (by
// content), and returns where any encoding of any of addrs appears. A
// decimal or hexadecimal spelling counts only as a whole word.
func FindAddresses(tb testing.TB, dir string, addrs []netip.Addr) []string {
	tb.Helper()
	type enc struct {
		addr, text string
		word       bool
	}
	var encs []enc
	for _, a := range addrs {
		for i, e := range Encodings(a) {
			encs = append(encs, enc{a.String(), strings.ToLower(e), a.Unmap().Is4() && i >= 2})
		}
	}
	var hits []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		contents := [][]byte{raw}
		if len(raw) > 2 && raw[0] == 0x1f && raw[1] == 0x8b {
			zr, err := gzip.NewReader(bytes.NewReader(raw))
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			plain, err := io.ReadAll(zr)
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			contents = append(contents, plain)
		}
		for _, c := range contents {
			lower := bytes.ToLower(c)
			for _, e := range encs {
				if i := indexWord(lower, []byte(e.text), e.word); i >= 0 {
					start, end := max(0, i-40), min(len(c), i+len(e.text)+40)
					hits = append(hits, fmt.Sprintf("%s: %s (as %q) in …%s…", p, e.addr, e.text, c[start:end]))
				}
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return hits
}

// indexWord finds sub in b; with word, only where no hexadecimal digit
// touches it on either side.
func indexWord(b, sub []byte, word bool) int {
	for off := 0; ; {
		i := bytes.Index(b[off:], sub)
		if i < 0 {
			return -1
		}
		i += off
		if !word || ((i == 0 || !isHexDigit(b[i-1])) && (i+len(sub) == len(b) || !isHexDigit(b[i+len(sub)]))) {
			return i
		}
		off = i + 1
	}
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f'
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

// FirstDiff is the 1-based index of the first line where got and want
// differ, for a test's message.
func FirstDiff(got, want []string) int {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return i + 1
		}
	}
	return min(len(got), len(want)) + 1
}

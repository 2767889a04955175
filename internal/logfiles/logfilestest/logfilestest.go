// Package logfilestest has helpers for tests of log files: reading every
// line of a log file (by content, as depot does) and writing fixtures in
// every compressed format depot reads.
package logfilestest

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"

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

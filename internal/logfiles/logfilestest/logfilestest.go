// Package logfilestest has helpers for tests of log files: reading every
// line of a log directory, plain and gzip, and writing fixtures.
package logfilestest

import (
	"bufio"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
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

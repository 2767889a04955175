package logread

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// FuzzReader checks Next's promises on arbitrary content: as a file of
// its own (never a panic; an error names the file), as plain text (the
// lines are exactly the content split at "\n" and "\r\n"), and compressed
// in gzip, xz and zstd (the same lines), then cut at an arbitrary length
// (a prefix of those lines, then an error wrapping ErrTruncated).
func FuzzReader(f *testing.F) {
	for _, seed := range []string{"", "a", "a\nb\n", "a\nb", "a\r\nb\r\n", "\n\n", "\r\n\r", "BZh9", "\x1f\x8b", "\xfd7zXZ\x00", "\x28\xb5\x2f\xfd"} {
		f.Add([]byte(seed), uint16(1))
	}
	f.Add(truncLines()[:2000], uint16(700))
	f.Fuzz(func(t *testing.T, data []byte, keep uint16) {
		dir := t.TempDir()
		raw := filepath.Join(dir, "raw")
		os.WriteFile(raw, data, 0o640)
		lines, err := readLines(raw)
		if err != nil && !strings.Contains(err.Error(), raw) {
			t.Fatalf("error %q does not name the file", err)
		}
		for _, l := range lines {
			if strings.Contains(l, "\n") || len(l) > MaxLine {
				t.Fatalf("line %q holds a newline or is longer than MaxLine", l)
			}
		}
		want := refLines(data)
		if Sniff(data) == Plain {
			if err != nil || !slices.Equal(lines, want) {
				t.Fatalf("plain: lines %q, %v; want %q", lines, err, want)
			}
		}
		for _, format := range []Format{Gzip, Xz, Zstd} {
			comp := compress(t, format, "", data)
			path := filepath.Join(dir, format.String())
			os.WriteFile(path, comp, 0o640)
			if got, err := readLines(path); err != nil || !slices.Equal(got, want) {
				t.Fatalf("%v: lines %q, %v; want %q", format, got, err, want)
			}
			k := int(keep) % len(comp)
			if k < sniffLen {
				continue // too short to be recognised
			}
			os.WriteFile(path, comp[:k], 0o640)
			got, err := readLines(path)
			if !errors.Is(err, ErrTruncated) {
				t.Fatalf("%v cut at %d of %d: err %v, want ErrTruncated", format, k, len(comp), err)
			}
			checkPrefix(t, got, want)
		}
	})
}

func readLines(path string) ([]string, error) {
	r, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var lines []string
	for {
		l, err := r.Next()
		if errors.Is(err, io.EOF) {
			return lines, nil
		}
		if err != nil {
			return lines, err
		}
		lines = append(lines, string(l))
	}
}

package logread

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// Go has no bzip2 writer: the bzip2 cases are files in testdata/bzip2,
// written by the bzip2 tool with
//
//	go test ./internal/logread -run TestFormats -update-bzip2
var updateBzip2 = flag.Bool("update-bzip2", false, "rewrite testdata/bzip2 with the bzip2 tool")

// compress returns parts compressed in format f, each part its own gzip
// member, xz stream, zstd frame or bzip2 stream, concatenated. name names
// the bzip2 fixture.
func compress(tb testing.TB, f Format, name string, parts ...[]byte) []byte {
	tb.Helper()
	var out bytes.Buffer
	switch f {
	case Plain:
		return bytes.Join(parts, nil)
	case Bzip2:
		return bzip2Fixture(tb, name, parts)
	}
	for _, p := range parts {
		var err error
		switch f {
		case Gzip:
			zw := gzip.NewWriter(&out)
			zw.Write(p)
			err = zw.Close()
		case Xz:
			var xw *xz.Writer
			if xw, err = (xz.WriterConfig{DictCap: 1 << 16}).NewWriter(&out); err == nil {
				xw.Write(p)
				err = xw.Close()
			}
		case Zstd:
			var zw *zstd.Encoder
			if zw, err = zstd.NewWriter(&out, zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(1<<16)); err == nil {
				zw.Write(p)
				err = zw.Close()
			}
		}
		if err != nil {
			tb.Fatal(err)
		}
	}
	return out.Bytes()
}

func bzip2Fixture(tb testing.TB, name string, parts [][]byte) []byte {
	tb.Helper()
	path := filepath.Join("testdata", "bzip2", name+".bz2")
	if *updateBzip2 {
		var all []byte
		for _, p := range parts {
			cmd := exec.Command("bzip2", "-c", "-9")
			cmd.Stdin = bytes.NewReader(p)
			b, err := cmd.Output()
			if err != nil {
				tb.Fatalf("bzip2: %v", err)
			}
			all = append(all, b...)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, all, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (regenerate with -update-bzip2)", err)
	}
	return b
}

// writeFile writes data to a file in a fresh directory and returns its path.
func writeFile(tb testing.TB, name string, data []byte) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), name)
	if err := os.WriteFile(path, data, 0o640); err != nil {
		tb.Fatal(err)
	}
	return path
}

// readAll returns every line of path and the error that ended the reading
// (nil at a clean end).
func readAll(tb testing.TB, path string) (lines []string, cut int64, err error) {
	tb.Helper()
	r, err := Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer r.Close()
	for {
		line, err := r.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			return lines, r.Cut(), err
		}
		lines = append(lines, string(line))
	}
}

// refLines splits data as Next promises to: at "\n" or "\r\n", with a last
// line that has no "\n".
func refLines(data []byte) []string {
	var out []string
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			out = append(out, string(data))
			break
		}
		out = append(out, string(bytes.TrimSuffix(data[:i], []byte("\r"))))
		data = data[i+1:]
	}
	return out
}

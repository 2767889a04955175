package logread

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"depot/internal/testtool"
)

var formats = []Format{Plain, Gzip, Xz, Bzip2, Zstd}

func TestFormats(t *testing.T) {
	long := strings.Repeat("x", MaxLine+10)
	exact := strings.Repeat("y", MaxLine)
	tests := []struct {
		name  string
		parts []string // each compressed as its own member or stream
		want  []string
		cut   int64
	}{
		{"empty", []string{""}, nil, 0},
		{"lines", []string{"a\nb\n"}, []string{"a", "b"}, 0},
		{"no-final-newline", []string{"a\nb"}, []string{"a", "b"}, 0},
		{"crlf", []string{"a\r\nb\r\n"}, []string{"a", "b"}, 0},
		{"empty-lines", []string{"\n\na\n"}, []string{"", "", "a"}, 0},
		{"overlong-line", []string{long + "\nb\n"}, []string{long[:MaxLine], "b"}, 1},
		{"exactly-maxline", []string{exact + "\r\n" + exact}, []string{exact, exact}, 0},
		{"members", []string{"a\n", "b\nc", "\nd\n"}, []string{"a", "b", "c", "d"}, 0},
	}
	for _, f := range formats {
		for _, tt := range tests {
			t.Run(f.String()+"/"+tt.name, func(t *testing.T) {
				var parts [][]byte
				for _, p := range tt.parts {
					parts = append(parts, []byte(p))
				}
				// The name says nothing: the content decides.
				path := writeFile(t, "access.log.1", compress(t, f, tt.name, parts...))
				r, err := Open(path)
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				if r.Format() != f && !(tt.name == "empty" && f == Plain) {
					t.Errorf("Format() = %v, want %v", r.Format(), f)
				}
				got, cut, err := readAll(t, path)
				if err != nil {
					t.Fatalf("err %v", err)
				}
				if !slices.Equal(got, tt.want) {
					t.Errorf("lines %q, want %q", abbrev(got), abbrev(tt.want))
				}
				if cut != tt.cut {
					t.Errorf("Cut() = %d, want %d", cut, tt.cut)
				}
			})
		}
	}
}

func abbrev(lines []string) []string {
	var out []string
	for _, l := range lines {
		if len(l) > 20 {
			l = fmt.Sprintf("%s...(%d bytes)", l[:10], len(l))
		}
		out = append(out, l)
	}
	return out
}

// truncLines is long enough that every format writes data before its end.
func truncLines() []byte {
	var b bytes.Buffer
	for i := range 4000 {
		fmt.Fprintf(&b, "203.0.113.%d - - [29/Nov/2026:04:28:39 +0000] \"GET /%d HTTP/1.1\" 200 %d \"-\" \"-\"\n", i%256, i*7919, i)
	}
	return b.Bytes()
}

func TestTruncated(t *testing.T) {
	data := truncLines()
	full := refLines(data)
	for _, f := range formats[1:] {
		comp := compress(t, f, "truncated", data)
		for _, keep := range []int{len(comp) / 100, len(comp) / 2, len(comp) - 1} {
			t.Run(fmt.Sprintf("%v/%d-of-%d", f, keep, len(comp)), func(t *testing.T) {
				path := writeFile(t, "access.log-20261129.gz", comp[:keep])
				got, _, err := readAll(t, path)
				if !errors.Is(err, ErrTruncated) {
					t.Fatalf("err %v, want one wrapping ErrTruncated", err)
				}
				if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), f.String()) {
					t.Errorf("error %q does not name the file and its format", err)
				}
				if errors.Is(err, ErrCorrupt) {
					t.Errorf("a truncated file is reported as corrupt: %v", err)
				}
				checkPrefix(t, got, full)
			})
		}
	}
}

// checkPrefix fails unless got is a prefix of full, the last line of got
// possibly incomplete.
func checkPrefix(t *testing.T, got, full []string) {
	t.Helper()
	if len(got) > len(full) {
		t.Fatalf("%d lines, more than the %d of the whole file", len(got), len(full))
	}
	for i, l := range got {
		if l != full[i] && !(i == len(got)-1 && strings.HasPrefix(full[i]+"\r", l)) { // cut inside "\r\n"
			t.Fatalf("line %d is %q, want %q", i, l, full[i])
		}
	}
}

func TestCorruptAndWrongMagic(t *testing.T) {
	gz := compress(t, Gzip, "", []byte("a\nb\n"))
	badCRC := bytes.Clone(gz)
	badCRC[len(badCRC)-6] ^= 0xff
	tests := []struct {
		name    string
		data    []byte
		corrupt bool
		want    []string
	}{
		{"gzip magic, then no gzip", []byte("\x1f\x8bnot really gzip"), true, nil},
		{"bad checksum", badCRC, true, []string{"a", "b"}},
		{"garbage after a member", append(bytes.Clone(gz), "trailing junk"...), true, []string{"a", "b"}},
		{"xz magic, then nothing", []byte("\xfd7zXZ\x00"), false, nil},
		{"BZh without a block size is plain", []byte("BZhello\n"), false, []string{"BZhello"}},
		{"zstd magic, then junk", []byte("\x28\xb5\x2f\xfdjunkjunkjunk"), true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, "access.log", tt.data)
			got, _, err := readAll(t, path)
			if tt.corrupt != errors.Is(err, ErrCorrupt) {
				t.Errorf("err %v; corrupt %v, want %v", err, errors.Is(err, ErrCorrupt), tt.corrupt)
			}
			if err != nil && !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
			if len(got) > len(tt.want) {
				t.Errorf("lines %q, want at most %q", got, tt.want)
			}
		})
	}
}

func TestOpenRangeReadsEachLineOnce(t *testing.T) {
	long := append(truncLines()[:300000:300000], "last line without a newline"...)
	short := append(long[:3000:3000], "\n\n\r\nlast"...)
	for _, tc := range []struct {
		data  []byte
		sizes []int64
	}{{short, []int64{1, 2, 7, 100}}, {long, []int64{4096, 65536, int64(len(long))}}} {
		for _, size := range tc.sizes {
			rangesReadEachLineOnce(t, tc.data, size)
		}
	}
	gz := writeFile(t, "x.gz", compress(t, Gzip, "", long))
	if _, err := OpenRange(gz, 10, 20); err == nil {
		t.Error("OpenRange read a range of a compressed file")
	}
}

func rangesReadEachLineOnce(t *testing.T, data []byte, size int64) {
	t.Helper()
	path := writeFile(t, "access.log", data)
	want := refLines(data)
	{
		var got []string
		for from := int64(0); from < int64(len(data)); from += size {
			r, err := OpenRange(path, from, from+size)
			if err != nil {
				t.Fatal(err)
			}
			for {
				line, err := r.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, string(line))
			}
			if r.Offset() < min(from+size, int64(len(data))) && r.Offset() != int64(len(data)) {
				t.Fatalf("range [%d,%d): stopped at offset %d", from, from+size, r.Offset())
			}
			r.Close()
		}
		if !slices.Equal(got, want) {
			t.Fatalf("ranges of %d bytes: %d lines, want %d", size, len(got), len(want))
		}
	}
}

func TestIsTemp(t *testing.T) {
	for name, want := range map[string]bool{
		"access.log":                       false,
		"access.log-20261130.gz":           false,
		"access.log.1":                     false,
		"access.log-20261130.gz.tmp":       true,  // compression, earlier versions
		"access.log.2.gz.rewrite.tmp":      true,  // prune, earlier versions
		".access.log-20261130.gz.tmp-1234": true,  // atomicfile
		".stats.json.tmp-99":               true,  // atomicfile
		".depot-logs.lock":                 true,  // earlier versions' lock
		"access.tmp.log":                   false, // a log someone named oddly
	} {
		if got := IsTemp(name); got != want {
			t.Errorf("IsTemp(%q) = %v, want %v", name, got, want)
		}
	}
}

// TestToolsInterop reads files written by the compressors logrotate's
// compresscmd runs.
func TestToolsInterop(t *testing.T) {
	data := truncLines()[:100000]
	want := refLines(data)
	for _, tool := range []struct {
		f    Format
		argv []string
	}{
		{Gzip, []string{"gzip", "-c"}},
		{Xz, []string{"xz", "-c"}},
		{Bzip2, []string{"bzip2", "-c"}},
		{Zstd, []string{"zstd", "-c", "-q"}},
	} {
		t.Run(tool.f.String(), func(t *testing.T) {
			cmd := exec.Command(testtool.Path(t, tool.argv[0]), tool.argv[1:]...)
			cmd.Stdin = bytes.NewReader(data)
			out, err := cmd.Output()
			if err != nil {
				t.Fatal(err)
			}
			path := writeFile(t, "access.log.1", out)
			r, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			if r.Format() != tool.f {
				t.Errorf("Format() = %v, want %v", r.Format(), tool.f)
			}
			r.Close()
			got, _, err := readAll(t, path)
			if err != nil || !slices.Equal(got, want) {
				t.Errorf("%d lines, %v; want %d lines", len(got), err, len(want))
			}
		})
	}
}

// TestOpenRefusesNamedPipes: a named pipe swapped in for a log file
// between a listing and an open held the reader in its open, or in its
// first read once a writer held the pipe. Open and OpenRange refuse
// anything but a regular file at once (a symbolic link to one is
// followed).
func TestOpenRefusesNamedPipes(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "access.log-20261130")
	if err := syscall.Mkfifo(fifo, 0o666); err != nil {
		t.Fatal(err)
	}
	for _, writer := range []bool{false, true} {
		if writer {
			w, err := os.OpenFile(fifo, os.O_RDWR, 0) // a writer that sends nothing
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
		}
		for name, open := range map[string]func() (*Reader, error){
			"Open":      func() (*Reader, error) { return Open(fifo) },
			"OpenRange": func() (*Reader, error) { return OpenRange(fifo, 0, 100) },
		} {
			got := make(chan error, 1)
			go func() {
				r, err := open()
				if err == nil {
					r.Close()
				}
				got <- err
			}()
			select {
			case err := <-got:
				if err == nil || !strings.Contains(err.Error(), "not a regular file") || !strings.Contains(err.Error(), fifo) {
					t.Errorf("%s (writer %v): error %v, want one saying %s is not a regular file", name, writer, err, fifo)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("%s (writer %v) still waits on a named pipe", name, writer)
			}
		}
	}
	// A symbolic link to a regular file is read.
	plain := filepath.Join(dir, "real")
	os.WriteFile(plain, []byte("line\n"), 0o644)
	link := filepath.Join(dir, "access.log")
	os.Symlink(plain, link)
	r, err := Open(link)
	if err != nil {
		t.Fatalf("Open of a link to a regular file: %v", err)
	}
	r.Close()
}

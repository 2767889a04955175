// Package logread reads log files line by line, plain or compressed (gzip,
// xz, bzip2, zstd: recognised by content, never by name), for everything
// in depot that reads logs: statistics, search, retention and the audit.
// It applies one line limit, reports a compressed file that ends early as
// truncated, and names depot's own temporary files by one rule (IsTemp).
//
// It never writes, and never interprets a line.
package logread

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"

	"depot/internal/atomicfile"
)

// MaxLine is the longest line returned whole, in bytes without the "\n".
// A longer line is cut to its first MaxLine bytes (the rest is skipped)
// and counted by Reader.Cut. depot's own lines are far shorter: request
// headers are bounded at 16 KiB, and escaping at most quadruples them.
const MaxLine = 1 << 20

// Format is how a file's content is compressed.
type Format int

// The formats Open recognises.
const (
	Plain Format = iota
	Gzip
	Xz
	Bzip2
	Zstd
)

func (f Format) String() string {
	switch f {
	case Gzip:
		return "gzip"
	case Xz:
		return "xz"
	case Bzip2:
		return "bzip2"
	case Zstd:
		return "zstd"
	}
	return "plain"
}

// Magic numbers: RFC 1952 section 2.3.1, the xz file format section 2.1.1.1,
// bzip2's "BZh" followed by the block size digit, RFC 8878 section 3.1.1.
var (
	magicGzip  = []byte{0x1f, 0x8b}
	magicXz    = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}
	magicBzip2 = []byte("BZh")
	magicZstd  = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// sniffLen is how many leading bytes Sniff needs to tell every format.
const sniffLen = 6

// Sniff says which format a file is in from its first bytes (at least six
// when the file has them). Anything without a known magic number is Plain.
func Sniff(head []byte) Format {
	switch {
	case bytes.HasPrefix(head, magicGzip):
		return Gzip
	case bytes.HasPrefix(head, magicXz):
		return Xz
	case bytes.HasPrefix(head, magicZstd):
		return Zstd
	case len(head) >= 4 && bytes.HasPrefix(head, magicBzip2) && head[3] >= '1' && head[3] <= '9':
		return Bzip2
	}
	return Plain
}

// ErrTruncated is wrapped by the error of a compressed file that ends
// before its compressed data does: a copy cut short, a disk that filled, a
// compression killed half-way. The lines before the damage were returned.
var ErrTruncated = errors.New("truncated: the compressed data ends early")

// ErrCorrupt is wrapped by the error of a compressed file whose data does
// not decode (a wrong checksum, garbage after the data).
var ErrCorrupt = errors.New("corrupt compressed data")

// Error is a failure to read a log file: it names the file and its format.
type Error struct {
	Path   string
	Format Format
	Err    error // ErrTruncated, or the decoder's error (with ErrCorrupt), or an I/O error
}

func (e *Error) Error() string {
	switch {
	case errors.Is(e.Err, ErrTruncated):
		return fmt.Sprintf("%s: %s file %v", e.Path, e.Format, e.Err)
	case e.Format != Plain && !isIOError(e.Err):
		return fmt.Sprintf("%s: %v of %s data: %v", e.Path, ErrCorrupt, e.Format, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Path, e.Err)
}

// Unwrap gives the cause, and ErrCorrupt for data that does not decode.
func (e *Error) Unwrap() []error {
	if e.Format != Plain && !errors.Is(e.Err, ErrTruncated) && !isIOError(e.Err) {
		return []error{ErrCorrupt, e.Err}
	}
	return []error{e.Err}
}

func isIOError(err error) bool {
	var pe *os.PathError
	return errors.As(err, &pe)
}

// IsTemp reports whether a file's base name is one of depot's own
// temporary or working files, which are never logs: statistics, search,
// retention and the audit skip them. The rule is atomicfile.IsTemp, the
// package that names them.
func IsTemp(name string) bool { return atomicfile.IsTemp(name) }

// bufSize is the read buffer: large enough that a line rarely spans two
// fills, small enough to keep one per worker.
const bufSize = 256 << 10

// Reader returns the lines of one log file. It is not safe for concurrent
// use.
type Reader struct {
	path   string
	f      *os.File
	format Format
	dec    io.Reader // the decompressor, nil for Plain
	close  func()    // releases the decompressor
	src    countingReader
	br     *bufio.Reader
	acc    []byte // a line longer than the buffer, assembled
	cut    int64

	// Plain files: pos is the file offset of the next unread byte; a
	// ranged reader stops before the first line starting at or after end.
	pos, end int64
	err      error // sticky: io.EOF or an *Error
}

// Open opens the log file at path (following a symbolic link, as reading
// tools do) and recognises its format.
func Open(path string) (*Reader, error) {
	f, err := atomicfile.OpenRegular(path)
	if err != nil {
		return nil, err
	}
	r, err := NewReader(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return r, nil
}

// NewReader reads the already open file f from its start; f.Name() names it
// in errors. The Reader owns f from then on: Close closes it, also when
// NewReader fails.
func NewReader(f *os.File) (*Reader, error) {
	r, err := newReader(f)
	if err == nil {
		err = r.startDecoder(bufSize)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return r, nil
}

// newReader recognises f's format; the caller starts the decoder.
func newReader(f *os.File) (*Reader, error) {
	r := &Reader{path: f.Name(), f: f, end: -1}
	var head [sniffLen]byte
	n, err := f.ReadAt(head[:], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, &Error{Path: r.path, Err: err}
	}
	r.format = Sniff(head[:n])
	// Read by offset (pread), never moving f's own offset: the same file
	// may be read elsewhere by offset too.
	r.src = countingReader{r: io.NewSectionReader(f, 0, 1<<62)}
	return r, nil
}

// OpenRange opens a plain file for reading the lines that start in
// [from, to): reading several ranges of one large file in parallel returns
// each line exactly once. A line that starts before to is returned whole.
func OpenRange(path string, from, to int64) (*Reader, error) {
	f, err := atomicfile.OpenRegular(path)
	if err != nil {
		return nil, err
	}
	r, err := newReader(f)
	if err == nil && r.format != Plain {
		err = &Error{Path: path, Format: r.format, Err: errors.New("a compressed file can only be read from its start")}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	r.end = to
	if from > 0 {
		// Start one byte early: if it is a "\n", a line starts exactly at
		// from; otherwise the partial line belongs to the range before.
		r.src = countingReader{r: io.NewSectionReader(f, from-1, 1<<62)}
		r.pos = from - 1
	}
	// A small range gets a small buffer: lines longer than it are still
	// read whole.
	if err := r.startDecoder(min(bufSize, max(4<<10, to-from))); err != nil {
		f.Close()
		return nil, err
	}
	if from > 0 {
		if err := r.skipLine(); errors.Is(err, io.EOF) {
			r.err = io.EOF
		} else if err != nil {
			r.err = r.fail(err)
		}
	}
	return r, nil
}

func (r *Reader) startDecoder(size int64) error {
	if r.format == Plain {
		r.br = bufio.NewReaderSize(&r.src, int(size))
		return nil
	}
	var err error
	src := bufio.NewReaderSize(&r.src, 64<<10)
	switch r.format {
	case Gzip:
		var zr *gzip.Reader
		if zr, err = gzip.NewReader(src); err == nil {
			r.dec, r.close = zr, func() { zr.Close() }
		}
	case Xz:
		var xr *xz.Reader
		if xr, err = xz.NewReader(src); err == nil {
			r.dec = xr
		}
	case Bzip2:
		r.dec = bzip2.NewReader(src)
	case Zstd:
		var zr *zstd.Decoder
		if zr, err = zstd.NewReader(src, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true)); err == nil {
			r.dec, r.close = zr, zr.Close
		}
	}
	if err != nil {
		return r.fail(err)
	}
	r.br = bufio.NewReaderSize(r.dec, int(size))
	return nil
}

// fail turns a read error into the Reader's error.
func (r *Reader) fail(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || (r.format != Plain && errors.Is(err, io.EOF)) {
		err = ErrTruncated
	}
	return &Error{Path: r.path, Format: r.format, Err: err}
}

// Next returns the next line without its end ("\n" or "\r\n"), valid
// until the next call. The last line is returned even without a final "\n". At the end
// Next returns io.EOF; a file that cannot be read to its end returns an
// *Error (wrapping ErrTruncated for a compressed file that ends early)
// after every line before the damage, the last of which may be incomplete.
func (r *Reader) Next() ([]byte, error) {
	if r.err != nil {
		return nil, r.err
	}
	if r.end >= 0 && r.pos >= r.end {
		r.err = io.EOF
		return nil, io.EOF
	}
	line, err := r.br.ReadSlice('\n')
	r.pos += int64(len(line))
	if err == bufio.ErrBufferFull { // bufio returns the sentinel itself
		// Longer than the buffer: assemble it, keeping at most MaxLine
		// bytes and a "\r\n" (more means it is cut).
		const keep = MaxLine + 2
		r.acc = append(r.acc[:0], line...)
		for err == bufio.ErrBufferFull {
			line, err = r.br.ReadSlice('\n')
			r.pos += int64(len(line))
			if room := keep - len(r.acc); room > 0 {
				r.acc = append(r.acc, line[:min(room, len(line))]...)
			}
		}
		line = r.acc
	}
	switch {
	case err == nil:
	case errors.Is(err, io.EOF):
		r.err = io.EOF
		if r.format == Xz {
			if xerr := r.checkXzEnd(); xerr != nil {
				r.err = r.fail(xerr)
			}
		}
		if len(line) == 0 {
			return nil, r.err
		}
	default:
		r.err = r.fail(err)
		if len(line) == 0 {
			return nil, r.err
		}
	}
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
		if n > 1 && line[n-2] == '\r' {
			line = line[:n-2]
		}
	}
	if len(line) > MaxLine {
		line = line[:MaxLine]
		r.cut++
	}
	return line, nil
}

// checkXzEnd makes sure an xz file ends with a stream footer (the xz file
// format, section 2.1.2), possibly followed by stream padding. The xz
// decoder reports a clean end for some files cut short (after a stream
// header, inside the index), so the end is checked here.
func (r *Reader) checkXzEnd() error {
	st, err := r.f.Stat()
	if err != nil {
		return err
	}
	end := st.Size()
	var footer [12]byte
	for {
		if end < int64(len(footer)) {
			return io.ErrUnexpectedEOF
		}
		if _, err := r.f.ReadAt(footer[:], end-int64(len(footer))); err != nil {
			return err
		}
		if end%4 != 0 || !bytes.Equal(footer[8:], []byte{0, 0, 0, 0}) {
			break
		}
		end -= 4 // stream padding: groups of four zero bytes
	}
	if footer[10] != 'Y' || footer[11] != 'Z' || crc32.ChecksumIEEE(footer[4:10]) != binary.LittleEndian.Uint32(footer[:4]) {
		return io.ErrUnexpectedEOF
	}
	return nil
}

// skipLine discards through the next "\n".
func (r *Reader) skipLine() error {
	for {
		b, err := r.br.ReadSlice('\n')
		r.pos += int64(len(b))
		if !errors.Is(err, bufio.ErrBufferFull) {
			return err
		}
	}
}

// Path is the file's path as opened.
func (r *Reader) Path() string { return r.path }

// Format is the file's format, recognised from its content.
func (r *Reader) Format() Format { return r.format }

// Cut is how many lines so far were longer than MaxLine and cut.
func (r *Reader) Cut() int64 { return r.cut }

// Offset is how many bytes of the file have been read (compressed bytes
// for a compressed file, read ahead of the lines returned): for progress
// displays.
func (r *Reader) Offset() int64 {
	if r.format == Plain {
		return r.pos
	}
	return r.src.n
}

// Stat describes the open file.
func (r *Reader) Stat() (os.FileInfo, error) { return r.f.Stat() }

// Close releases the decompressor and closes the file.
func (r *Reader) Close() error {
	if r.close != nil {
		r.close()
		r.close = nil
	}
	return r.f.Close()
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

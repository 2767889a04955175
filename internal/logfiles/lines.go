package logfiles

import (
	"bufio"
	"errors"
	"io"
	"os"
	"strings"

	"github.com/klauspost/compress/gzip"
)

// maxLine bounds one log line; longer lines are cut (nginx's own limit on
// a request line is far smaller).
const maxLine = 1 << 20

// lineReader reads lines of a plain or gzip log file (all gzip members).
type lineReader struct {
	f   *os.File
	zr  *gzip.Reader
	br  *bufio.Reader
	acc []byte
}

func openLines(path string) (*lineReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	lr := &lineReader{f: f}
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(bufio.NewReaderSize(f, 256<<10))
		if err != nil {
			f.Close()
			return nil, err
		}
		lr.zr, r = zr, zr
	}
	lr.br = bufio.NewReaderSize(r, 256<<10)
	return lr, nil
}

// next returns the next line without its "\n", valid until the next call,
// or io.EOF. A last line without "\n" is returned too.
func (lr *lineReader) next() ([]byte, error) {
	line, err := lr.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		lr.acc = append(lr.acc[:0], line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			line, err = lr.br.ReadSlice('\n')
			if len(lr.acc) < maxLine {
				lr.acc = append(lr.acc, line...)
			}
		}
		line = lr.acc
	}
	if err != nil && !(errors.Is(err, io.EOF) && len(line) > 0) {
		return nil, err
	}
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
	}
	return line, nil
}

func (lr *lineReader) Close() error {
	if lr.zr != nil {
		lr.zr.Close()
	}
	return lr.f.Close()
}

// firstTime returns the time of the first dated line among the first
// 64 KiB of a log file.
func firstTime(path string) (int64, bool) {
	lr, err := openLines(path)
	if err != nil {
		return 0, false
	}
	defer lr.Close()
	for read := 0; read < 64<<10; {
		line, err := lr.next()
		if err != nil {
			return 0, false
		}
		read += len(line) + 1
		if t, ok := lineTime(line); ok {
			return t, true
		}
	}
	return 0, false
}

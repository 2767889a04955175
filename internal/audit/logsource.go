package audit

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"

	"github.com/klauspost/compress/gzip"
)

// logLines reads the lines of one log file, plain or compressed.
type logLines interface {
	Next() ([]byte, error) // a line without "\n"; io.EOF at the end
	Close() error
}

// openLog opens a log file for reading by its content.
func openLog(path string) (logLines, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(f, 256<<10)
	var r io.Reader = br
	if head, _ := br.Peek(2); bytes.Equal(head, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			f.Close()
			return nil, err
		}
		r = zr
	}
	return &plainLines{f: f, br: bufio.NewReaderSize(r, 256<<10)}, nil
}

type plainLines struct {
	f  *os.File
	br *bufio.Reader
}

func (p *plainLines) Next() ([]byte, error) {
	line, err := p.br.ReadSlice('\n')
	for errors.Is(err, bufio.ErrBufferFull) {
		var more []byte
		more, err = p.br.ReadSlice('\n')
		line = append(append([]byte(nil), line...), more...)
	}
	if err != nil && !(errors.Is(err, io.EOF) && len(line) > 0) {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, errTruncated
		}
		return nil, err
	}
	return bytes.TrimSuffix(line, []byte("\n")), nil
}

func (p *plainLines) Close() error { return p.f.Close() }

var errTruncated = errors.New("compressed file ends early")

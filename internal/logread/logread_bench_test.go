package logread

import (
	"bufio"
	"errors"
	"io"
	"os"
	"testing"
)

// BenchmarkNext reads a plain file line by line; BenchmarkReadSlice is the
// bare bufio loop it wraps, for comparison.
func BenchmarkNext(b *testing.B) {
	path := writeFile(b, "access.log", truncLines())
	st, _ := os.Stat(path)
	b.SetBytes(st.Size())
	b.ReportAllocs()
	for b.Loop() {
		r, err := Open(path)
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := r.Next(); err != nil {
				if !errors.Is(err, io.EOF) {
					b.Fatal(err)
				}
				break
			}
		}
		r.Close()
	}
}

func BenchmarkReadSlice(b *testing.B) {
	path := writeFile(b, "access.log", truncLines())
	st, _ := os.Stat(path)
	b.SetBytes(st.Size())
	b.ReportAllocs()
	for b.Loop() {
		f, _ := os.Open(path)
		br := bufio.NewReaderSize(f, bufSize)
		for {
			if _, err := br.ReadSlice('\n'); err != nil {
				break
			}
		}
		f.Close()
	}
}

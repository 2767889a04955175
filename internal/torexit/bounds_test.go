package torexit

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ulikunitz/xz"

	"depot/internal/month"
)

// entries writes n TorDNSEL entries whose addresses start at the n-th
// address after first (10.0.0.0 + first).
func entries(w io.Writer, first, n int) {
	b := make([]byte, 0, 160)
	for i := first; i < first+n; i++ {
		b = b[:0]
		b = append(b, "ExitNode "...)
		b = append(b, fmt.Sprintf("%040X", i)...)
		b = append(b, "\nPublished 2026-11-01 00:00:00\nLastStatus 2026-11-01 01:00:00\nExitAddress 10."...)
		b = strconv.AppendInt(b, int64(i>>16&255), 10)
		b = append(b, '.')
		b = strconv.AppendInt(b, int64(i>>8&255), 10)
		b = append(b, '.')
		b = strconv.AppendInt(b, int64(i&255), 10)
		b = append(b, " 2026-11-01 01:00:00\n"...)
		w.Write(b)
	}
}

func xzStream(t testing.TB, fill func(io.Writer)) []byte {
	t.Helper()
	var out bytes.Buffer
	xw, err := xz.WriterConfig{DictCap: 1 << 20}.NewWriter(&out)
	if err != nil {
		t.Fatal(err)
	}
	fill(xw)
	if err := xw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// hostileArchive is the report's archive: a CollecTor-named .tar.xz of one
// document with 2 million entries, a few MB compressed. To build it in
// about a second, a block of 25,000 entries is compressed once and its xz
// stream repeated (xz readers read concatenated streams).
func hostileArchive(t testing.TB) []byte {
	const blocks = 80
	hdr := "@type tordnsel 1.0\nDownloaded 2026-11-01 01:00:00\n"
	var block bytes.Buffer
	entries(&block, 0, 25_000)
	size := int64(len(hdr) + blocks*block.Len())
	var archive bytes.Buffer
	archive.Write(xzStream(t, func(w io.Writer) {
		tw := tar.NewWriter(w)
		tw.WriteHeader(&tar.Header{Name: "exit-list-2026-11/01/2026-11-01-01-02-00", Mode: 0o644, Size: size, Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)})
		tw.Flush()
		io.WriteString(w, hdr)
	}))
	stream := xzStream(t, func(w io.Writer) { w.Write(block.Bytes()) })
	for range blocks {
		archive.Write(stream)
	}
	// Tar padding to a 512-byte boundary, then the two zero blocks.
	pad := (512 - size%512) % 512
	archive.Write(xzStream(t, func(w io.Writer) { w.Write(make([]byte, pad+1024)) }))
	return archive.Bytes()
}

// TestLoadRefusesHostileArchive reproduces the report: the archive made
// stats update use 795 MB. Reading it must stop at the document's entry
// bound, name the archive and the document, and allocate little.
func TestLoadRefusesHostileArchive(t *testing.T) {
	dir := t.TempDir()
	archive := hostileArchive(t)
	path := filepath.Join(dir, ArchiveName(month.MustParse("2026-11")))
	if err := os.WriteFile(path, archive, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("hostile archive: %d bytes", len(archive))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	from := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	_, err := Load(context.Background(), dir, from, from.AddDate(0, 1, 0))
	runtime.ReadMemStats(&after)
	t.Logf("Load allocated %d MB", (after.TotalAlloc-before.TotalAlloc)>>20)
	if err == nil {
		t.Fatal("Load accepted a document of 2 million entries")
	}
	// The document is refused by its size before its entries are read
	// (either bound names it).
	for _, want := range []string{path, "2026-11-01-01-02-00", "more than "} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	// Unbounded, the entries alone allocate hundreds of MB; bounded,
	// about MaxDocumentEntries entries and the xz reader's buffers.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 96<<20 {
		t.Errorf("Load allocated %d MB for a refused archive, want under 96 MB", alloc>>20)
	}
}

// TestLoadBoundsAddresses: documents each within bounds that together
// hold more distinct addresses than any real exit lists are refused, with
// the file that crossed the bound.
func TestLoadBoundsAddresses(t *testing.T) {
	dir := t.TempDir()
	per := MaxDocumentEntries - 1
	files := MaxAddresses/per + 1
	for i := range files {
		var b bytes.Buffer
		b.WriteString("@type tordnsel 1.0\n")
		entries(&b, i*per, per)
		name := fmt.Sprintf("2026-11-%02d-00-00-00", i+1)
		if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	from := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	_, err := Load(context.Background(), dir, from, from.AddDate(0, 1, 0))
	if err == nil || !strings.Contains(err.Error(), "more than "+strconv.Itoa(MaxAddresses)+" distinct") || !strings.Contains(err.Error(), dir) {
		t.Errorf("got %v, want an error naming %s and the bound of %d addresses", err, dir, MaxAddresses)
	}
}

func TestParseBounds(t *testing.T) {
	tests := []struct {
		name string
		doc  func(io.Writer)
		want string
	}{
		{"entries", func(w io.Writer) { entries(w, 0, MaxDocumentEntries+1) }, "entries"},
		{"addresses of one entry", func(w io.Writer) {
			io.WriteString(w, "ExitNode A\nPublished 2026-11-01 00:00:00\nLastStatus 2026-11-01 01:00:00\n")
			for i := range MaxDocumentAddresses + 1 {
				fmt.Fprintf(w, "ExitAddress 10.%d.%d.%d\n", i>>16&255, i>>8&255, i&255)
			}
		}, "exit addresses"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			tt.doc(&b)
			_, err := Parse(&b)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error about too many %s", err, tt.want)
			}
		})
	}
	// At the bound, a document is read.
	var b bytes.Buffer
	entries(&b, 0, MaxDocumentEntries)
	if f, err := Parse(&b); err != nil || len(f.Entries) != MaxDocumentEntries {
		t.Errorf("a document of exactly %d entries: %v", MaxDocumentEntries, err)
	}
}

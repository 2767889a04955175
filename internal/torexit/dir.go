package torexit

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"time"

	"github.com/ulikunitz/xz"
	"golang.org/x/sync/errgroup"

	"depot/internal/month"
)

var (
	archiveName = regexp.MustCompile(`^exit-list-(\d{4}-\d{2})\.tar\.xz$`)
	listName    = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}$`)
)

const listNameLayout = "2006-01-02-15-04-05"

// Bounds on what Load reads, far above anything CollecTor publishes (a
// month's archive is a few hundred MB uncompressed, a document well under
// 1 MiB, and a few months of lists name some tens of thousands of
// addresses), so that a hostile or mistaken file ends with an error that
// names it instead of taking the machine's memory or hours of CPU.
const (
	// MaxDocumentBytes bounds one exit-list document.
	MaxDocumentBytes = 64 << 20
	// MaxArchiveBytes bounds an archive's uncompressed content.
	MaxArchiveBytes = 4 << 30
	// MaxAddresses bounds the distinct exit addresses of all the lists
	// one Load reads.
	MaxAddresses = 200_000
)

// ArchiveName is CollecTor's name of a month's archive
// ("exit-list-2026-11.tar.xz").
func ArchiveName(m month.Month) string { return "exit-list-" + m.String() + ".tar.xz" }

// Load reads every exit list below dir that could matter for requests in
// [from, to): CollecTor monthly archives (exit-list-YYYY-MM.tar.xz) of the
// months from the one before from to the one after to, and plain TorDNSEL
// files anywhere below dir (files named YYYY-MM-DD-HH-MM-SS more than two
// days outside the range are skipped unread). Archives are read in
// parallel. A missing dir is an error; a corrupt archive is an error that
// names it.
func Load(ctx context.Context, dir string, from, to time.Time) (*Set, error) {
	if dir == "" {
		return NewBuilder().Set(), nil
	}
	if st, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("exit lists: %w", err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("exit lists: %s is not a directory", dir)
	}
	firstMonth := month.Of(from).Prev()
	lastMonth := month.Of(to.Add(-time.Second)).Next() // to is exclusive: often the 1st of the next month
	winFrom, winTo := from.Add(-2*Margin), to.Add(2*Margin)

	var paths []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		name := d.Name()
		if sub := archiveName.FindStringSubmatch(name); sub != nil {
			m, err := month.Parse(sub[1])
			if err != nil || m.Before(firstMonth) || m.After(lastMonth) {
				return nil
			}
		} else if strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".tar.xz") {
			return nil // temporary downloads, other archives
		} else if listName.MatchString(name) {
			t, _ := time.Parse(listNameLayout, name)
			if t.Before(winFrom) || t.After(winTo) {
				return nil
			}
		}
		paths = append(paths, p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("exit lists: %w", err)
	}

	// Each worker fills a Builder of its own; a path takes an idle one,
	// and the builders are merged at the end.
	workers := min(runtime.GOMAXPROCS(0), max(1, len(paths)))
	builders := make([]*Builder, workers)
	idle := make(chan *Builder, workers)
	for i := range builders {
		builders[i] = NewBuilder()
		idle <- builders[i]
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	for _, p := range paths {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			b := <-idle
			defer func() { idle <- b }()
			return loadPath(b, p)
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b := builders[0]
	for _, o := range builders[1:] {
		b.Merge(o)
		if b.addresses() > MaxAddresses {
			return nil, errTooManyAddresses(dir)
		}
	}
	return b.Set(), nil
}

func errTooManyAddresses(where string) error {
	return fmt.Errorf("exit lists: %s: the lists read hold more than %d distinct exit addresses (Tor has a few thousand exits): remove what is not CollecTor's exit lists", where, MaxAddresses)
}

func loadPath(b *Builder, p string) error {
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("exit lists: %w", err)
	}
	defer f.Close()
	if strings.HasSuffix(p, ".tar.xz") {
		if err := readArchive(b, f); err != nil {
			if errors.Is(err, errAddresses) {
				return errTooManyAddresses(p)
			}
			return fmt.Errorf("exit lists: %s: %w (delete it, or fetch it again with --fetch)", p, err)
		}
		return nil
	}
	if fi, err := f.Stat(); err == nil && fi.Size() > MaxDocumentBytes {
		return fmt.Errorf("exit lists: %s: %d bytes, more than the %d an exit-list document may be: not a TorDNSEL list", p, fi.Size(), MaxDocumentBytes)
	}
	doc, err := Parse(io.LimitReader(f, MaxDocumentBytes))
	if err != nil {
		return fmt.Errorf("exit lists: %s: %w", p, err)
	}
	b.Add(doc, nameTime(filepath.Base(p)))
	if b.addresses() > MaxAddresses {
		return errTooManyAddresses(p)
	}
	return nil
}

// errAddresses is readArchive's signal that MaxAddresses was passed.
var errAddresses = errors.New("too many addresses")

// countingReader fails once more than max bytes were read through it.
type countingReader struct {
	r   io.Reader
	n   int64
	max int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n > c.max {
		return n, fmt.Errorf("more than %d bytes uncompressed: not a CollecTor exit-list archive", c.max)
	}
	return n, err
}

// readArchive reads a CollecTor archive: a tar of
// exit-list-YYYY-MM/DD/YYYY-MM-DD-HH-MM-SS documents.
func readArchive(b *Builder, r io.Reader) error {
	xr, err := xz.NewReader(bufio.NewReaderSize(r, 1<<16))
	if err != nil {
		return err
	}
	tr := tar.NewReader(&countingReader{r: xr, max: MaxArchiveBytes})
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		if h.Size > MaxDocumentBytes {
			return fmt.Errorf("%s: %d bytes, more than the %d an exit-list document may be", h.Name, h.Size, MaxDocumentBytes)
		}
		doc, err := Parse(tr)
		if err != nil {
			return fmt.Errorf("%s: %w", h.Name, err)
		}
		b.Add(doc, nameTime(filepath.Base(h.Name)))
		if b.addresses() > MaxAddresses {
			return errAddresses
		}
	}
}

func nameTime(name string) time.Time {
	t, err := time.Parse(listNameLayout, name)
	if err != nil {
		return time.Time{}
	}
	return t
}

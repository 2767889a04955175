package torexit

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"depot/internal/atomicfile"
)

// CollecTorURL is where Fetch downloads exit lists from by default.
const CollecTorURL = "https://collector.torproject.org/"

// Fetcher downloads exit lists from CollecTor. It is the only code in
// depot's statistics that touches the network, and runs only when the
// operator passes --fetch.
type Fetcher struct {
	Client  *http.Client // nil means http.DefaultClient
	BaseURL string       // "" means CollecTorURL; must end in "/"
	Dir     string       // where archives and recent/ files are stored
}

// FetchReport says what Fetch downloaded.
type FetchReport struct {
	Archives []string // months whose archive was downloaded
	Recent   int      // recent files downloaded
}

// Fetch downloads the monthly archive of every month in months (and of the
// month before the first) that has ended and is not in Dir yet, and the
// recent files (the last few days) when the current month, or a month whose
// archive CollecTor has not published yet, is among them. Files are written
// atomically; existing files are never downloaded again.
func (f *Fetcher) Fetch(ctx context.Context, months []string, now time.Time) (FetchReport, error) {
	var rep FetchReport
	if err := os.MkdirAll(f.Dir, 0o755); err != nil {
		return rep, fmt.Errorf("exit lists: %w", err)
	}
	current := now.UTC().Format("2006-01")
	needRecent := false
	for _, m := range withNeighbours(months) {
		if m >= current {
			needRecent = true
			continue
		}
		dst := filepath.Join(f.Dir, ArchiveName(m))
		if _, err := os.Stat(dst); err == nil {
			continue
		}
		status, err := f.download(ctx, "archive/exit-lists/"+ArchiveName(m), dst)
		if err != nil {
			return rep, err
		}
		if status == http.StatusNotFound {
			needRecent = true // CollecTor publishes an archive days after the month ends
			continue
		}
		rep.Archives = append(rep.Archives, m)
	}
	if !needRecent {
		return rep, nil
	}
	n, err := f.fetchRecent(ctx)
	rep.Recent = n
	return rep, err
}

var hrefList = regexp.MustCompile(`href="(\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2})"`)

func (f *Fetcher) fetchRecent(ctx context.Context) (int, error) {
	body, err := f.get(ctx, "recent/exit-lists/")
	if err != nil {
		return 0, err
	}
	dir := filepath.Join(f.Dir, "recent")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, fmt.Errorf("exit lists: %w", err)
	}
	n := 0
	for _, m := range hrefList.FindAllSubmatch(body, -1) {
		name := string(m[1])
		dst := filepath.Join(dir, name)
		if _, err := os.Stat(dst); err == nil {
			continue
		}
		if _, err := f.download(ctx, "recent/exit-lists/"+name, dst); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

func (f *Fetcher) url(rel string) string {
	base := f.BaseURL
	if base == "" {
		base = CollecTorURL
	}
	return base + rel
}

func (f *Fetcher) client() *http.Client {
	if f.Client != nil {
		return f.Client
	}
	return http.DefaultClient
}

func (f *Fetcher) offline(u string, err error) error {
	return fmt.Errorf("fetching exit lists: %s: %w\n(is this machine offline? run without --fetch to use the lists already in %s, or copy exit-list-YYYY-MM.tar.xz archives there by hand)", u, err, f.Dir)
}

func (f *Fetcher) get(ctx context.Context, rel string) ([]byte, error) {
	u := f.url(rel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := f.client().Do(req)
	if err != nil {
		return nil, f.offline(u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching exit lists: %s: %s", u, resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 16<<20))
}

// download writes rel to dst through a temporary file and a rename. It
// returns 404 without an error so that a caller can fall back.
func (f *Fetcher) download(ctx context.Context, rel, dst string) (int, error) {
	u := f.url(rel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	resp, err := f.client().Do(req)
	if err != nil {
		return 0, f.offline(u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return resp.StatusCode, nil
	}
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, fmt.Errorf("fetching exit lists: %s: %s", u, resp.Status)
	}
	var copyErr error
	err = atomicfile.Write(dst, 0o644, func(w io.Writer) error {
		_, copyErr = io.Copy(w, resp.Body)
		return copyErr
	})
	if copyErr != nil {
		return 0, f.offline(u, copyErr)
	}
	if err != nil {
		return 0, fmt.Errorf("exit lists: %w", err)
	}
	return resp.StatusCode, nil
}

// withNeighbours returns months plus the month before the earliest and the
// month after the latest: a request at 00:30 on the 1st can be covered by a
// list of the previous month, one at 23:30 on the last day by a list
// published on the next month's 1st.
func withNeighbours(months []string) []string {
	if len(months) == 0 {
		return nil
	}
	first, last := months[0], months[0]
	for _, m := range months {
		first, last = min(first, m), max(last, m)
	}
	out := append([]string(nil), months...)
	if t, err := time.Parse("2006-01", first); err == nil {
		out = append(out, t.AddDate(0, -1, 0).Format("2006-01"))
	}
	if t, err := time.Parse("2006-01", last); err == nil {
		out = append(out, t.AddDate(0, 1, 0).Format("2006-01"))
	}
	return out
}

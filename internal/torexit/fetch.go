package torexit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"time"

	"depot/internal/atomicfile"
	"depot/internal/month"
	"depot/internal/outbound"
)

// CollecTorURL is where Fetch downloads exit lists from by default.
const CollecTorURL = "https://collector.torproject.org/"

// Bounds on downloads. CollecTor's monthly archives are some tens of MB
// and its recent files a few hundred KB.
const (
	// MaxDownload bounds one downloaded archive or list.
	MaxDownload = 256 << 20
	// maxIndex bounds the listing of recent files.
	maxIndex = 16 << 20
	// FetchTimeout is the default bound on connecting, on waiting for a
	// response's header, and on a download receiving no data.
	FetchTimeout = 60 * time.Second
)

// Fetcher downloads exit lists from CollecTor. It is the only code in
// depot's statistics that touches the network, and runs only when the
// operator passes --fetch.
type Fetcher struct {
	// Client makes the requests; nil means outbound's client for
	// "exit-lists", which records each destination in Record and uses no
	// proxy from the environment.
	Client *http.Client
	// Record receives the default client's destinations; nil records
	// nothing.
	Record *outbound.Record
	// Timeout bounds connecting, waiting for a response's header and a
	// download receiving no data at all; 0 means FetchTimeout.
	Timeout time.Duration
	// MaxBytes bounds each download; 0 means MaxDownload.
	MaxBytes int64
	BaseURL  string // "" means CollecTorURL; must end in "/"
	Dir      string // where archives and recent/ files are stored

	client *http.Client
}

// FetchReport says what Fetch downloaded.
type FetchReport struct {
	Archives []month.Month // months whose archive was downloaded
	Recent   int           // recent files downloaded
}

// Fetch downloads the monthly archive of every month in months (and of the
// month before the first) that has ended and is not in Dir yet, and the
// recent files (the last few days) when the current month, or a month whose
// archive CollecTor has not published yet, is among them. Files are written
// atomically; existing files are never downloaded again.
func (f *Fetcher) Fetch(ctx context.Context, months []month.Month, now time.Time) (FetchReport, error) {
	var rep FetchReport
	if err := os.MkdirAll(f.Dir, 0o755); err != nil {
		return rep, fmt.Errorf("exit lists: %w", err)
	}
	current := month.Of(now)
	needRecent := false
	for _, m := range withNeighbours(months) {
		if !m.Before(current) {
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

func (f *Fetcher) timeout() time.Duration {
	if f.Timeout > 0 {
		return f.Timeout
	}
	return FetchTimeout
}

func (f *Fetcher) httpClient() *http.Client {
	switch {
	case f.Client != nil:
		return f.Client
	case f.client == nil:
		f.client = outbound.NewClient(outbound.ExitLists, f.Record, f.timeout())
	}
	return f.client
}

// errStalled ends a download that received nothing for the timeout.
var errStalled = errors.New("no data received")

// do sends a GET of u and returns the response with a context that is
// cancelled (with errStalled) once the body has received nothing for the
// timeout; the caller reads the body through the returned reader and
// calls stop.
func (f *Fetcher) do(ctx context.Context, u string) (resp *http.Response, body io.Reader, stop func(), err error) {
	ctx, cancel := context.WithCancelCause(ctx)
	timer := time.AfterFunc(f.timeout(), func() { cancel(errStalled) })
	end := func() { timer.Stop(); cancel(nil) }
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		end()
		return nil, nil, nil, err
	}
	resp, err = f.httpClient().Do(req)
	if err != nil {
		end()
		if c := context.Cause(ctx); errors.Is(c, errStalled) {
			err = c
		}
		return nil, nil, nil, f.offline(u, err)
	}
	body = &watchdog{r: resp.Body, reset: func() { timer.Reset(f.timeout()) }, ctx: ctx}
	return resp, body, func() { resp.Body.Close(); end() }, nil
}

// watchdog restarts the stall timer on every read that brings data, and
// reports a stall rather than "context canceled".
type watchdog struct {
	r     io.Reader
	reset func()
	ctx   context.Context
}

func (w *watchdog) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	if n > 0 {
		w.reset()
	}
	if err != nil && errors.Is(context.Cause(w.ctx), errStalled) {
		err = fmt.Errorf("%w for %v", errStalled, "the timeout")
	}
	return n, err
}

func (f *Fetcher) maxBytes() int64 {
	if f.MaxBytes > 0 {
		return f.MaxBytes
	}
	return MaxDownload
}

func (f *Fetcher) offline(u string, err error) error {
	return fmt.Errorf("fetching exit lists: %s: %w\n(is this machine offline? run without --fetch to use the lists already in %s, or copy exit-list-YYYY-MM.tar.xz archives there by hand)", u, err, f.Dir)
}

func (f *Fetcher) get(ctx context.Context, rel string) ([]byte, error) {
	u := f.url(rel)
	resp, body, stop, err := f.do(ctx, u)
	if err != nil {
		return nil, err
	}
	defer stop()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching exit lists: %s: %s", u, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(body, maxIndex+1))
	if err != nil {
		return nil, f.offline(u, err)
	}
	if len(b) > maxIndex {
		return nil, fmt.Errorf("fetching exit lists: %s: the listing is larger than %d bytes; is the base URL CollecTor's?", u, maxIndex)
	}
	return b, nil
}

// download writes rel to dst through a temporary file and a rename, and
// refuses a body larger than the bound (announced or not), leaving
// nothing behind. It returns 404 without an error so that a caller can
// fall back.
func (f *Fetcher) download(ctx context.Context, rel, dst string) (int, error) {
	u := f.url(rel)
	resp, body, stop, err := f.do(ctx, u)
	if err != nil {
		return 0, err
	}
	defer stop()
	if resp.StatusCode == http.StatusNotFound {
		return resp.StatusCode, nil
	}
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, fmt.Errorf("fetching exit lists: %s: %s", u, resp.Status)
	}
	limit := f.maxBytes()
	tooLarge := fmt.Errorf("fetching exit lists: %s: larger than %d bytes, the most an exit list may be; %s not written (is the base URL CollecTor's?)", u, limit, dst)
	if resp.ContentLength > limit {
		return 0, tooLarge
	}
	var copyErr error
	err = atomicfile.Write(dst, 0o644, func(w io.Writer) error {
		var n int64
		n, copyErr = io.Copy(w, io.LimitReader(body, limit+1))
		if copyErr == nil && n > limit {
			copyErr = tooLarge
		}
		return copyErr
	})
	if copyErr == tooLarge {
		return 0, tooLarge
	}
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
func withNeighbours(months []month.Month) []month.Month {
	if len(months) == 0 {
		return nil
	}
	first, last := months[0], months[0]
	for _, m := range months {
		if m.Before(first) {
			first = m
		}
		if m.After(last) {
			last = m
		}
	}
	return append(slices.Clone(months), first.Prev(), last.Next())
}

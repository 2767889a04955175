package mirrors

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"depot/internal/config"
	"depot/internal/outbound"
)

// Bounds on what a mirror may send. A response beyond them is recorded
// as a failure; none of them can make a check round outlast its timeout.
const (
	maxResponseHeader = 64 << 10
	maxRedirects      = 5
	// perMirrorConns is how many files of one mirror are fetched at once.
	perMirrorConns = 4
)

// newClient returns the HTTP client of the checks: outbound's, which
// records each mirror contacted in rec and uses no proxy from the
// environment, following redirects only within the mirror's own host, so
// depot connects to nothing the configuration did not name.
func newClient(timeout time.Duration, rec *outbound.Record) *http.Client {
	tr := outbound.NewTransport(outbound.MirrorCheck, rec, timeout)
	tr.MaxResponseHeaderBytes = maxResponseHeader
	tr.MaxIdleConnsPerHost = perMirrorConns
	// Mirrors are compared byte for byte; a transparently decompressed
	// body would have no Content-Length to check.
	tr.DisableCompression = true
	return &http.Client{Transport: tr, CheckRedirect: checkRedirect}
}

// checkRedirect allows a few redirects, within the original host (an
// upgrade from http to https included).
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("more than %d redirects", maxRedirects)
	}
	if from := via[0].URL; !strings.EqualFold(req.URL.Hostname(), from.Hostname()) {
		return fmt.Errorf("redirect to another host (%s) refused: depot only connects to configured mirrors; set the mirror's url to where it redirects", req.URL.Host)
	}
	return nil
}

// job is one mirror × file check.
type job struct {
	name string
	kind string
	want Version // the origin's current version
	max  int64   // the largest size of any known version
}

// checkMirror fetches every job from one mirror, perMirrorConns at a time,
// all within ctx (which carries the mirror's deadline), and returns a
// result per job. It never returns before every fetch has ended.
func checkMirror(ctx context.Context, client *http.Client, m config.Mirror, jobs []job, now func() time.Time) map[string]*Result {
	results := make(map[string]*Result, len(jobs))
	var mu sync.Mutex
	var g errgroup.Group
	g.SetLimit(perMirrorConns)
	for _, j := range jobs {
		g.Go(func() error {
			r := fetch(ctx, client, mirrorURL(m.URL, j.name), j, now)
			mu.Lock()
			results[j.name] = r
			mu.Unlock()
			return nil
		})
	}
	g.Wait()
	return results
}

// mirrorURL is the URL of tree path name on a mirror with base URL base.
func mirrorURL(base, name string) string {
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	return base + (&url.URL{Path: name}).EscapedPath()
}

// fetch checks one file on one mirror: for images, the size from a HEAD;
// for index files, the SHA-256 of the body, read up to one byte more than
// the largest known version.
func fetch(ctx context.Context, client *http.Client, u string, j job, now func() time.Time) *Result {
	start := now()
	r := &Result{Checked: start}
	method := http.MethodGet
	if j.kind == KindISO {
		method = http.MethodHead
	}
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return r.down(err)
	}
	req.Header.Set("User-Agent", "depot-mirror-check")
	resp, err := client.Do(req)
	r.Latency = now().Sub(start)
	if err != nil {
		return r.down(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// Drain a little so the connection can be reused, never much.
		_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
		return r.down(fmt.Errorf("HTTP %s", resp.Status))
	}
	if j.kind == KindISO {
		r.Size = resp.ContentLength
		if r.Size < 0 {
			return r.stale("no Content-Length; the size cannot be verified")
		}
		r.OK = now()
		if r.Size != j.want.Size {
			return r.stale(fmt.Sprintf("size %d, origin has %d", r.Size, j.want.Size))
		}
		return r
	}
	if resp.ContentLength > j.max {
		return r.stale(fmt.Sprintf("size %d is none of the origin's recent versions", resp.ContentLength))
	}
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(resp.Body, j.max+1))
	r.Size = n
	if err != nil {
		return r.down(fmt.Errorf("reading body: %w", err))
	}
	r.OK = now()
	if n > j.max {
		return r.stale("body longer than any of the origin's recent versions")
	}
	r.SHA256 = hex.EncodeToString(h.Sum(nil))
	return r
}

func (r *Result) down(err error) *Result {
	r.Down = true
	r.Error = describe(err)
	return r
}

// stale records a response that arrived but cannot be any known version.
func (r *Result) stale(why string) *Result {
	r.SHA256 = ""
	r.Error = why
	return r
}

// describe shortens transport errors to what an operator acts on.
func describe(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out"
	case errors.Is(err, context.Canceled):
		return "check cancelled"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	s := err.Error()
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

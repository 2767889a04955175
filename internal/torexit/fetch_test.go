package torexit

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"depot/internal/month"
	"depot/internal/outbound"
)

// TestFetchBoundsDownloads: a download larger than the bound is refused,
// whether its size is announced or not, and leaves no file.
func TestFetchBoundsDownloads(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/archive/exit-lists/exit-list-2026-09.tar.xz":
			// Announces more than the default bound, sends nothing:
			// refused from the header alone.
			w.Header().Set("Content-Length", strconv.Itoa(MaxDownload+1))
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		case "/archive/exit-lists/exit-list-2026-10.tar.xz":
			// No length announced; more than the test's bound sent.
			w.(http.Flusher).Flush()
			w.Write(bytes.Repeat([]byte("x"), 64<<10))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	now := time.Date(2026, 11, 29, 4, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		month string
		max   int64
		want  string
	}{
		{"2026-09", 0, strconv.Itoa(MaxDownload)},
		{"2026-10", 32 << 10, strconv.Itoa(32 << 10)},
	} {
		t.Run(tt.month, func(t *testing.T) {
			dir := t.TempDir()
			f := &Fetcher{BaseURL: srv.URL + "/", Dir: dir, MaxBytes: tt.max}
			// Only this month (its neighbours are 404).
			_, err := f.Fetch(context.Background(), []month.Month{month.MustParse(tt.month)}, now)
			if err == nil || !strings.Contains(err.Error(), ArchiveName(month.MustParse(tt.month))) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error naming %s and the bound %s", err, ArchiveName(month.MustParse(tt.month)), tt.want)
			}
			left, _ := os.ReadDir(dir)
			if len(left) != 0 {
				t.Errorf("left %v in the exit-lists directory", left)
			}
		})
	}
}

// TestFetchTimesOut: a server that accepts and never answers does not
// hold `stats update --fetch` forever.
func TestFetchTimesOut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, silent
		}
	}()
	f := &Fetcher{BaseURL: "http://" + ln.Addr().String() + "/", Dir: t.TempDir(), Timeout: 200 * time.Millisecond}
	if err := fetchWithin(t, f, 20*time.Second); err == nil {
		t.Error("Fetch succeeded against a silent server")
	}
}

// fetchWithin runs f.Fetch of October 2026 and fails the test if it has
// not returned within limit.
func fetchWithin(t *testing.T, f *Fetcher, limit time.Duration) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := f.Fetch(context.Background(), []month.Month{month.MustParse("2026-10")}, time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC))
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(limit):
		t.Fatalf("Fetch still waiting after %v", limit)
		return nil
	}
}

// TestFetchStalledBodyTimesOut: a body that stops flowing ends the
// download after Timeout without a byte.
func TestFetchStalledBodyTimesOut(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("start"))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer srv.Close()
	f := &Fetcher{BaseURL: srv.URL + "/", Dir: t.TempDir(), Timeout: 200 * time.Millisecond}
	t.Cleanup(srv.CloseClientConnections) // on failure, lets srv.Close return
	if err := fetchWithin(t, f, 20*time.Second); err == nil || !strings.Contains(err.Error(), "no data") {
		t.Errorf("got %v, want an error saying the download stalled", err)
	}
}

// TestFetchIgnoresProxyEnvironment: HTTP_PROXY and HTTPS_PROXY are not
// depot's configuration; the default client goes straight to the
// destination, and the destination is recorded.
func TestFetchIgnoresProxyEnvironment(t *testing.T) {
	var proxied atomic.Int32
	envProxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proxied.Add(1)
		http.Error(w, "proxied", http.StatusBadGateway)
	}))
	defer envProxy.Close()
	t.Setenv("HTTP_PROXY", envProxy.URL)
	t.Setenv("HTTPS_PROXY", envProxy.URL)
	t.Setenv("ALL_PROXY", envProxy.URL)
	t.Setenv("NO_PROXY", "")
	// 192.0.2.1 (TEST-NET-1) is not loopback, so an environment proxy
	// would be used for it; directly, it is unreachable.
	rec := outbound.NewRecord(outbound.RecordOptions{})
	f := &Fetcher{BaseURL: "http://192.0.2.1/", Dir: t.TempDir(), Timeout: 300 * time.Millisecond, Record: rec}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := f.Fetch(ctx, []month.Month{month.MustParse("2026-10")}, time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC))
	if err == nil {
		t.Error("Fetch reached TEST-NET-1")
	}
	if n := proxied.Load(); n != 0 {
		t.Errorf("the proxy from the environment got %d requests, want none", n)
	}
	got := rec.Pending()
	if len(got) != 1 || got[0].Host != "192.0.2.1" || got[0].Port != "80" || got[0].Purpose != outbound.ExitLists {
		t.Errorf("recorded %+v, want 192.0.2.1:80 for exit-lists", got)
	}
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
		t.Error("Fetch ran into the test's deadline: its own timeout did not apply")
	}
}

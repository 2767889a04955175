package stats

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPage(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "stats.json")
	log := filepath.Join(dir, "access.log")
	os.WriteFile(log, []byte(lines(logLine("203.0.113.1", "05/Nov/2026:10:00:00 +0000", get("r4.2"), 200))), 0o644)
	now := fixedNow("2026-11-29T04:00:00Z")
	page := NewPage(PageOptions{DataFile: data, Prefix: "/statistics/", Now: now})

	get := func(method, path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		page.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
		return rec
	}
	// Before the first update: the page says so, the JSON is 404.
	if rec := get("GET", "/statistics/"); rec.Code != 200 || !strings.Contains(rec.Body.String(), "No statistics") {
		t.Errorf("empty page: got %d %q", rec.Code, rec.Body.String())
	}
	if rec := get("GET", "/statistics/stats.json"); rec.Code != 404 {
		t.Errorf("missing JSON: got %d, want 404", rec.Code)
	}
	if _, err := Update(context.Background(), Options{Logs: []string{log}, DataFile: data, Months: months("2026-11"), Title: "Estimated userbase", Now: now}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path, ctype string
		code        int
		contains    string
	}{
		{"/statistics/", "text/html; charset=utf-8", 200, "<td>1 + 0</td>"},
		{"/statistics/", "text/html; charset=utf-8", 200, `<a href="/">Back to the site</a>`}, // the page led nowhere
		{"/statistics/style.css", "text/css; charset=utf-8", 200, "table"},
		{"/statistics/stats.json", "application/json", 200, `"2026-11"`},
		{"/statistics/stats.svg", "image/svg+xml", 200, "Unique IP addresses"},
		{"/statistics/stats.png", "image/png", 200, "PNG"},
		{"/statistics/other", "", 404, ""},
		{"/statistics/../stats.json", "", 404, ""},
		{"/elsewhere/", "", 404, ""},
	} {
		t.Run(tc.path, func(t *testing.T) {
			rec := get("GET", tc.path)
			if rec.Code != tc.code {
				t.Fatalf("got %d, want %d", rec.Code, tc.code)
			}
			if tc.code != 200 {
				return
			}
			if got := rec.Header().Get("Content-Type"); got != tc.ctype {
				t.Errorf("got Content-Type %q, want %q", got, tc.ctype)
			}
			if !strings.Contains(rec.Header().Get("Content-Security-Policy"), "default-src 'none'") {
				t.Error("no strict CSP")
			}
			if !strings.Contains(rec.Body.String(), tc.contains) {
				t.Errorf("body lacks %q: %s", tc.contains, rec.Body.String())
			}
		})
	}
	html := get("GET", "/statistics/").Body.String()
	for _, bad := range []string{"<script", "style=", "<style", "203.0.113"} {
		if strings.Contains(html, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
	if rec := get("POST", "/statistics/"); rec.Code != 405 {
		t.Errorf("POST: got %d, want 405", rec.Code)
	}
	if rec := get("HEAD", "/statistics/stats.png"); rec.Code != 200 || rec.Body.Len() != 0 {
		t.Errorf("HEAD: got %d with %d bytes", rec.Code, rec.Body.Len())
	}
}

func TestPageCorruptData(t *testing.T) {
	data := filepath.Join(t.TempDir(), "stats.json")
	os.WriteFile(data, []byte("{"), 0o644)
	var logged []string
	page := NewPage(PageOptions{DataFile: data, Prefix: "/s", Logf: func(f string, a ...any) { logged = append(logged, f) }})
	rec := httptest.NewRecorder()
	page.ServeHTTP(rec, httptest.NewRequest("GET", "/s/", nil))
	if rec.Code != 500 || strings.Contains(rec.Body.String(), data) || len(logged) != 1 {
		t.Errorf("got %d %q, logged %v; want a generic 500 and the detail logged", rec.Code, rec.Body.String(), logged)
	}
}

func TestNextRun(t *testing.T) {
	for _, tc := range []struct{ now, want string }{
		{"2026-11-29T03:00:00Z", "2026-11-29T04:00:00Z"},
		{"2026-11-29T04:00:00Z", "2026-11-30T04:00:00Z"},
		{"2026-11-30T23:59:59Z", "2026-12-01T04:00:00Z"},
	} {
		t.Run(tc.now, func(t *testing.T) {
			if got := NextRun(fixedNow(tc.now)(), 4*time.Hour); !got.Equal(fixedNow(tc.want)()) {
				t.Errorf("got %v, want %s", got, tc.want)
			}
		})
	}
}

func TestRunDaily(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "stats.json")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var waits []time.Duration
	ticks := make(chan time.Time, 1)
	after := func(d time.Duration) <-chan time.Time {
		waits = append(waits, d)
		if len(waits) == 1 {
			ticks <- time.Time{} // the first wait ends at once
		} else {
			cancel()
		}
		return ticks
	}
	done := make(chan struct{})
	var runs []error // Done's outcomes, read after RunDaily returns
	go func() {
		RunDaily(ctx, Options{DataFile: data, Now: fixedNow("2026-11-29T03:00:00Z")}, DailyOptions{After: after, Done: func(err error) { runs = append(runs, err) }})
		close(done)
	}()
	<-done
	if len(runs) != 1 || runs[0] != nil {
		t.Errorf("Done got %v, want one successful run", runs)
	}
	if len(waits) < 1 || waits[0] != time.Hour {
		t.Errorf("got waits %v, want 1h first", waits)
	}
	if _, err := os.Stat(data); err != nil {
		t.Errorf("the daily run wrote no data file: %v", err)
	}
}

package e2e

import (
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAdminMetrics runs depot serve with an [admin] listener and checks a
// Prometheus scrape: clearnet requests counted by site, method and class,
// bytes and durations, log lines, proxy decisions; onion requests nowhere;
// /healthz answers.
func TestAdminMetrics(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "index.html"), []byte("hello"))
	admin := freeAddr(t)
	proxyAddr := freeAddr(t)
	cfg := strings.Replace(serveConfig(t, root), `hosts = ["*"]`, `hosts = ["www.example.org", "*"]`, 1) + `
[admin]
address = "` + admin + `"

[proxy]
listen = "` + proxyAddr + `"
allow = ["deb.debian.org"]
`
	d := startDepot(t, cfg)

	get(t, http.DefaultClient, d.URL("/"))
	get(t, http.DefaultClient, d.URL("/missing"))
	onion := unixClient(d.onionSocket(t))
	for range 3 {
		get(t, onion, "http://x/")
	}
	proxyClient := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(mustURL(t, "http://"+proxyAddr))}}
	if code, _ := get(t, proxyClient, "http://not-allowed.example/"); code != http.StatusForbidden {
		t.Errorf("proxy to an unlisted host: %d, want 403", code)
	}

	if code, body := get(t, http.DefaultClient, "http://"+admin+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	want := []string{
		`depot_http_requests_total{code="2xx",method="GET",site="www.example.org"} 1`,
		`depot_http_requests_total{code="4xx",method="GET",site="www.example.org"} 1`,
		`depot_http_response_bytes_total{site="www.example.org"} `,
		`depot_http_request_duration_seconds_count{site="www.example.org"} 2`,
		`depot_log_lines_written_total{log="access.log"} 2`,
		`depot_log_lines_lost_total{log="access.log"} 0`,
		`depot_proxy_requests_total{decision="denied"} 1`,
		`depot_job_last_run_success{job="rotation"} 1`,
		`depot_job_last_run_success{job="prune"} 1`,
	}
	var page string
	deadline := time.Now().Add(15 * time.Second)
	for {
		page = scrape(t, "http://"+admin+"/metrics")
		missing := 0
		for _, w := range want {
			if !strings.Contains(page, "\n"+w) {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			for _, w := range want {
				if !strings.Contains(page, "\n"+w) {
					t.Errorf("/metrics lacks %q", w)
				}
			}
			t.Fatalf("/metrics:\n%s", page)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Three onion requests and two clearnet ones: only two are counted.
	if strings.Count(page, "depot_http_requests_total{") != 2 {
		t.Errorf("want exactly the two clearnet series of depot_http_requests_total:\n%s", page)
	}
	if strings.Contains(page, "127.0.0.1") || strings.Contains(page, "/missing") {
		t.Errorf("/metrics holds an address or a path:\n%s", page)
	}
}

func scrape(t testing.TB, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return string(b)
}

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

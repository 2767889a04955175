package metrics

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// scrape returns the /metrics page of m.
func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return string(b)
}

func wantLines(t *testing.T, page string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(page, "\n"+l+"\n") {
			t.Errorf("/metrics lacks the line %q", l)
		}
	}
}

func TestRequests(t *testing.T) {
	m := New()
	s := m.Site("yum.example.org")
	if m.Site("yum.example.org") != s {
		t.Fatal("Site returned two values for one label")
	}
	s.Observe("GET", 200, 4096, 3*time.Millisecond)
	s.Observe("GET", 206, 10, time.Millisecond)
	s.Observe("HEAD", 304, 0, time.Millisecond)
	s.Observe("BREW", 405, 20, time.Millisecond)
	s.Observe("get", 999, 0, time.Millisecond)
	m.Site(NoSite).Count("\x16\x03", 400, 11)
	wantLines(t, scrape(t, m),
		`depot_http_requests_total{code="2xx",method="GET",site="yum.example.org"} 2`,
		`depot_http_requests_total{code="3xx",method="HEAD",site="yum.example.org"} 1`,
		`depot_http_requests_total{code="4xx",method="other",site="yum.example.org"} 1`,
		`depot_http_requests_total{code="other",method="other",site="yum.example.org"} 1`,
		`depot_http_requests_total{code="4xx",method="other",site="-"} 1`,
		`depot_http_response_bytes_total{site="yum.example.org"} 4126`,
		`depot_http_response_bytes_total{site="-"} 11`,
		`depot_http_request_duration_seconds_bucket{site="yum.example.org",le="0.001"} 4`,
		`depot_http_request_duration_seconds_bucket{site="yum.example.org",le="0.005"} 5`,
		`depot_http_request_duration_seconds_count{site="yum.example.org"} 5`,
	)
}

func TestJobsAndProxy(t *testing.T) {
	m := New()
	t0 := time.Unix(1764547200, 0)
	m.JobDone(JobRotation, t0, nil)
	m.JobDone(JobPrune, t0, nil)
	m.JobDone(JobPrune, t0.Add(time.Hour), errors.New("refused"))
	m.ProxyDecision(true)
	m.ProxyDecision(true)
	m.ProxyDecision(false)
	wantLines(t, scrape(t, m),
		`depot_job_last_run_timestamp_seconds{job="rotation"} 1.7645472e+09`,
		`depot_job_last_run_success{job="rotation"} 1`,
		`depot_job_last_run_timestamp_seconds{job="prune"} 1.7645508e+09`,
		`depot_job_last_success_timestamp_seconds{job="prune"} 1.7645472e+09`,
		`depot_job_last_run_success{job="prune"} 0`,
		`depot_proxy_requests_total{decision="allowed"} 2`,
		`depot_proxy_requests_total{decision="denied"} 1`,
	)
	var nilM *Metrics
	nilM.JobDone(JobStats, t0, nil) // no metrics configured: nothing happens
	nilM.ProxyDecision(true)
}

type fakeLog struct {
	path          string
	written, lost int64
	at            time.Time
}

func (f fakeLog) Path() string                { return f.path }
func (f fakeLog) Written() int64              { return f.written }
func (f fakeLog) LostLines() int64            { return f.lost }
func (f fakeLog) LastWriteErrorAt() time.Time { return f.at }

func TestLogsAndMirrors(t *testing.T) {
	m := New()
	logs := []LogFile{fakeLog{path: "/var/log/depot/access.log", written: 12, lost: 3, at: time.Unix(1764547200, 0)}, fakeLog{path: "/var/log/depot/error.log", written: 1}}
	if err := m.Register(LogCollector(func() []LogFile { return logs })); err != nil {
		t.Fatal(err)
	}
	mirrors := []Mirror{
		{Name: "mirror.example.net", State: "behind", Files: map[string]int{"fresh": 3, "behind": 1}, Latency: 120 * time.Millisecond, Checked: true},
		{Name: "new.example.net", State: "unchecked"},
	}
	start := time.Unix(1764547200, 0)
	if err := m.Register(MirrorCollector(func() []Mirror { return mirrors }, func() Round { return Round{start, start.Add(1500 * time.Millisecond)} })); err != nil {
		t.Fatal(err)
	}
	page := scrape(t, m)
	wantLines(t, page,
		`depot_log_lines_written_total{log="access.log"} 12`,
		`depot_log_lines_lost_total{log="access.log"} 3`,
		`depot_log_last_write_error_timestamp_seconds{log="access.log"} 1.7645472e+09`,
		`depot_log_last_write_error_timestamp_seconds{log="error.log"} 0`,
		`depot_mirror_state{mirror="mirror.example.net",state="behind"} 1`,
		`depot_mirror_state{mirror="mirror.example.net",state="fresh"} 0`,
		`depot_mirror_state{mirror="new.example.net",state="unchecked"} 1`,
		`depot_mirror_files{mirror="mirror.example.net",state="fresh"} 3`,
		`depot_mirror_latency_seconds{mirror="mirror.example.net"} 0.12`,
		`depot_mirror_check_duration_seconds 1.5`,
	)
	if strings.Contains(page, `depot_mirror_latency_seconds{mirror="new.example.net"}`) {
		t.Error("an unchecked mirror has a latency")
	}
}

func TestHealthz(t *testing.T) {
	srv := httptest.NewServer(New().Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "ok\n" {
		t.Errorf("/healthz: %d %q, want 200 \"ok\\n\"", resp.StatusCode, b)
	}
	if resp, err := http.Get(srv.URL + "/other"); err != nil || resp.StatusCode != 404 {
		t.Errorf("/other: %v %v, want 404", resp.StatusCode, err)
	}
}

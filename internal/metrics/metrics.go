package metrics

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is one depot's registry. Its methods are safe for concurrent
// use.
type Metrics struct {
	reg *prometheus.Registry

	requests *prometheus.CounterVec
	bytes    *prometheus.CounterVec
	duration *prometheus.HistogramVec
	sites    sync.Map // site label → *Site

	jobRun, jobSuccess, jobOK *prometheus.GaugeVec

	proxyAllowed, proxyDenied prometheus.Counter
}

// DurationBuckets are the request-duration histogram's upper bounds in
// seconds: small files take milliseconds, ISO downloads minutes.
var DurationBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300}

// New returns an empty registry with depot's metrics and the Go runtime's
// and process's standard ones.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "depot_http_requests_total",
			Help: "Requests answered on clearnet listeners, by site (its first host), method and status class. Onion listeners are never counted.",
		}, []string{"site", "method", "code"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "depot_http_response_bytes_total",
			Help: "Response body bytes sent on clearnet listeners, by site.",
		}, []string{"site"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "depot_http_request_duration_seconds",
			Help:    "Time from the request's arrival at the handler to the end of its response, on clearnet listeners, by site.",
			Buckets: DurationBuckets,
		}, []string{"site"}),
		jobRun: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "depot_job_last_run_timestamp_seconds",
			Help: "When the job (rotation, prune, stats) last finished, as a Unix time; absent before its first run.",
		}, []string{"job"}),
		jobSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "depot_job_last_success_timestamp_seconds",
			Help: "When the job last finished without an error, as a Unix time.",
		}, []string{"job"}),
		jobOK: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "depot_job_last_run_success",
			Help: "1 if the job's last run succeeded, 0 if it failed.",
		}, []string{"job"}),
	}
	proxy := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "depot_proxy_requests_total",
		Help: "Requests to the updates proxy, by whether the allowlist allowed their destination.",
	}, []string{"decision"})
	m.proxyAllowed = proxy.WithLabelValues("allowed")
	m.proxyDenied = proxy.WithLabelValues("denied")
	m.reg.MustRegister(m.requests, m.bytes, m.duration, m.jobRun, m.jobSuccess, m.jobOK, proxy,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Register adds a collector (log files, mirrors) to the registry.
func (m *Metrics) Register(c prometheus.Collector) error { return m.reg.Register(c) }

// Registry is the underlying registry, for tests that read values.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves /metrics in Prometheus text format and /healthz, which
// answers 200 "ok" while depot serves.
func (m *Metrics) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write([]byte("ok\n"))
	})
	return mux
}

// Jobs whose last run is recorded.
const (
	JobRotation     = "rotation"
	JobPrune        = "prune"
	JobPseudonymise = "pseudonymise"
	JobStats        = "stats"
)

// JobDone records that job finished at t, successfully if err is nil.
func (m *Metrics) JobDone(job string, t time.Time, err error) {
	if m == nil {
		return
	}
	ts := float64(t.UnixNano()) / 1e9
	m.jobRun.WithLabelValues(job).Set(ts)
	if err != nil {
		m.jobOK.WithLabelValues(job).Set(0)
		return
	}
	m.jobOK.WithLabelValues(job).Set(1)
	m.jobSuccess.WithLabelValues(job).Set(ts)
}

// ProxyDecision counts one updates-proxy request, allowed or denied.
func (m *Metrics) ProxyDecision(allowed bool) {
	if m == nil {
		return
	}
	if allowed {
		m.proxyAllowed.Inc()
	} else {
		m.proxyDenied.Inc()
	}
}

// NoSite is the site label of requests for a host no site answers.
const NoSite = "-"

// Site returns the counters of one site, labelled with label (the site's
// first configured host, or NoSite). The same label always gives the same
// *Site.
func (m *Metrics) Site(label string) *Site {
	if s, ok := m.sites.Load(label); ok {
		return s.(*Site)
	}
	s := &Site{m: m, label: label, bytes: m.bytes.WithLabelValues(label), duration: m.duration.WithLabelValues(label)}
	actual, _ := m.sites.LoadOrStore(label, s)
	return actual.(*Site)
}

// Methods are the method label's values; any other method is "other", so
// that a client cannot add label values.
var Methods = [...]string{"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE", "other"}

// Codes are the status-class label's values.
var Codes = [...]string{"1xx", "2xx", "3xx", "4xx", "5xx", "other"}

// Site is one site's request counters.
type Site struct {
	m        *Metrics
	label    string
	bytes    prometheus.Counter
	duration prometheus.Observer
	requests [len(Methods)][len(Codes)]atomic.Pointer[prometheus.Counter]
}

// Observe counts one answered request.
func (s *Site) Observe(method string, status int, bytes int64, d time.Duration) {
	s.counter(methodIndex(method), codeIndex(status)).Inc()
	if bytes > 0 {
		s.bytes.Add(float64(bytes))
	}
	s.duration.Observe(d.Seconds())
}

// Count counts one request that never reached a handler (net/http
// refused it): it has no duration worth recording.
func (s *Site) Count(method string, status int, bytes int64) {
	s.counter(methodIndex(method), codeIndex(status)).Inc()
	if bytes > 0 {
		s.bytes.Add(float64(bytes))
	}
}

// counter returns the counter of one method and class, created on first
// use so that /metrics lists only what happened.
func (s *Site) counter(mi, ci int) prometheus.Counter {
	if c := s.requests[mi][ci].Load(); c != nil {
		return *c
	}
	// WithLabelValues returns the same child to racing callers.
	c := s.m.requests.WithLabelValues(s.label, Methods[mi], Codes[ci])
	s.requests[mi][ci].Store(&c)
	return c
}

func methodIndex(m string) int {
	switch m {
	case "GET":
		return 0
	case "HEAD":
		return 1
	case "POST":
		return 2
	case "PUT":
		return 3
	case "DELETE":
		return 4
	case "OPTIONS":
		return 5
	case "PATCH":
		return 6
	case "CONNECT":
		return 7
	case "TRACE":
		return 8
	}
	return len(Methods) - 1
}

func codeIndex(status int) int {
	if status >= 100 && status < 600 {
		return status/100 - 1
	}
	return len(Codes) - 1
}

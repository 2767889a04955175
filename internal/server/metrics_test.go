package server

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"depot/internal/metrics"
)

// TestMetricLabelsHoldNothingPersonal sends clearnet requests whose path,
// query, user agent, referer, host and method are all attacker-chosen
// markers, and finds none of them, nor the client address, in any label
// of any metric: labels come from the configuration and fixed sets only.
func TestMetricLabelsHoldNothingPersonal(t *testing.T) {
	m := metrics.New()
	ts := startServer(t, "", Options{Metrics: m})
	const marker = "zz-marker-7f3a"
	for _, method := range []string{"GET", "HEAD", "POST", "M" + strings.ToUpper(marker[3:9])} {
		req, err := http.NewRequest(method, "http://"+ts.clearnet+"/"+marker+"/x?"+marker+"=1", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = marker + ".example"
		req.Header.Set("User-Agent", marker)
		req.Header.Set("Referer", "http://"+marker+"/")
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		body(t, resp)
	}
	raw(t, ts.clearnet, marker+" /"+marker+" HTTP/1.1\r\n\r\n")

	deadline := time.Now().Add(10 * time.Second)
	var counted float64
	for counted < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("counted %v requests, want 5", counted)
		}
		time.Sleep(10 * time.Millisecond)
		counted = 0
		families, err := m.Registry().Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range families {
			for _, s := range f.GetMetric() {
				for _, l := range s.GetLabel() {
					v := strings.ToLower(l.GetValue())
					if strings.Contains(v, "zz-") || strings.Contains(v, "marker") || strings.Contains(v, "127.0.0.1") || strings.Contains(v, "/") {
						t.Fatalf("%s has label %s=%q", f.GetName(), l.GetName(), l.GetValue())
					}
				}
				if f.GetName() == "depot_http_requests_total" {
					counted += s.GetCounter().GetValue()
				}
			}
		}
	}
}

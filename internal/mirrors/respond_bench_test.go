package mirrors

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"depot/internal/config"
)

// discard is a ResponseWriter that keeps nothing, so the benchmark
// measures the responder, not a recorder.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}

// BenchmarkMetalinkCached is the hot path of a metalink request: the
// file and state are unchanged, so the cached document is served.
func BenchmarkMetalinkCached(b *testing.B) {
	fx := newFixture(b, originFiles())
	for i := range 20 {
		fx.cfg.Mirror = append(fx.cfg.Mirror, config.Mirror{Name: fmt.Sprint(i), URL: fmt.Sprintf("https://m%d.example/", i)})
	}
	fx.svc.Reload(fx.cfg)
	rs := fx.svc.Responders(fx.site())
	var ml http.Handler
	for _, r := range rs {
		if m, ok := r.(metalinkResponder); ok {
			ml = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) { m.Respond(w, req) })
		}
	}
	req := httptest.NewRequest(http.MethodGet, "/"+repoPath+".metalink", nil)
	w := &discard{h: http.Header{}}
	ml.ServeHTTP(w, req)
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		ml.ServeHTTP(w, req)
	}
}

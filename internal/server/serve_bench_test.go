package server

import (
	"io"
	"net/http"
	"testing"
	"time"

	"depot/internal/metrics"
)

// BenchmarkClearnetSmallFile measures the whole clearnet chain for a 4 KB
// repomd.xml, logging included, without the network.
func BenchmarkClearnetSmallFile(b *testing.B) {
	ts := startServer(b, "", Options{})
	h := newClearnet(&ts.srv.sites, io.Discard, io.Discard, time.Now, nil)
	benchHandler(b, h, "/r4.2/current/host/fc37/repodata/repomd.xml")
}

// BenchmarkClearnetSmallFileMetrics is BenchmarkClearnetSmallFile with
// request metrics on, as with an [admin] listener.
func BenchmarkClearnetSmallFileMetrics(b *testing.B) {
	ts := startServer(b, "", Options{})
	h := newClearnet(&ts.srv.sites, io.Discard, io.Discard, time.Now, metrics.New())
	benchHandler(b, h, "/r4.2/current/host/fc37/repodata/repomd.xml")
}

// BenchmarkClearnet404 measures a 404 with its access and error lines.
func BenchmarkClearnet404(b *testing.B) {
	ts := startServer(b, "", Options{})
	h := newClearnet(&ts.srv.sites, io.Discard, io.Discard, time.Now, nil)
	benchHandler(b, h, "/r9.9/missing")
}

func benchHandler(b *testing.B, h http.Handler, target string) {
	r := mustRequest(b, target)
	r.Header.Set("User-Agent", "libdnf (Fedora 37; generic; Linux.x86_64)")
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, r)
	}
}

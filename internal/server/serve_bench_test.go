package server

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"depot/internal/metrics"
)

// BenchmarkClearnetSmallFile measures the whole clearnet chain for a 4 KB
// repomd.xml, logging included, without the network: from the file cache,
// as a repository's metadata is served once it has settled.
func BenchmarkClearnetSmallFile(b *testing.B) {
	benchSmallFile(b, "", nil)
}

// BenchmarkClearnetSmallFileUncached is the same from disk.
func BenchmarkClearnetSmallFileUncached(b *testing.B) {
	benchSmallFile(b, "[file_cache]\noff = true\n", nil)
}

// BenchmarkClearnetSmallFileMetrics is BenchmarkClearnetSmallFile with
// request metrics on, as with an [admin] listener.
func BenchmarkClearnetSmallFileMetrics(b *testing.B) {
	benchSmallFile(b, "", metrics.New())
}

// BenchmarkClearnetSmallFileHSTS is BenchmarkClearnetSmallFile as a TLS
// listener serves it, with its Strict-Transport-Security header.
func BenchmarkClearnetSmallFileHSTS(b *testing.B) {
	benchSmallFile(b, "", nil, edge{hsts: []string{"max-age=63072000"}})
}

func benchSmallFile(b *testing.B, extra string, m *metrics.Metrics, e ...edge) {
	const name = "r4.2/current/host/fc37/repodata/repomd.xml"
	ts := startServer(b, extra, Options{Now: settledClock})
	writeTree(b, ts.root, map[string]string{name: strings.Repeat("<repomd/>\n", 410)[:4096]})
	h := newClearnet(&ts.srv.sites, io.Discard, io.Discard, time.Now, m)
	if len(e) > 0 {
		h.edge = e[0]
	}
	benchHandler(b, h, "/"+name)
}

// BenchmarkClearnet404 measures a 404 with its access and error lines:
// after the first, from the misses the file cache keeps for a second.
func BenchmarkClearnet404(b *testing.B) {
	bench404(b, "")
}

// BenchmarkClearnet404Uncached is the same without the cache: what every
// request for another missing name costs (a scanner's), an openat2 and a
// stat of the root.
func BenchmarkClearnet404Uncached(b *testing.B) {
	bench404(b, "[file_cache]\noff = true\n")
}

func bench404(b *testing.B, extra string) {
	ts := startServer(b, extra, Options{})
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

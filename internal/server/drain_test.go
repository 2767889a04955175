package server

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"depot/internal/server/servertest"
)

// TestStopAnswersOrClosesCleanly is the SIGTERM load test: many keep-alive
// connections, some pipelining, send requests without pause while the
// server stops. Every request gets a whole answer or its connection is
// closed before any byte of one; every answer is logged once, and nothing
// is logged as a client's fault (400).
func TestStopAnswersOrClosesCleanly(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t, t.TempDir())
	ts := startListeners(t, []string{`address = "127.0.0.1:0"`, `address = "127.0.0.1:0"
tls_cert = "` + certFile + `"
tls_key = "` + keyFile + `"`}, "", Options{})
	tlsAddr := ts.srv.Addrs()[1].String()
	const conns = 64
	var progress atomic.Int64
	clients := make([]servertest.LoadClient, conns)
	var wg sync.WaitGroup
	for i := range conns {
		var c net.Conn
		var err error
		if i%4 == 3 {
			c, err = tlsDial(tlsAddr, pool)
		} else {
			c, err = net.Dial("tcp", ts.clearnet)
		}
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() { clients[i].Run(c, 1+i%2, "/r4.2/current/host/fc37/repodata/repomd.xml", &progress) })
	}
	waitFor(t, "the load to be under way", func() bool { return progress.Load() >= 20*conns })
	ts.stop(t)
	wg.Wait()

	total := 0
	for i, c := range clients {
		if c.Partial != "" {
			t.Errorf("connection %d: %s", i, c.Partial)
		}
		total += c.Answered
	}
	access := ts.readLogAfterStop(t, "access.log")
	if n := strings.Count(access, "\n"); n != total {
		t.Errorf("access.log has %d lines for %d answers", n, total)
	}
	if n := strings.Count(access, `" 200 `); n != total {
		t.Errorf("access.log has %d lines of 200 for %d answers; others:\n%s", n, total, grepNot(access, `" 200 `))
	}
	if errs := ts.readLogAfterStop(t, "error.log"); errs != "" {
		t.Errorf("error.log after a clean stop:\n%s", errs)
	}
}

// tlsDial connects over TLS, speaking HTTP/1.1.
func tlsDial(addr string, pool *x509.CertPool) (net.Conn, error) {
	return tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, NextProtos: []string{"http/1.1"}})
}

func grepNot(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l != "" && !strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

package e2e

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"depot/internal/server/servertest"
)

// TestSIGTERMDrainsRequestsInFlight starts a slow download of a large file,
// sends SIGTERM halfway, and expects the download to finish whole, the
// new connections to be refused, depot to exit 0, and the download's
// access line to be in the log.
func TestSIGTERMDrainsRequestsInFlight(t *testing.T) {
	root := t.TempDir()
	const size = 8 << 20
	writeFile(t, filepath.Join(root, "big.iso"), make([]byte, size))
	d := startDepot(t, serveConfig(t, root))

	resp, err := http.Get(d.URL("/big.iso"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadFull(resp.Body, make([]byte, 64<<10))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// depot stops accepting: within a deadline, a new connection is
	// refused (the listener is closed) rather than served.
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.DialTimeout("tcp", d.Addr, time.Second)
		if err != nil {
			// Refused once the listener is closed; reset if the connection
			// was still in the listener's queue when it closed.
			if !errors.Is(err, syscall.ECONNREFUSED) && !errors.Is(err, syscall.ECONNRESET) {
				t.Fatalf("a new connection after SIGTERM: %v, want connection refused", err)
			}
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("depot still accepted new connections 10s after SIGTERM")
		}
		time.Sleep(20 * time.Millisecond) // poll interval, not an outcome
	}
	rest, err := io.Copy(io.Discard, resp.Body)
	if err != nil || int64(got)+rest != size {
		t.Fatalf("download after SIGTERM: %d of %d bytes, %v", int64(got)+rest, size, err)
	}
	d.Stop(t) // waits for exit 0
	lines := readLog(t, d.AccessLog())
	if len(lines) == 0 || !strings.Contains(lines[len(lines)-1].Request, "GET /big.iso") || lines[len(lines)-1].Size != "8388608" {
		t.Errorf("the drained download's access line is missing or wrong: %+v", lines)
	}
}

// TestSIGTERMUnderLoadAnswersOrClosesCleanly is the load test of a stop:
// 64 keep-alive connections, half of them pipelining two requests, send
// requests without pause when depot gets SIGTERM. Every request gets a
// whole answer or its connection is closed before any byte of one (a
// client may retry it); every answer has its access line, and no request
// is logged as the client's fault (400 "client closed").
func TestSIGTERMUnderLoadAnswersOrClosesCleanly(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "repomd.xml"), []byte(strings.Repeat("<repomd/>\n", 400)))
	d := startDepot(t, serveConfig(t, root))

	const conns = 64
	var progress atomic.Int64
	clients := make([]servertest.LoadClient, conns)
	var wg sync.WaitGroup
	for i := range conns {
		c, err := net.Dial("tcp", d.Addr)
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() { clients[i].Run(c, 1+i%2, "/repomd.xml", &progress) })
	}
	deadline := time.Now().Add(30 * time.Second)
	for progress.Load() < 20*conns {
		if time.Now().After(deadline) {
			t.Fatalf("only %d answers in 30s", progress.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	d.Stop(t) // SIGTERM mid-load; depot must exit 0
	wg.Wait()

	total, cut := 0, 0
	for i, c := range clients {
		if c.Partial != "" {
			t.Errorf("connection %d: %s", i, c.Partial)
		}
		total += c.Answered
	}
	lines := readLog(t, d.AccessLog())
	for _, l := range lines {
		if l.Status != "200" {
			cut++
			if cut <= 5 {
				t.Errorf("access line of a request that was not answered whole: %s", l.Raw)
			}
		}
	}
	if len(lines) != total {
		t.Errorf("access.log has %d lines for %d answers (%d not 200)", len(lines), total, cut)
	}
	if b, _ := os.ReadFile(filepath.Join(d.Config.LogDir, "error.log")); strings.Contains(string(b), "client closed") {
		t.Errorf("error.log blames clients for the stop:\n%s", b)
	}
}

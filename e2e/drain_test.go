package e2e

import (
	"errors"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
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
			if !errors.Is(err, syscall.ECONNREFUSED) {
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

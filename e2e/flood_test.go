package e2e

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"depot/internal/server/servertest"
)

// floodFDLimit is the server's open-file limit in TestHandshakeFlood:
// the flood below holds more connections than that.
const (
	floodFDLimit = 512
	floodConns   = 700
	floodHold    = 180 // descriptors held by the server once the flood is on
)

// TestHandshakeFlood: one machine opens connections to the HTTPS
// listener and sends a byte of a TLS record now and then, never
// finishing a handshake (slowloris on the handshake), and opens a new one
// for each the server closes. Each lasts the header timeout (10 s), so a
// flood of them held every descriptor of the server: accept failed on
// every listener, and onion visitors got 503 or nothing. The server now
// caps its connections below its open-file limit; at the cap it closes
// the connections that have waited longest (a second at least) without a
// response in flight, and new ones wait their turn in the accept queue:
// a probe on each listener, the onion one included, keeps being served.
func TestHandshakeFlood(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "small.txt"), []byte(strings.Repeat("x", 4096)))
	cert := servertest.SelfSigned(t, t.TempDir())
	plain := freeAddr(t)
	sock := filepath.Join(socketDir(t), "onion.sock")
	d := startDepot(t, tlsServeConfig(t, root, cert, "",
		fmt.Sprintf("[[listen]]\naddress = %q\n[[listen]]\naddress = \"unix:%s\"\nonion = true\n", plain, sock)))
	if err := unix.Prlimit(d.cmd.Process.Pid, unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: floodFDLimit, Max: floodFDLimit}, nil); err != nil {
		t.Fatal(err)
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var opened atomic.Int64
	for range floodConns {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				c, err := net.DialTimeout("tcp", d.Addr, 2*time.Second)
				if err != nil {
					time.Sleep(50 * time.Millisecond) // the attacker's pace
					continue
				}
				opened.Add(1)
				// A TLS handshake record header, then a byte a second.
				c.Write([]byte{0x16, 0x03, 0x01})
				for {
					c.SetReadDeadline(time.Now().Add(time.Second))
					if _, err := c.Read(make([]byte, 1)); err != nil && !isTimeout(err) {
						break // closed by the server
					}
					select {
					case <-stop:
						c.Close()
						return
					default:
					}
					if _, err := c.Write([]byte{0x02}); err != nil {
						break
					}
				}
				c.Close()
			}
		})
	}
	defer func() { close(stop); wg.Wait() }()

	onion := unixClient(sock)
	// A visitor waits as long as the header timeout: on the flooded
	// listener, a new connection waits its turn in the accept queue.
	onion.Timeout = 10 * time.Second
	h1 := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	tr := &http.Transport{TLSClientConfig: cert.ClientConfig(), ForceAttemptHTTP2: true, DisableKeepAlives: true}
	h2 := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	probes := []struct {
		name string
		do   func() error
	}{
		{"onion", func() error { return probe(onion, "http://x/small.txt", 1) }},
		{"http", func() error { return probe(h1, "http://"+plain+"/small.txt", 1) }},
		{"https", func() error { return probe(h2, "https://"+d.Addr+"/small.txt", 2) }},
	}
	// Let the flood take hold: the server holds at least floodHold
	// descriptors (its connection cap is about 190 under this limit; with
	// no cap, the flood holds all 512). Then probe through one and a half
	// header timeouts of it.
	pid := d.cmd.Process.Pid
	deadline := time.Now().Add(20 * time.Second)
	for openFiles(t, pid) < floodHold {
		if time.Now().After(deadline) {
			t.Fatalf("the flood never took hold: the server holds %d descriptors, want %d", openFiles(t, pid), floodHold)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Each listener is probed on its own, so that a slow answer on one
	// does not thin the probes of the others.
	var pmu sync.Mutex
	var failures []string
	total := map[string]int{}
	slowest := map[string]time.Duration{}
	end := time.Now().Add(15 * time.Second)
	var pwg sync.WaitGroup
	for _, p := range probes {
		pwg.Go(func() {
			for time.Now().Before(end) {
				start := time.Now()
				err := p.do()
				took := time.Since(start)
				pmu.Lock()
				total[p.name]++
				slowest[p.name] = max(slowest[p.name], took)
				if err != nil {
					failures = append(failures, p.name+": "+err.Error())
				}
				pmu.Unlock()
				time.Sleep(200 * time.Millisecond) // the probe's pace, not a wait
			}
		})
	}
	pwg.Wait()
	t.Logf("the flood opened %d connections; probes per listener %v, slowest %v", opened.Load(), total, slowest)
	if len(failures) > 0 {
		t.Errorf("%d probes failed, e.g. %q", len(failures), failures[:min(5, len(failures))])
	}
	// The attack leaves a trace that says what the server did.
	errorLog := filepath.Join(d.Config.LogDir, "error.log")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		b, _ := os.ReadFile(errorLog)
		if strings.Contains(string(b), "closed to make room") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("error.log names no connection closed to make room; its end: %q", b[max(0, len(b)-500):])
		}
	}
}

// openFiles is how many descriptors process pid holds.
func openFiles(t testing.TB, pid int) int {
	t.Helper()
	des, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	return len(des)
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"depot/internal/testtool"
)

// headerOrigin is a raw HTTP/1.1 origin that records each request's
// header lines and answers "ok" followed by stray bytes on a kept-alive
// connection (which net/http's client reports to the standard logger).
type headerOrigin struct {
	Addr    string
	mu      sync.Mutex
	headers [][]string
}

func startHeaderOrigin(t *testing.T) *headerOrigin {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	o := &headerOrigin{Addr: ln.Addr().String()}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				br := bufio.NewReader(c)
				var lines []string
				for {
					l, err := br.ReadString('\n')
					if err != nil {
						return
					}
					if l == "\r\n" {
						break
					}
					lines = append(lines, strings.TrimRight(l, "\r\n"))
				}
				o.mu.Lock()
				o.headers = append(o.headers, lines)
				o.mu.Unlock()
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nokSTRAY BYTES FROM THE ORIGIN")
				time.Sleep(2 * time.Second) // kept alive, for the stray bytes to be seen
			}()
		}
	}()
	return o
}

func (o *headerOrigin) requests() [][]string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([][]string(nil), o.headers...)
}

// startTinyproxy runs the real tinyproxy on a free port with upstream as
// its HTTP upstream proxy, adding its Via header and X-Tinyproxy (the
// client's address), as a Whonix or Qubes gateway in front of depot's
// proxy would.
func startTinyproxy(t *testing.T, upstream string) string {
	t.Helper()
	testtool.Need(t, "tinyproxy")
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	dir := t.TempDir()
	conf := fmt.Sprintf("Port %s\nListen 127.0.0.1\nTimeout 30\nLogLevel Critical\nLogFile \"/dev/null\"\nAllow 127.0.0.1\nViaProxyName \"sys-whonix\"\nXTinyproxy Yes\nUpstream http %s\n", port, upstream)
	if os.Geteuid() == 0 {
		conf = "User nobody\nGroup nogroup\n" + conf
	}
	file := filepath.Join(dir, "tinyproxy.conf")
	writeFile(t, file, []byte(conf))
	cmd := exec.Command("tinyproxy", "-d", "-c", file)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-exited })
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return addr
		}
		select {
		case <-exited:
			t.Fatalf("tinyproxy exited:\n%s", out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("tinyproxy did not listen on %s within 10s:\n%s", addr, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestProxyQuietBehindTinyproxy: curl → tinyproxy (adding Via: 1.1
// sys-whonix and X-Tinyproxy with the client's address) → depot proxy with
// log = false → an origin. The origin receives neither header, nor
// anything apt and dnf do not need; and depot proxy writes nothing about
// the requests, not even to stderr, when the origin misbehaves or a
// destination is down.
func TestProxyQuietBehindTinyproxy(t *testing.T) {
	testtool.Need(t, "curl")
	origin := startHeaderOrigin(t)
	_, originPort, _ := net.SplitHostPort(origin.Addr)
	dead := freeAddr(t) // nothing listens there
	_, deadPort, _ := net.SplitHostPort(dead)
	d, proxyAddr, _ := startProxyLogged(t, false, "", nil, "localhost:"+originPort, "localhost:"+deadPort)
	startLines := d.Output()
	tiny := startTinyproxy(t, proxyAddr)

	out := runOK(t, ".", "curl", "-sS", "--fail", "-x", "http://"+tiny, "-A", "Debian APT-HTTP/1.3 (2.6.1)",
		"-H", "X-Forwarded-For: 10.137.0.12", "http://localhost:"+originPort+"/dists/bookworm/InRelease")
	if out != "ok" {
		t.Errorf("curl through tinyproxy and depot proxy got %q, want ok", out)
	}
	runErr(".", "curl", "-sS", "--fail", "-x", "http://"+tiny, "http://localhost:"+deadPort+"/secret/down")

	reqs := origin.requests()
	if len(reqs) != 1 {
		t.Fatalf("origin got %d requests, want 1", len(reqs))
	}
	sawVia := false
	for _, h := range reqs[0][1:] {
		name, _, _ := strings.Cut(h, ":")
		switch strings.ToLower(name) {
		case "host", "user-agent", "accept", "accept-encoding":
		default:
			t.Errorf("origin received %q", h)
		}
		sawVia = sawVia || strings.EqualFold(name, "via")
	}
	if sawVia {
		t.Error("tinyproxy's Via (naming sys-whonix) reached the origin")
	}
	d.Stop(t)
	if more := strings.TrimPrefix(d.Output(), startLines); strings.TrimSpace(more) != "depot: proxy stopped" {
		t.Errorf("depot proxy with log = false wrote while serving:\n%s", more)
	}
}

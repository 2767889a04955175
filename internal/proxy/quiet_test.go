package proxy

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"depot/internal/config"
)

// misbehaving starts a TCP server that answers each connection with
// answer (then closes it, unless hold).
func misbehaving(t *testing.T, answer string, hold bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				br := bufio.NewReader(c)
				for {
					line, err := br.ReadString('\n')
					if err != nil || line == "\r\n" {
						break
					}
				}
				io.WriteString(c, answer)
				if hold {
					time.Sleep(2 * time.Second)
				}
				c.Close()
			}()
		}
	}()
	return ln.Addr().String()
}

// TestNothingWrittenWhenUpstreamsFail: with log = false the proxy writes
// nothing per request to its error writer (stderr in depot), also when
// destinations fail in every way. (net/http's client also writes a
// destination's stray bytes to the standard logger, which depot's main
// discards: e2e's TestProxyQuietBehindTinyproxy checks the binary.)
func TestNothingWrittenWhenUpstreamsFail(t *testing.T) {
	dead := func() string {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		a := ln.Addr().String()
		ln.Close()
		return a
	}()
	garbage := misbehaving(t, "SSH-2.0-OpenSSH_9.2\r\n", false)
	cut := misbehaving(t, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial", false)
	unsolicited := misbehaving(t, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA BYTES", true)
	silent := misbehaving(t, "", true)
	cfg := testConfig(dead, garbage, cut, unsolicited, silent)
	cfg.DialTimeout = config.Duration(500 * time.Millisecond)
	for _, log := range []bool{false, true} {
		errs := &countingWriter{}
		cfg.Log = log
		addr := startProxy(t, cfg, Options{Errors: errs, Log: io.Discard})
		for _, dst := range []string{dead, garbage, cut, unsolicited, silent} {
			raw(t, addr, "GET http://"+dst+"/secret/path HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		}
		raw(t, addr, "CONNECT "+dead+" HTTP/1.1\r\nHost: x\r\n\r\n") // a tunnel that cannot open
		switch {
		case !log && errs.writes() != 0:
			t.Errorf("log = false, yet the error writer got:\n%s", errs)
		case log && !strings.Contains(errs.String(), "/secret/path"):
			// The control: the same failures are reported when asked.
			t.Errorf("log = true: the error writer got %q, want the failures", errs)
		}
	}
}

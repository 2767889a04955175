package proxy

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"depot/internal/config"
)

// TestIdleClientsDoNotHoldSlots reproduces the report: 256 connections
// that sent OPTIONS * (answered, then idle), nothing at all, or one
// finished request, blocked the proxy for minutes. With every slot taken
// that way, a new client must still be served at once, with the default
// header and idle timeouts (10 s and 2 min, far beyond the probe's wait).
func TestIdleClientsDoNotHoldSlots(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "x") })
	cfg := testConfig(o.Addr)
	cfg.MaxConnections = config.DefaultProxyMaxConnections
	cfg.HeaderTimeout = config.DefaultProxyHeaderTimeout
	cfg.IdleTimeout = config.DefaultProxyIdleTimeout
	addr := startProxy(t, cfg, Options{})

	var held []net.Conn
	t.Cleanup(func() {
		for _, c := range held {
			c.Close()
		}
	})
	dial := func() net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
		return c
	}
	answered := func(c net.Conn, req string) {
		t.Helper()
		io.WriteString(c, req)
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%q: %v", req, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	third := cfg.MaxConnections / 3
	for i := range cfg.MaxConnections {
		c := dial()
		switch {
		case i < third:
			// OPTIONS *: refused; the connection stays open on the
			// client's side.
			io.WriteString(c, "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n")
		case i < 2*third:
			answered(c, "GET http://"+o.Addr+"/ HTTP/1.1\r\nHost: x\r\n\r\n") // then idle, kept alive
		default:
			// nothing at all
		}
	}
	probe := proxyClient(addr)
	probe.Timeout = 5 * time.Second
	for i := range 3 {
		resp, err := probe.Get("http://" + o.Addr + "/probe")
		if err != nil {
			t.Fatalf("probe %d with %d idle connections open: %v", i, len(held), err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("probe %d: %s", i, resp.Status)
		}
	}
}

// TestSlotsReclaimOnlyIdle: when every slot is taken, Accept takes the
// slot of the longest-idle connection that has sent nothing since it
// became idle, and never one in the middle of a request or a tunnel; with
// none idle it waits for a slot to free.
func TestSlotsReclaimOnlyIdle(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := newSlots(ln, 3)
	defer s.Close()
	accept := func() (*slotConn, net.Conn) {
		t.Helper()
		client, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { client.Close() })
		c, err := s.Accept()
		if err != nil {
			t.Fatal(err)
		}
		s.connState(c, http.StateNew)
		return c.(*slotConn), client
	}
	reading, readingClient := accept() // a request under way: bytes read
	io.WriteString(readingClient, "GET http://x/ HTTP/1.1\r\n")
	if _, err := reading.Read(make([]byte, 8)); err != nil {
		t.Fatal(err)
	}
	tunnel, _ := accept() // a CONNECT tunnel
	s.connState(tunnel, http.StateActive)
	s.connState(tunnel, http.StateHijacked)
	idle, _ := accept() // a finished request, kept alive
	s.connState(idle, http.StateActive)
	s.connState(idle, http.StateIdle)

	// Full: the fourth connection takes the idle one's slot.
	got := make(chan net.Conn)
	go func() {
		c, err := s.Accept()
		if err != nil {
			t.Error(err)
		}
		got <- c
	}()
	fourth, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer fourth.Close()
	// The reclaimed connection is closed under its server; its server
	// then closes it, which frees the slot.
	if _, err := idle.Conn.Read(make([]byte, 1)); err == nil {
		t.Fatal("the idle connection was not closed")
	}
	idle.Close()
	var c4 net.Conn
	select {
	case c4 = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("Accept did not return after reclaiming the idle slot")
	}
	s.connState(c4, http.StateNew)
	s.connState(c4, http.StateActive) // busy from now on

	// Full again, nothing idle: a fifth waits until a slot frees.
	go func() {
		c, err := s.Accept()
		if err != nil {
			t.Error(err)
		}
		got <- c
	}()
	fifth, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer fifth.Close()
	select {
	case <-got:
		t.Fatal("a connection was accepted by taking a busy one's slot")
	case <-time.After(200 * time.Millisecond):
	}
	for _, c := range []*slotConn{reading, tunnel} {
		c.SetReadDeadline(time.Now())
		if _, err := c.Conn.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("a busy connection was closed: %v", err)
		}
	}
	tunnel.Close()
	select {
	case <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("Accept did not return after a slot freed")
	}
}

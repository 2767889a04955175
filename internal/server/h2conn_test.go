package server

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"depot/internal/certs/certstest"
)

// gatedConn is the server's side of a TCP connection whose writes can be
// held back (a client that reads nothing, for as long as the test wants)
// and are counted.
type gatedConn struct {
	net.Conn
	held    atomic.Bool   // writes wait for gate
	gate    chan struct{} // closed to let them go
	waiting atomic.Int32  // writes waiting for gate now
	writes  atomic.Int64
}

func (c *gatedConn) Write(p []byte) (int, error) {
	if c.held.Load() {
		c.waiting.Add(1)
		<-c.gate
		c.waiting.Add(-1)
	}
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// h2Pair is an h2Conn over TLS over loopback TCP, with its client's end.
func h2Pair(t *testing.T) (*h2Conn, *gatedConn, *tls.Conn) {
	t.Helper()
	cert := certstest.Write(t, t.TempDir(), "cert", certstest.Options{})
	pair, err := tls.LoadX509KeyPair(cert.CertFile, cert.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	rawClient, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	client := tls.Client(rawClient, &tls.Config{RootCAs: cert.Pool, ServerName: "localhost"})
	raw := <-accepted
	if raw == nil {
		t.Fatal("accept failed")
	}
	gc := &gatedConn{Conn: raw, gate: make(chan struct{})}
	server := tls.Server(gc, &tls.Config{Certificates: []tls.Certificate{pair}})
	errc := make(chan error, 1)
	go func() { errc <- client.Handshake() }()
	if err := server.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return newH2Conn(server), gc, client
}

// TestH2ConnGathersWrites: writes that arrive while the writer is busy
// leave together, in order and whole.
func TestH2ConnGathersWrites(t *testing.T) {
	h, gc, client := h2Pair(t)
	got := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(client)
		got <- b
	}()
	gc.held.Store(true) // the first write waits, as on a busy socket
	before := gc.writes.Load()
	var want bytes.Buffer
	wrote := make(chan error, 1)
	go func() {
		for i := range 200 {
			p := bytes.Repeat([]byte{byte('a' + i%26)}, 100+i)
			want.Write(p)
			if n, err := h.Write(p); n != len(p) || err != nil {
				wrote <- fmt.Errorf("write %d: %d, %v", i, n, err)
				return
			}
		}
		wrote <- nil
	}()
	// Every Write returns while the socket takes nothing.
	select {
	case err := <-wrote:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		close(gc.gate)
		t.Fatal("Write waits for the socket")
	}
	close(gc.gate)
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if b := <-got; !bytes.Equal(b, want.Bytes()) {
		t.Fatalf("the client read %d bytes, not the %d written in order", len(b), want.Len())
	}
	// 200 writes, 30 KB: the first alone, then the rest gathered in one
	// TLS write, and close_notify. A new connection's records start at
	// one segment and grow (crypto/tls's dynamic record sizing), so the
	// gathered write is a few records, each a socket write.
	if n := gc.writes.Load() - before; n > 20 {
		t.Errorf("%d writes on the socket for 200 gathered ones, want at most 20", n)
	}
}

// TestH2ConnHoldsAtMostItsLimit: to a client that reads nothing, Write
// blocks once h2Pending bytes wait, and goes on when the client reads.
func TestH2ConnHoldsAtMostItsLimit(t *testing.T) {
	h, gc, client := h2Pair(t)
	gc.held.Store(true)
	const chunk, total = 4 << 10, 1 << 20
	var accepted atomic.Int64
	done := make(chan error, 1)
	go func() {
		p := make([]byte, chunk)
		for accepted.Load() < total {
			if _, err := h.Write(p); err != nil {
				done <- err
				return
			}
			accepted.Add(chunk)
		}
		done <- nil
	}()
	// Wait until the writer waits at the gate with what it took, and a
	// Write waits for room (or the test's deadline). A Write can wait
	// before the writer first runs; the writer then takes what is pending
	// and wakes it, so only both waiting is the steady state.
	deadline := time.Now().Add(10 * time.Second)
	for (gc.waiting.Load() == 0 || !writeWaits()) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	// The writer holds what it took (its write waits at the gate), at
	// most h2Pending and a chunk; pending as much again.
	if n, most := accepted.Load(), int64(2*(h2Pending+chunk)); gc.waiting.Load() == 0 || !writeWaits() || n < h2Pending || n > most {
		t.Fatalf("%d bytes accepted from a client that reads nothing, want a Write waiting after %d to %d", n, h2Pending, most)
	}
	close(gc.gate)
	read := make(chan int64)
	go func() {
		n, _ := io.Copy(io.Discard, client)
		read <- n
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	h.Close()
	if n := <-read; n != total {
		t.Errorf("the client read %d bytes, want %d", n, total)
	}
}

// writeWaits reports whether a goroutine waits for room in h2Conn.Write.
func writeWaits() bool {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if strings.Contains(g, "sync.(*Cond).Wait") && strings.Contains(g, "(*h2Conn).Write(") {
			return true
		}
	}
	return false
}

// TestH2ConnWriteErrorSticks: once the socket fails, every Write fails,
// and the connection is closed so that its reader stops too.
func TestH2ConnWriteErrorSticks(t *testing.T) {
	h, gc, _ := h2Pair(t)
	gc.Conn.Close() // the socket fails under the writer
	var err error
	deadline := time.Now().Add(10 * time.Second)
	for err == nil && time.Now().Before(deadline) {
		_, err = h.Write([]byte("frame"))
		if err == nil {
			h.mu.Lock()
			for h.writing {
				h.cond.Wait()
			}
			h.mu.Unlock()
		}
	}
	if err == nil {
		t.Fatal("writes go on succeeding on a closed socket")
	}
	if _, again := h.Write([]byte("more")); !errors.Is(again, err) {
		t.Errorf("a later write returned %v, want the first error %v", again, err)
	}
	if _, rerr := h.Read(make([]byte, 1)); rerr == nil {
		t.Error("the connection reads on after a write error")
	}
}

// TestH2ConnConcurrentWriters: net/http's HTTP/2 server writes from one
// goroutine at a time, but nothing must tear if two write at once.
func TestH2ConnConcurrentWriters(t *testing.T) {
	h, _, client := h2Pair(t)
	got := make(chan int)
	go func() {
		n, _ := io.Copy(io.Discard, client)
		got <- int(n)
	}()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 500 {
				h.Write(make([]byte, 1000))
			}
		})
	}
	wg.Wait()
	h.Close()
	if n := <-got; n != 4*500*1000 {
		t.Errorf("the client read %d bytes, want %d", n, 4*500*1000)
	}
}

// TestHTTP2ManyStreamsAtOnce: 300 streams at once on few HTTP/2
// connections (128 each), small files and large ones, each get their
// whole body, and each is logged.
func TestHTTP2ManyStreamsAtOnce(t *testing.T) {
	ts, _, tc := startTLS(t, Options{})
	files := map[string][]byte{}
	for i := range 8 {
		name := fmt.Sprintf("f%d.xml", i)
		files[name] = bytes.Repeat([]byte{byte('a' + i)}, 1000*(i+1))
		writeTree(t, ts.root, map[string]string{name: string(files[name])})
	}
	files["large.bin"] = bytes.Repeat([]byte("0123456789abcdef"), 256<<10) // 4 MiB
	writeTree(t, ts.root, map[string]string{"large.bin": string(files["large.bin"])})
	client := h2Client(tc.RootCAs)
	defer client.CloseIdleConnections()
	// One connection first, so that the others ride on it.
	if resp, err := client.Get("https://" + ts.clearnet + "/f0.xml"); err != nil || resp.ProtoMajor != 2 {
		t.Fatalf("%v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	const n = 300
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		name := fmt.Sprintf("f%d.xml", i%8)
		if i%100 == 0 {
			name = "large.bin"
		}
		wg.Go(func() {
			resp, err := client.Get("https://" + ts.clearnet + "/" + name)
			if err != nil {
				errs <- err
				return
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.ProtoMajor != 2 || !bytes.Equal(b, files[name]) {
				errs <- fmt.Errorf("%s: %s, %d of %d bytes, %v", name, resp.Proto, len(b), len(files[name]), err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	access := ts.readLog(t, "access.log")
	if got := strings.Count(access, " HTTP/2.0\" 200 "); got != n+1 {
		t.Errorf("access.log has %d HTTP/2 lines of 200, want %d", got, n+1)
	}
}

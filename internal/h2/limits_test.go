package h2

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

func TestMaxConcurrentStreams(t *testing.T) {
	g := newGate()
	c := serveRaw(t, &Server{Handler: g, MaxConcurrentStreams: 2})
	c.handshake()
	c.request(1, "GET", "/wait", true)
	c.request(3, "GET", "/wait", true)
	c.request(5, "GET", "/wait", true)
	if r := c.response(5); !r.rst || r.code != http2.ErrCodeRefusedStream {
		t.Fatalf("a third stream of 2: %+v, want REFUSED_STREAM", r)
	}
	close(g.release)
	for _, id := range []uint32{1, 3} {
		if r := c.response(id); r.status != "200" {
			t.Fatalf("stream %d: %+v", id, r)
		}
	}
	if r := c.get(7, "/"); r.status != "200" {
		t.Fatalf("a stream once the others ended: %+v", r)
	}
}

// stubborn is a handler that ignores its request's context: it returns
// only once released.
type stubborn struct {
	release chan struct{}
	running atomic.Int32
}

func (h *stubborn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/wait" {
		h.running.Add(1)
		defer h.running.Add(-1)
		<-h.release
	}
	io.WriteString(w, "ok")
}

// Rapid reset (CVE-2023-44487): a client opens and resets streams as
// fast as it can, each handler running on. Handlers, and so goroutines,
// stay bounded by MaxConcurrentStreams; the server answers on.
func TestRapidResetBounded(t *testing.T) {
	const limit = 20
	h := &stubborn{release: make(chan struct{})}
	c := serveRaw(t, &Server{Handler: h, MaxConcurrentStreams: limit})
	c.handshake()
	before := runtime.NumGoroutine()
	peak := 0
	id := uint32(1)
	for i := range 5000 {
		c.request(id, "GET", "/wait", true)
		c.write(func(f *http2.Framer) error { return f.WriteRSTStream(id, http2.ErrCodeCancel) })
		id += 2
		if i%250 == 0 {
			c.sync()
			peak = max(peak, runtime.NumGoroutine()-before)
		}
	}
	c.sync()
	peak = max(peak, runtime.NumGoroutine()-before)
	if got := h.running.Load(); got > limit {
		t.Errorf("%d handlers running, want at most %d", got, limit)
	}
	// Handlers, and a few of the test's and the runtime's.
	if peak > limit+10 {
		t.Errorf("goroutines grew by %d, want at most about %d", peak, limit)
	}
	close(h.release)
	waitUntil(t, "the handlers' end", func() bool { return h.running.Load() == 0 })
	// A stream may still be refused while the last handlers return.
	if r := c.getRefused(id, "/"); r.status != "200" {
		t.Fatalf("after the flood: %+v", r)
	}
}

// A header block that never ends (CONTINUATION frames without
// END_HEADERS, CVE-2024-27316) ends the connection once it passes the
// header list limit, before the server reads much more.
func TestContinuationFloodEndsConnection(t *testing.T) {
	const limit = 4096
	c := servePipe(t, &Server{Handler: echo, MaxHeaderBytes: limit})
	c.handshake()
	b := c.block(":method", "GET", ":scheme", "https", ":authority", "example.com", ":path", "/")
	c.write(func(f *http2.Framer) error {
		return f.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: b, EndStream: true})
	})
	frames := 0
	for ; frames < 1000; frames++ {
		frag := c.block("x-flood", strings.Repeat("y", 1000))
		c.nc.SetWriteDeadline(time.Now().Add(waitTime))
		if err := c.tryWrite(func(f *http2.Framer) error { return f.WriteContinuation(1, false, frag) }); err != nil {
			break
		}
	}
	// The pipe passes a frame only once the server reads it.
	if frames > 2*limit/1000+2 {
		t.Errorf("the server read %d CONTINUATION frames of 1000 bytes past a limit of %d", frames, limit)
	}
	c.connError(http2.ErrCodeProtocol)
}

func TestHeaderListTooLarge(t *testing.T) {
	c := serveRaw(t, &Server{Handler: echo, MaxHeaderBytes: 1000})
	c.handshake()
	// Fields of 400 bytes: one longer than the limit is an HPACK
	// error, which ends the connection (as in x/net's server).
	v := strings.Repeat("a", 400)
	c.request(1, "GET", "/", true, "x-a", v, "x-b", v, "x-c", v, "x-d", v)
	if r := c.response(1); r.status != "431" || !r.ended {
		t.Fatalf("a header list past the limit: %+v, want 431", r)
	}
	if r := c.get(3, "/"); r.status != "200" {
		t.Fatalf("the next stream: %+v", r)
	}
}

// TestRefusedLearnsOfRefusedRequests: Refused hears of a header list past
// the limit (431, with the body's size) and of a malformed request (400,
// nothing sent), with the pseudo-header fields as received; not of a
// request a handler answered.
func TestRefusedLearnsOfRefusedRequests(t *testing.T) {
	type refusal struct {
		method, path string
		status       int
		body         int64
	}
	var mu sync.Mutex
	var got []refusal
	s := &Server{Handler: echo, MaxHeaderBytes: 1000,
		Refused: func(ctx context.Context, remote net.Addr, method, path string, status int, body int64) {
			if remote == nil || ctx == nil {
				t.Errorf("Refused(%v, %v, ...)", ctx, remote)
			}
			mu.Lock()
			got = append(got, refusal{method, path, status, body})
			mu.Unlock()
		}}
	c := serveRaw(t, s)
	c.handshake()
	v := strings.Repeat("a", 400)
	c.request(1, "GET", "/big", true, "x-a", v, "x-b", v, "x-c", v)
	if r := c.response(1); r.status != "431" || !r.ended {
		t.Fatalf("a header list past the limit: %+v, want 431", r)
	}
	c.headers(3, true, ":method", "GET", ":authority", "example.com", ":path", "/no-scheme")
	c.waitFor("RST_STREAM of stream 3", func(f frame) bool { return f.typ == http2.FrameRSTStream && f.stream == 3 })
	if r := c.get(5, "/"); r.status != "200" {
		t.Fatalf("the next stream: %+v", r)
	}
	want := []refusal{{"GET", "/big", 431, int64(len(tooLargeBody))}, {"GET", "/no-scheme", 400, 0}}
	waitUntil(t, "two refusals", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) >= 2 })
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(got, want) {
		t.Errorf("Refused heard %+v, want %+v", got, want)
	}
}

// deadlineConn is a connection whose every write must be done within d,
// as a server's transport would set.
type deadlineConn struct {
	net.Conn
	d time.Duration
}

func (c deadlineConn) Write(p []byte) (int, error) {
	c.SetWriteDeadline(time.Now().Add(c.d))
	return c.Conn.Write(p)
}

// A client that sends PINGs or SETTINGS and never reads the answers: the
// server stops reading once its writes block (nothing piles up), and a
// transport's write deadline ends the connection.
func TestFloodsOfAClientThatDoesNotRead(t *testing.T) {
	for _, tt := range []struct {
		name  string
		frame func(f *http2.Framer) error
	}{
		{"PING", func(f *http2.Framer) error { return f.WritePing(false, [8]byte{1}) }},
		{"SETTINGS", func(f *http2.Framer) error {
			return f.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1000})
		}},
		{"RST_STREAM of closed streams", func(f *http2.Framer) error { return f.WriteData(1, false, nil) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cc, sc := loopbackPair(t)
			// Small buffers, so that the server's writes block soon.
			cc.(*net.TCPConn).SetReadBuffer(4096)
			sc.(*net.TCPConn).SetWriteBuffer(4096)
			c := newRawClient(t, &Server{Handler: echo}, cc, deadlineConn{sc, 200 * time.Millisecond})
			c.writePreface()
			c.write(func(f *http2.Framer) error { return f.WriteSettings() })
			if tt.name == "RST_STREAM of closed streams" {
				c.request(1, "GET", "/", true)
			}
			// Frames are written 1000 at a time.
			var batch bytes.Buffer
			bf := http2.NewFramer(&batch, nil)
			for range 1000 {
				tt.frame(bf)
			}
			written := 0
			for {
				cc.SetWriteDeadline(time.Now().Add(waitTime))
				n, err := cc.Write(batch.Bytes())
				written += n
				if err != nil {
					if errors.Is(err, os.ErrDeadlineExceeded) {
						t.Fatalf("the server neither read nor closed the connection: after %d bytes: %v", written, err)
					}
					break // the server closed the connection
				}
			}
			select {
			case <-c.served:
			case <-time.After(waitTime):
				t.Fatal("ServeConn did not end on its write deadline")
			}
			// What the kernel's buffers hold, at most, both ways.
			if written > 64<<20 {
				t.Errorf("the server read %d bytes of a client that read nothing", written)
			}
		})
	}
}

func TestZeroLengthDataFlood(t *testing.T) {
	c := serveRaw(t, &Server{Handler: echo})
	c.handshake()
	c.request(1, "POST", "/", false)
	for range 20000 {
		c.data(1, false, nil)
	}
	c.data(1, true, []byte("end"))
	if r := c.response(1); r.status != "200" || string(r.body) != "POST / end" {
		t.Fatalf("after 20000 empty DATA frames: %+v", r)
	}
	c.mu.Lock()
	n := len(c.frames)
	c.mu.Unlock()
	if n > 20 {
		t.Fatalf("the server sent %d frames for 20000 empty DATA frames", n)
	}
}

func TestEmptyHeadersFlood(t *testing.T) {
	c := serveRaw(t, &Server{Handler: echo})
	c.handshake()
	before := runtime.NumGoroutine()
	id := uint32(1)
	for range 5000 {
		c.headers(id, true)
		id += 2
	}
	c.sync()
	if grown := runtime.NumGoroutine() - before; grown > 10 {
		t.Errorf("goroutines grew by %d", grown)
	}
	if r := c.get(id, "/"); r.status != "200" {
		t.Fatalf("after the flood: %+v", r)
	}
}

// Many streams at once, each with a body, in both directions (run with
// -race).
func TestManyStreamsWithBodies(t *testing.T) {
	c := serveRaw(t, &Server{Handler: echo, MaxConcurrentStreams: 200})
	c.handshake()
	const n = 150
	var wg sync.WaitGroup
	b := newBodySender(c)
	for i := range n {
		id := uint32(2*i + 1)
		c.request(id, "POST", "/", false)
	}
	for i := range n {
		id := uint32(2*i + 1)
		b.send(id, 300, 100, 0, true)
	}
	for i := range n {
		id := uint32(2*i + 1)
		wg.Go(func() {
			r := c.response(id)
			if want := "POST / " + strings.Repeat("b", 300); r.status != "200" || string(r.body) != want {
				t.Errorf("stream %d: %s %q", id, r.status, r.body)
			}
		})
	}
	wg.Wait()
}

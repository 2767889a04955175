package h2

import (
	"bytes"
	"errors"
	"io"
	"log"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// gate is a handler that answers /wait once released (and every other
// path at once), counting the requests it holds.
type gate struct {
	release chan struct{}
	held    atomic.Int32
}

func newGate() *gate { return &gate{release: make(chan struct{})} }

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/wait" {
		g.held.Add(1)
		select {
		case <-g.release:
		case <-r.Context().Done():
			return
		}
	}
	io.WriteString(w, "done "+r.URL.Path)
}

func TestShutdownLetsStreamsFinish(t *testing.T) {
	g := newGate()
	s := &Server{Handler: g}
	c := serveRaw(t, s)
	c.handshake()
	c.request(1, "GET", "/wait", true)
	c.request(3, "GET", "/wait", true)
	waitUntil(t, "two requests held", func() bool { return g.held.Load() == 2 })
	s.Shutdown()
	ga := c.goAway()
	if ga.code != http2.ErrCodeNo || ga.last != 3 {
		t.Fatalf("GOAWAY %v last %d, want NO_ERROR last 3", ga.code, ga.last)
	}
	c.request(5, "GET", "/", true) // past the GOAWAY: ignored
	if got := c.sync(); len(got) != 0 {
		t.Fatalf("after the GOAWAY, stream 5 got %v", frameList(got))
	}
	close(g.release)
	for _, id := range []uint32{1, 3} {
		if r := c.response(id); r.status != "200" || string(r.body) != "done /wait" {
			t.Fatalf("stream %d: %+v", id, r)
		}
	}
	for _, f := range c.closed() {
		if f.stream == 5 {
			t.Errorf("stream 5, past the GOAWAY, got %v", f)
		}
	}
	select {
	case <-c.served:
	case <-time.After(waitTime):
		t.Fatal("ServeConn did not return once its streams were answered")
	}
}

// A connection whose client reads nothing holds its serve goroutine in a
// write: Shutdown must still return, and reach the other connections.
func TestShutdownNotHeldByAStuckConnection(t *testing.T) {
	s := &Server{Handler: echo}
	stuck := servePipe(t, s)
	// Once read, the preface is answered with the server's SETTINGS,
	// which the client does not read: the serve goroutine waits in that
	// write, holding the connection's lock.
	stuck.writePreface()
	other := serveRaw(t, s)
	other.handshake()
	done := make(chan struct{})
	go func() { s.Shutdown(); close(done) }()
	select {
	case <-done:
	case <-time.After(waitTime):
		t.Fatal("Shutdown did not return")
	}
	if ga := other.goAway(); ga.code != http2.ErrCodeNo {
		t.Fatalf("GOAWAY %v", ga.code)
	}
	other.closed()
}

// Connections served after a Shutdown, or whose preface had not come
// when it began, get the server's SETTINGS first, then the GOAWAY.
func TestShutdownBeforePreface(t *testing.T) {
	s := &Server{Handler: echo}
	early := serveRaw(t, s)
	waitUntil(t, "the connection tracked", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.conns) == 1
	})
	s.Shutdown()
	late := serveRaw(t, s)
	late.writePreface()
	late.write(func(f *http2.Framer) error { return f.WriteSettings() })
	for name, c := range map[string]*rawClient{"before": early, "after": late} {
		c.startReading()
		frames := c.closed()
		if len(frames) > 0 && frames[0].typ != http2.FrameSettings {
			t.Errorf("connection begun %s Shutdown: first frame %v, want SETTINGS", name, frames[0])
		}
	}
}

// Every later GOAWAY names no more streams than the first (RFC 9113
// §6.8): the streams past the first were ignored.
func TestGoAwayLastStreamNeverGrows(t *testing.T) {
	g := newGate()
	s := &Server{Handler: g}
	c := serveRaw(t, s)
	c.handshake()
	c.request(1, "GET", "/wait", true)
	waitUntil(t, "a request held", func() bool { return g.held.Load() == 1 })
	s.Shutdown()
	if ga := c.goAway(); ga.last != 1 {
		t.Fatalf("GOAWAY last %d, want 1", ga.last)
	}
	c.request(3, "GET", "/", true)
	c.request(5, "GET", "/", true)
	c.write(func(f *http2.Framer) error { return f.WriteRawFrame(http2.FramePing, 0, 0, make([]byte, 7)) })
	ga := c.goAway()
	if ga.code != http2.ErrCodeFrameSize || ga.last != 1 {
		t.Fatalf("second GOAWAY %v last %d, want FRAME_SIZE_ERROR last 1", ga.code, ga.last)
	}
	close(g.release)
}

func TestIdleTimeout(t *testing.T) {
	g := newGate()
	s := &Server{Handler: g, IdleTimeout: 50 * time.Millisecond}
	t.Run("idle", func(t *testing.T) {
		c := serveRaw(t, s)
		c.handshake()
		if r := c.get(1, "/"); r.status != "200" {
			t.Fatalf("stream 1: %+v", r)
		}
		ga := c.goAway()
		if ga.code != http2.ErrCodeNo || ga.last != 1 {
			t.Fatalf("GOAWAY %v last %d, want NO_ERROR last 1", ga.code, ga.last)
		}
		c.closed()
	})
	t.Run("a stream open", func(t *testing.T) {
		c := serveRaw(t, s)
		c.handshake()
		c.request(1, "GET", "/wait", true)
		waitUntil(t, "a request held", func() bool { return g.held.Load() == 1 })
		// Another connection, idle from now on, timing out proves the
		// idle timeout passed since the stream opened.
		other := serveRaw(t, s)
		other.handshake()
		other.goAway()
		other.closed()
		if got := c.sync(); len(got) != 0 {
			t.Fatalf("with a stream open, past the idle timeout: %v", frameList(got))
		}
		close(g.release)
		if r := c.response(1); r.status != "200" {
			t.Fatalf("stream 1: %+v", r)
		}
		c.goAway() // idle again: the timeout runs anew
	})
}

func TestClientGoAway(t *testing.T) {
	g := newGate()
	c := serveRaw(t, &Server{Handler: g})
	c.handshake()
	c.request(1, "GET", "/wait", true)
	waitUntil(t, "a request held", func() bool { return g.held.Load() == 1 })
	c.write(func(f *http2.Framer) error { return f.WriteGoAway(1, http2.ErrCodeNo, nil) })
	c.sync()
	close(g.release)
	if r := c.response(1); r.status != "200" || string(r.body) != "done /wait" {
		t.Fatalf("stream 1 after the client's GOAWAY: %+v", r)
	}
	c.closed()
}

// A client that leaves mid-response: the handler's writes fail, and
// ServeConn returns only once it returned.
func TestClientLeavesMidResponse(t *testing.T) {
	var werr error
	var returned atomic.Bool
	c := serveRaw(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer returned.Store(true)
		chunk := bytes.Repeat([]byte("x"), 32<<10)
		for {
			if _, werr = w.Write(chunk); werr != nil {
				return
			}
		}
	})})
	c.handshake(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1000})
	c.request(1, "GET", "/", true)
	c.received(1, 1000) // the handler waits for window now
	c.nc.Close()
	select {
	case <-c.served:
	case <-time.After(waitTime):
		t.Fatal("ServeConn did not return")
	}
	if !returned.Load() {
		t.Fatal("ServeConn returned before the handler")
	}
	if werr == nil {
		t.Fatal("the handler's write did not fail")
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func TestHandlerPanic(t *testing.T) {
	var logged syncBuffer
	c := serveRaw(t, &Server{ErrorLog: log.New(&logged, "", 0), Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/panic":
			io.WriteString(w, "half")
			w.(http.Flusher).Flush()
			panic("boom")
		case "/abort":
			panic(http.ErrAbortHandler)
		}
		io.WriteString(w, "fine")
	})})
	c.handshake()
	c.request(1, "GET", "/slow", false) // open while another panics
	for _, tt := range []struct {
		id   uint32
		path string
	}{{3, "/panic"}, {5, "/abort"}} {
		c.request(tt.id, "GET", tt.path, true)
		if r := c.response(tt.id); !r.rst || r.code != http2.ErrCodeInternal {
			t.Errorf("%s: %+v, want RST_STREAM INTERNAL_ERROR", tt.path, r)
		}
	}
	c.data(1, true, nil)
	if r := c.response(1); r.status != "200" || string(r.body) != "fine" {
		t.Errorf("the stream open beside the panics: %+v", r)
	}
	if r := c.get(7, "/"); r.status != "200" {
		t.Errorf("a stream after the panics: %+v", r)
	}
	log := logged.String()
	if !strings.Contains(log, "boom") || !strings.Contains(log, "goroutine") {
		t.Errorf("ErrorLog: %q, want the panic and its stack", log)
	}
	if strings.Count(log, "panic serving") != 1 {
		t.Errorf("ErrorLog: %q, want one panic (http.ErrAbortHandler is not logged)", log)
	}
}

func TestWriteAfterReset(t *testing.T) {
	errs := make(chan error, 1)
	c := serveRaw(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "first")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		var err error
		for range 100 {
			if _, err = w.Write(make([]byte, 4096)); err != nil {
				break
			}
		}
		errs <- err
	})})
	c.handshake()
	c.request(1, "GET", "/", true)
	c.waitFor("DATA", func(f frame) bool { return f.typ == http2.FrameData && f.stream == 1 })
	c.write(func(f *http2.Framer) error { return f.WriteRSTStream(1, http2.ErrCodeCancel) })
	select {
	case err := <-errs:
		if !errors.Is(err, ErrStreamReset) {
			t.Fatalf("writes after the reset: %v, want ErrStreamReset", err)
		}
	case <-time.After(waitTime):
		t.Fatal("the handler did not end")
	}
	for _, f := range c.sync() {
		if f.stream == 1 {
			t.Errorf("after the client's RST_STREAM: %v", f)
		}
	}
}

// Responses without a body end the stream with their HEADERS frame.
func TestResponsesWithoutBody(t *testing.T) {
	c := serveRaw(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/204":
			w.WriteHeader(http.StatusNoContent)
			if _, err := w.Write([]byte("x")); err != http.ErrBodyNotAllowed {
				panic(err)
			}
		case "/304":
			w.Header().Set("Etag", `"1"`)
			w.WriteHeader(http.StatusNotModified)
		case "/empty":
		default:
			io.WriteString(w, "twelve bytes")
		}
	})})
	c.handshake()
	id := uint32(1)
	for _, tt := range []struct{ method, path, status, length string }{
		{"HEAD", "/", "200", "12"},
		{"GET", "/204", "204", ""},
		{"GET", "/304", "304", ""},
		{"HEAD", "/empty", "200", ""},
		{"GET", "/empty", "200", "0"},
	} {
		c.request(id, tt.method, tt.path, true)
		r := c.response(id)
		if r.status != tt.status || len(r.frames) != 1 || !r.ended || r.header.Get("content-length") != tt.length {
			t.Errorf("%s %s: %s length %q frames %v, want %s length %q in one HEADERS frame", tt.method, tt.path, r.status, r.header.Get("content-length"), r.frames, tt.status, tt.length)
		}
		id += 2
	}
}

func TestDeclaredLength(t *testing.T) {
	errs := make(chan []error, 1)
	c := serveRaw(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "5")
		var got []error
		write := func(s string) {
			_, err := io.WriteString(w, s)
			got = append(got, err)
		}
		switch r.URL.Path {
		case "/short":
			write("hel")
		case "/long":
			write("hel")
			write("loooo")
			write("lo")
		case "/empty-write":
			write("hello")
			write("")
		case "/deleted":
			w.WriteHeader(200)
			w.Header().Del("Content-Length")
			write("hello")
		}
		errs <- got
	})})
	c.handshake()
	c.request(1, "GET", "/short", true)
	if r := c.response(1); r.ended || !r.rst {
		t.Errorf("a body shorter than declared: %+v, want a reset", r)
	}
	recv(t, errs)
	c.request(3, "GET", "/long", true)
	if r := c.response(3); !r.ended || string(r.body) != "hello" {
		t.Errorf("a body written past its length: %q ended %v", r.body, r.ended)
	}
	if got := recv(t, errs); got[0] != nil || got[1] != http.ErrContentLength || got[2] != nil {
		t.Errorf("writes past the length: %v, want nil, http.ErrContentLength, nil", got)
	}
	for _, tt := range []struct {
		id   uint32
		path string
	}{{5, "/empty-write"}, {7, "/deleted"}} {
		c.request(tt.id, "GET", tt.path, true)
		if got := recv(t, errs); got[0] != nil {
			t.Errorf("%s: %v", tt.path, got)
		}
		r := c.response(tt.id)
		if !r.ended || string(r.body) != "hello" || r.header.Get("content-length") != "5" {
			t.Errorf("%s: %+v", tt.path, r)
		}
		c.sync()
		if after := c.afterEnd(tt.id); len(after) > 0 {
			t.Errorf("%s: frames after END_STREAM: %v", tt.path, after)
		}
	}
}

// recv receives from ch, failing the test past waitTime.
func recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitTime):
		t.Fatalf("nothing received within %v", waitTime)
		panic("unreachable")
	}
}

func TestInformationalResponses(t *testing.T) {
	c := serveRaw(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "body")
	})})
	c.handshake()
	r := c.get(1, "/")
	if len(r.info) != 2 || r.info[0] != "103" || r.status != "200" || string(r.body) != "body" {
		t.Fatalf("got %v then %s %q, want 103 103 then 200 body", r.info, r.status, r.body)
	}
	if r.frames[0].endsStream() {
		t.Fatal("the 103 ended the stream")
	}
}

func TestSendTimeout(t *testing.T) {
	errs := make(chan error, 1)
	c := serveRaw(t, &Server{SendTimeout: 20 * time.Millisecond, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := w.Write(make([]byte, 100<<10))
		errs <- err
	})})
	c.handshake(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
	c.request(1, "GET", "/", true)
	select {
	case err := <-errs:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("the handler's write: %v, want os.ErrDeadlineExceeded", err)
		}
	case <-time.After(waitTime):
		t.Fatal("the handler's write did not time out")
	}
	if r := c.response(1); !r.rst {
		t.Fatalf("stream 1: %+v, want a reset", r)
	}
	c.write(func(f *http2.Framer) error {
		return f.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: maxWindow})
	})
	c.write(func(f *http2.Framer) error { return f.WriteWindowUpdate(0, 1<<20) })
	c.request(3, "GET", "/", true)
	if r := c.response(3); !r.ended || len(r.body) != 100<<10 {
		t.Fatalf("stream 3: %d bytes ended %v", len(r.body), r.ended)
	}
	<-errs
}

// The send timeout counts the time a response waits for the client's
// window, not the time its handler took to write (a slow upstream): a
// write that finds the window shut after a long pause waits for it.
func TestSendTimeoutCountsOnlyTheWait(t *testing.T) {
	const timeout = time.Second
	writing := make(chan struct{})
	errs := make(chan error, 1)
	c := serveRaw(t, &Server{SendTimeout: timeout, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(make([]byte, 100))
		w.(http.Flusher).Flush()
		time.Sleep(timeout + timeout/2) // the upstream's pause
		close(writing)
		_, err := w.Write(make([]byte, 100))
		errs <- err
	})})
	c.handshake(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 100})
	c.request(1, "GET", "/", true)
	c.received(1, 100)
	<-writing
	c.write(func(f *http2.Framer) error { return f.WriteWindowUpdate(1, 100) })
	if err := recv(t, errs); err != nil {
		t.Fatalf("the write after a pause: %v", err)
	}
	if r := c.response(1); !r.ended || len(r.body) != 200 {
		t.Fatalf("stream 1: %d bytes ended %v rst %v", len(r.body), r.ended, r.rst)
	}
}

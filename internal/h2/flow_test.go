package h2

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"

	"golang.org/x/net/http2"
)

// blockUntilDone answers once its stream is reset or its connection
// ends.
var blockUntilDone = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })

// bodyOf returns a handler that writes n bytes of 'x' (in one Write).
func bodyOf(n int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Write(bytes.Repeat([]byte("x"), n))
	}
}

// dataBytes is how many DATA bytes came on stream id (0: every stream).
func dataBytes(frames []frame, id uint32) int {
	n := 0
	for _, f := range frames {
		if f.typ == http2.FrameData && (id == 0 || f.stream == id) {
			n += len(f.data)
		}
	}
	return n
}

// received waits until the client has had want DATA bytes on stream id
// (0: on all), then checks, after a PING's round trip, that no more came.
func (c *rawClient) received(id uint32, want int) {
	c.t.Helper()
	waitUntil(c.t, fmt.Sprintf("%d DATA bytes on stream %d", want, id), func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return dataBytes(c.frames, id) >= want
	})
	c.sync()
	c.mu.Lock()
	got := dataBytes(c.frames, id)
	c.mu.Unlock()
	if got != want {
		c.t.Fatalf("stream %d: %d DATA bytes, want %d", id, got, want)
	}
}

func TestZeroInitialWindowHoldsDataUntilWindowUpdate(t *testing.T) {
	c := serveRaw(t, &Server{Handler: bodyOf(5)})
	c.handshake(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
	c.request(1, "GET", "/", true)
	h := c.waitFor("HEADERS", func(f frame) bool { return f.typ == http2.FrameHeaders && f.stream == 1 })
	if h.endsStream() {
		t.Fatalf("HEADERS ended the stream: %v", h)
	}
	c.received(1, 0)
	c.write(func(fr *http2.Framer) error { return fr.WriteWindowUpdate(1, 3) })
	c.received(1, 3)
	c.write(func(fr *http2.Framer) error { return fr.WriteWindowUpdate(1, 2) })
	r := c.response(1)
	if !r.ended || string(r.body) != "xxxxx" {
		t.Fatalf("response: %q ended %v, want xxxxx ended", r.body, r.ended)
	}
}

func TestInitialWindowSizeChangeAdjustsOpenStreams(t *testing.T) {
	c := serveRaw(t, &Server{Handler: bodyOf(100)})
	setWindow := func(v uint32) {
		c.write(func(fr *http2.Framer) error {
			return fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: v})
		})
	}
	c.handshake(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 10})
	c.request(1, "GET", "/", true)
	c.received(1, 10)
	setWindow(0) // the stream's window: 10 - 10 - 10 = -10
	c.write(func(fr *http2.Framer) error { return fr.WriteWindowUpdate(1, 10) })
	c.received(1, 10) // window 0
	c.write(func(fr *http2.Framer) error { return fr.WriteWindowUpdate(1, 20) })
	c.received(1, 30)
	setWindow(1000) // +1000
	r := c.response(1)
	if !r.ended || len(r.body) != 100 {
		t.Fatalf("response: %d bytes ended %v, want 100 ended", len(r.body), r.ended)
	}
	// A window pushed past 2^31-1 by the change is a connection error.
	c2 := serveRaw(t, &Server{Handler: blockUntilDone})
	c2.handshake(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 10})
	c2.request(1, "GET", "/", true)
	c2.write(func(fr *http2.Framer) error { return fr.WriteWindowUpdate(1, maxWindow-10) })
	c2.sync()
	c2.write(func(fr *http2.Framer) error {
		return fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 11})
	})
	c2.connError(http2.ErrCodeFlowControl)
}

func TestConnectionWindowSharedAcrossStreams(t *testing.T) {
	c := serveRaw(t, &Server{Handler: bodyOf(40000)})
	// Streams may take all they want; the connection, 65535 bytes.
	c.handshake(http2.Setting{ID: http2.SettingInitialWindowSize, Val: maxWindow})
	c.request(1, "GET", "/", true)
	c.request(3, "GET", "/", true)
	c.received(0, initialWindow)
	c.write(func(fr *http2.Framer) error { return fr.WriteWindowUpdate(0, 80000-initialWindow) })
	for _, id := range []uint32{1, 3} {
		if r := c.response(id); !r.ended || len(r.body) != 40000 {
			t.Errorf("stream %d: %d bytes ended %v, want 40000 ended", id, len(r.body), r.ended)
		}
	}
}

func TestWindowUpdateOverflow(t *testing.T) {
	s := &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/block" {
			<-r.Context().Done()
		}
	})}
	t.Run("stream", func(t *testing.T) {
		c := serveRaw(t, s)
		c.handshake(http2.Setting{ID: http2.SettingInitialWindowSize, Val: initialWindow})
		c.request(1, "GET", "/block", true)
		c.write(func(fr *http2.Framer) error { return fr.WriteWindowUpdate(1, maxWindow-initialWindow) })
		c.write(func(fr *http2.Framer) error { return fr.WriteWindowUpdate(1, 1) })
		if r := c.response(1); !r.rst || r.code != http2.ErrCodeFlowControl {
			t.Fatalf("stream 1: %+v, want RST_STREAM FLOW_CONTROL_ERROR", r)
		}
		if r := c.get(3, "/"); r.status != "200" {
			t.Fatalf("the connection after: %+v", r)
		}
	})
	t.Run("connection", func(t *testing.T) {
		c := serveRaw(t, s)
		c.handshake(http2.Setting{ID: http2.SettingInitialWindowSize, Val: initialWindow})
		c.write(func(fr *http2.Framer) error { return fr.WriteWindowUpdate(0, maxWindow-initialWindow) })
		c.sync()
		c.write(func(fr *http2.Framer) error { return fr.WriteWindowUpdate(0, 1) })
		c.connError(http2.ErrCodeFlowControl)
	})
}

// blockedReader answers POSTs with how many body bytes it read, once
// released (a path of /close: it closes the body unread first), and GETs
// at once.
type blockedReader struct {
	release chan struct{}
}

func (h blockedReader) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		io.WriteString(w, "GET")
		return
	}
	if r.URL.Path == "/close" {
		r.Body.Close()
	}
	select {
	case <-h.release:
	case <-r.Context().Done():
		return
	}
	n, err := io.Copy(io.Discard, r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
	}
	io.WriteString(w, strconv.FormatInt(n, 10))
}

func TestDataBeyondWindows(t *testing.T) {
	t.Run("connection", func(t *testing.T) {
		h := blockedReader{make(chan struct{})}
		c := serveRaw(t, &Server{Handler: h})
		c.handshake()
		c.request(1, "POST", "/", false)
		chunk := make([]byte, defaultFrameSize)
		for range 3 {
			c.data(1, false, chunk)
		}
		c.data(1, false, chunk[:initialWindow-3*defaultFrameSize])
		c.sync()
		c.data(1, false, []byte{1})
		c.connError(http2.ErrCodeFlowControl)
	})
	t.Run("stream", func(t *testing.T) {
		// A body closed unread gives the connection its window back, not
		// the stream: the stream's window ends first.
		h := blockedReader{make(chan struct{})}
		c := serveRaw(t, &Server{Handler: h})
		c.handshake()
		c.request(1, "POST", "/close", false)
		c.sync()
		b := newBodySender(c)
		b.send(1, initialWindow, defaultFrameSize, 0, false)
		c.sync()
		c.data(1, false, []byte{1})
		if r := c.response(1); !r.rst || r.code != http2.ErrCodeFlowControl {
			t.Fatalf("stream 1: %+v, want RST_STREAM FLOW_CONTROL_ERROR", r)
		}
		if r := c.get(3, "/"); r.rst {
			t.Fatalf("the connection after: %+v", r)
		}
	})
}

func TestPaddedDataCounted(t *testing.T) {
	t.Run("against the window", func(t *testing.T) {
		h := blockedReader{make(chan struct{})}
		c := serveRaw(t, &Server{Handler: h})
		c.handshake()
		c.request(1, "POST", "/", false)
		chunk := make([]byte, defaultFrameSize)
		for range 3 {
			c.data(1, false, chunk)
		}
		// 16128 bytes of data fit what is left (16383); with 256 of
		// padding, they do not.
		c.write(func(fr *http2.Framer) error {
			return fr.WriteDataPadded(1, false, chunk[:defaultFrameSize-256], make([]byte, 255))
		})
		c.connError(http2.ErrCodeFlowControl)
	})
	t.Run("given back", func(t *testing.T) {
		h := blockedReader{make(chan struct{})}
		c := serveRaw(t, &Server{Handler: h})
		c.handshake()
		c.request(1, "POST", "/", false)
		// 400 frames of 100 bytes and 155 of padding: 102400 bytes on
		// the wire, 40000 held for the handler (which reads nothing until
		// released): within the windows only if the padding is given back.
		if !newBodySender(c).send(1, 40000, 100, 155, true) {
			t.Fatalf("stream 1 reset: %v", c.response(1).frames)
		}
		close(h.release)
		if r := c.response(1); r.status != "200" || string(r.body) != "40000" {
			t.Fatalf("response: %s %q rst %v %v, want 200 40000", r.status, r.body, r.rst, r.code)
		}
	})
}

func TestLargeRequestBodyRead(t *testing.T) {
	h := blockedReader{make(chan struct{})}
	close(h.release)
	c := serveRaw(t, &Server{Handler: h})
	c.handshake()
	c.request(1, "POST", "/", false)
	if !newBodySender(c).send(1, 300000, defaultFrameSize, 0, true) {
		t.Fatalf("stream 1 reset: %v", c.response(1).frames)
	}
	if r := c.response(1); r.status != "200" || string(r.body) != "300000" {
		t.Fatalf("response: %s %q, want 200 300000", r.status, r.body)
	}
}

// A handler that answers without reading the body must not keep the
// connection's window: the next streams' bodies must get through.
func TestUnreadBodyGivesConnectionWindowBack(t *testing.T) {
	c := serveRaw(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "not read")
	})})
	c.handshake()
	b := newBodySender(c)
	for id := uint32(1); id < 20; id += 2 {
		c.request(id, "POST", "/", false)
		b.send(id, 60000, defaultFrameSize, 0, true)
		if r := c.response(id); r.status != "200" {
			t.Fatalf("stream %d: %+v", id, r)
		}
	}
	// And bodies sent at once, before any answer.
	for id := uint32(21); id < 30; id += 2 {
		c.request(id, "POST", "/", false)
		c.data(id, true, make([]byte, 6000))
	}
	for id := uint32(21); id < 30; id += 2 {
		if r := c.response(id); r.status != "200" {
			t.Fatalf("stream %d: %+v", id, r)
		}
	}
}

// A SETTINGS frame may set INITIAL_WINDOW_SIZE many times: the windows
// end as its last value says, and overflow as its largest would.
func TestRepeatedInitialWindowSize(t *testing.T) {
	settings := func(vals ...uint32) func(fr *http2.Framer) error {
		var s []http2.Setting
		for _, v := range vals {
			s = append(s, http2.Setting{ID: http2.SettingInitialWindowSize, Val: v})
		}
		return func(fr *http2.Framer) error { return fr.WriteSettings(s...) }
	}
	c := serveRaw(t, &Server{Handler: bodyOf(100)})
	c.handshake(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 10})
	c.request(1, "GET", "/", true)
	c.received(1, 10)
	var vals []uint32
	for range 1000 {
		vals = append(vals, 0, maxWindow)
	}
	c.write(settings(append(vals, 30)...))
	c.received(1, 30)

	c2 := serveRaw(t, &Server{Handler: blockUntilDone})
	c2.handshake(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 10})
	c2.request(1, "GET", "/", true)
	c2.write(func(fr *http2.Framer) error { return fr.WriteWindowUpdate(1, maxWindow-20) })
	c2.sync()
	c2.write(settings(30, 0))
	c2.connError(http2.ErrCodeFlowControl)
}

package h2

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// A rawClient speaks HTTP/2 to a Server frame by frame, as a hostile
// client would: nothing checks what it writes. Its reader goroutine keeps
// every frame the server sends, in order, once started.

// waitTime bounds every wait of the raw client's tests: a server that
// does not answer in that long has failed.
const waitTime = 10 * time.Second

// frame is a frame the server sent, copied out of the Framer's buffers.
type frame struct {
	typ      http2.FrameType
	stream   uint32
	flags    http2.Flags
	data     []byte              // DATA payload (unpadded), PING data
	fields   []hpack.HeaderField // HEADERS, decoded
	code     http2.ErrCode       // RST_STREAM, GOAWAY
	last     uint32              // GOAWAY's last stream ID
	incr     uint32              // WINDOW_UPDATE
	settings []http2.Setting
}

func (f frame) String() string {
	s := fmt.Sprintf("%v stream=%d flags=%v", f.typ, f.stream, f.flags)
	switch f.typ {
	case http2.FrameData:
		s += fmt.Sprintf(" len=%d", len(f.data))
	case http2.FrameHeaders:
		s += fmt.Sprintf(" %v", f.fields)
	case http2.FrameRSTStream:
		s += " " + f.code.String()
	case http2.FrameGoAway:
		s += fmt.Sprintf(" last=%d %v", f.last, f.code)
	case http2.FrameWindowUpdate:
		s += fmt.Sprintf(" incr=%d", f.incr)
	case http2.FrameSettings:
		s += fmt.Sprintf(" %v", f.settings)
	}
	return s
}

// endsStream reports whether f is a HEADERS or DATA frame with
// END_STREAM (the same bit in both).
func (f frame) endsStream() bool {
	return (f.typ == http2.FrameData || f.typ == http2.FrameHeaders) && f.flags.Has(http2.FlagDataEndStream)
}

type rawClient struct {
	t      testing.TB
	nc     net.Conn
	fr     *http2.Framer
	wmu    sync.Mutex // writes: the test's and the reader's
	enc    *hpack.Encoder
	encBuf bytes.Buffer

	mu      sync.Mutex
	frames  []frame
	pos     int           // frames before it were taken by next/waitFor
	readErr error         // why reading ended; nil while it goes on
	more    chan struct{} // closed (and replaced) when frames or readErr change

	served chan struct{} // closed when ServeConn returned

	lenient bool // write ignores errors: the server may close mid-write
}

// serveRaw serves s on one end of a loopback TCP connection and returns a
// raw client on the other. The test fails if ServeConn has not returned
// within waitTime of the client closing its end at the test's end.
func serveRaw(t testing.TB, s *Server) *rawClient {
	t.Helper()
	cc, sc := loopbackPair(t)
	return newRawClient(t, s, cc, sc)
}

// loopbackPair is the two ends of a loopback TCP connection.
func loopbackPair(t testing.TB) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	sc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	return cc, sc
}

// servePipe is serveRaw over net.Pipe: every write of the server waits
// for the client to read it.
func servePipe(t testing.TB, s *Server) *rawClient {
	t.Helper()
	sc, cc := net.Pipe()
	return newRawClient(t, s, cc, sc)
}

func newRawClient(t testing.TB, s *Server, cc, sc net.Conn) *rawClient {
	c := &rawClient{t: t, nc: cc, more: make(chan struct{}), served: make(chan struct{})}
	c.fr = http2.NewFramer(cc, cc)
	c.fr.AllowIllegalWrites = true
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	c.fr.MaxHeaderListSize = 1 << 20
	c.enc = hpack.NewEncoder(&c.encBuf)
	go func() {
		defer close(c.served)
		s.ServeConn(context.Background(), sc, nil)
	}()
	t.Cleanup(func() {
		cc.Close()
		select {
		case <-c.served:
		case <-time.After(waitTime):
			t.Errorf("ServeConn did not return within %v of the client closing", waitTime)
		}
	})
	return c
}

// startReading starts the reader goroutine.
func (c *rawClient) startReading() {
	go func() {
		for {
			f, err := c.fr.ReadFrame()
			c.mu.Lock()
			if err != nil {
				c.readErr = err
			} else {
				c.frames = append(c.frames, copyFrame(f))
			}
			close(c.more)
			c.more = make(chan struct{})
			c.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
}

func copyFrame(f http2.Frame) frame {
	h := f.Header()
	out := frame{typ: h.Type, stream: h.StreamID, flags: h.Flags}
	switch f := f.(type) {
	case *http2.DataFrame:
		out.data = bytes.Clone(f.Data())
	case *http2.MetaHeadersFrame:
		out.fields = f.Fields
	case *http2.PingFrame:
		out.data = bytes.Clone(f.Data[:])
	case *http2.RSTStreamFrame:
		out.code = f.ErrCode
	case *http2.GoAwayFrame:
		out.code, out.last = f.ErrCode, f.LastStreamID
	case *http2.WindowUpdateFrame:
		out.incr = f.Increment
	case *http2.SettingsFrame:
		f.ForeachSetting(func(s http2.Setting) error { out.settings = append(out.settings, s); return nil })
	}
	return out
}

// handshake writes the preface and the client's SETTINGS (none given:
// windows as large as allowed, stream and connection, so that responses
// never wait for the client), starts reading, and waits for the server's
// SETTINGS and its ACK of the client's.
func (c *rawClient) handshake(settings ...http2.Setting) {
	c.t.Helper()
	wide := settings == nil
	if wide {
		settings = []http2.Setting{{ID: http2.SettingInitialWindowSize, Val: maxWindow}}
	}
	c.startReading()
	c.writePreface()
	c.write(func(fr *http2.Framer) error { return fr.WriteSettings(settings...) })
	if wide {
		c.write(func(fr *http2.Framer) error { return fr.WriteWindowUpdate(0, maxWindow-initialWindow) })
	}
	f := c.next()
	if f.typ != http2.FrameSettings || f.flags.Has(http2.FlagSettingsAck) {
		c.t.Fatalf("server's first frame: %v, want SETTINGS", f)
	}
	c.write(func(fr *http2.Framer) error { return fr.WriteSettingsAck() })
	c.waitFor("SETTINGS ACK", func(f frame) bool { return f.typ == http2.FrameSettings && f.flags.Has(http2.FlagSettingsAck) })
}

func (c *rawClient) writePreface() {
	c.t.Helper()
	if _, err := c.nc.Write([]byte(http2.ClientPreface)); err != nil {
		c.t.Fatalf("writing the preface: %v", err)
	}
}

// write writes frames through the client's Framer; a failed write fails
// the test, unless the client is lenient.
func (c *rawClient) write(w func(fr *http2.Framer) error) {
	c.t.Helper()
	if err := c.tryWrite(w); err != nil && !c.lenient {
		c.t.Fatalf("client write: %v", err)
	}
}

func (c *rawClient) tryWrite(w func(fr *http2.Framer) error) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return w(c.fr)
}

// block encodes header fields given as name, value pairs.
func (c *rawClient) block(pairs ...string) []byte {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.encBuf.Reset()
	for i := 0; i+1 < len(pairs); i += 2 {
		c.enc.WriteField(hpack.HeaderField{Name: pairs[i], Value: pairs[i+1]})
	}
	return bytes.Clone(c.encBuf.Bytes())
}

// request opens stream id with a request: the pseudo-header fields of a
// GET of path on https://example.com (method, then path, may be replaced
// by pairs naming them), then pairs. end: no body follows.
func (c *rawClient) request(id uint32, method, path string, end bool, pairs ...string) {
	c.t.Helper()
	fields := append([]string{":method", method, ":scheme", "https", ":authority", "example.com", ":path", path}, pairs...)
	c.headers(id, end, fields...)
}

// headers writes one HEADERS frame of exactly the fields given.
func (c *rawClient) headers(id uint32, end bool, pairs ...string) {
	c.t.Helper()
	b := c.block(pairs...)
	c.write(func(fr *http2.Framer) error {
		return fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: b, EndStream: end, EndHeaders: true})
	})
}

func (c *rawClient) data(id uint32, end bool, p []byte) {
	c.t.Helper()
	c.write(func(fr *http2.Framer) error { return fr.WriteData(id, end, p) })
}

// waitFor returns the first frame not yet taken that pred accepts, and
// takes it and those before it. It fails the test if none comes within
// waitTime, or if reading ends first.
func (c *rawClient) waitFor(what string, pred func(frame) bool) frame {
	c.t.Helper()
	deadline := time.After(waitTime)
	for {
		c.mu.Lock()
		for i := c.pos; i < len(c.frames); i++ {
			if pred(c.frames[i]) {
				c.pos = i + 1
				f := c.frames[i]
				c.mu.Unlock()
				return f
			}
		}
		more, err, seen := c.more, c.readErr, c.frames[c.pos:]
		c.mu.Unlock()
		if err != nil {
			c.t.Fatalf("waiting for %s: reading ended (%v) after %v", what, err, frameList(seen))
		}
		select {
		case <-more:
		case <-deadline:
			c.t.Fatalf("waiting for %s: none within %v; got %v", what, waitTime, frameList(seen))
		}
	}
}

// next takes the next frame.
func (c *rawClient) next() frame {
	c.t.Helper()
	return c.waitFor("a frame", func(frame) bool { return true })
}

// sync sends a PING and waits for its ACK: the server has then handled
// every frame written before (what its serve goroutine writes in answer
// is before the ACK). It returns the frames the server sent since the
// last frame taken, without the ACK.
func (c *rawClient) sync() []frame {
	c.t.Helper()
	var data [8]byte
	copy(data[:], fmt.Sprintf("%08d", time.Now().UnixNano()%1e8))
	c.write(func(fr *http2.Framer) error { return fr.WritePing(false, data) })
	c.mu.Lock()
	from := c.pos
	c.mu.Unlock()
	c.waitFor("PING ACK", func(f frame) bool {
		return f.typ == http2.FramePing && f.flags.Has(http2.FlagPingAck) && bytes.Equal(f.data, data[:])
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	return cloneFrames(c.frames[from : c.pos-1])
}

func cloneFrames(f []frame) []frame { return append([]frame(nil), f...) }

// frameList prints frames for a failure: the first and last few.
type frameList []frame

func (l frameList) String() string {
	if len(l) <= 20 {
		return fmt.Sprint([]frame(l))
	}
	return fmt.Sprintf("%v ... (%d frames) ... %v", []frame(l[:10]), len(l)-20, []frame(l[len(l)-10:]))
}

// goAway waits for the server's GOAWAY.
func (c *rawClient) goAway() frame {
	c.t.Helper()
	return c.waitFor("GOAWAY", func(f frame) bool { return f.typ == http2.FrameGoAway })
}

// closed waits until the server closes the connection (reading fails)
// and returns every frame not taken yet.
func (c *rawClient) closed() []frame {
	c.t.Helper()
	deadline := time.After(waitTime)
	for {
		c.mu.Lock()
		more, err, rest := c.more, c.readErr, cloneFrames(c.frames[c.pos:])
		c.mu.Unlock()
		if err != nil {
			return rest
		}
		select {
		case <-more:
		case <-deadline:
			c.t.Fatalf("the server did not close the connection within %v; got %v", waitTime, frameList(rest))
		}
	}
}

// connError waits for the server to end the connection with a GOAWAY
// of code, then close it.
func (c *rawClient) connError(code http2.ErrCode) {
	c.t.Helper()
	g := c.goAway()
	if g.code != code {
		c.t.Errorf("GOAWAY %v, want %v", g.code, code)
	}
	c.closed()
}

// response is what the server sent on one stream.
type response struct {
	status  string
	info    []string // 1xx statuses, in order
	header  http.Header
	body    []byte
	ended   bool          // END_STREAM came
	rst     bool          // RST_STREAM came
	code    http2.ErrCode // RST_STREAM's
	frames  frameList     // the stream's frames
	dataEnd bool          // the stream ended on a DATA frame
}

// response waits for stream id to end (END_STREAM or RST_STREAM) and
// returns what came on it. Frames on it are not taken.
func (c *rawClient) response(id uint32) response {
	c.t.Helper()
	deadline := time.After(waitTime)
	for {
		c.mu.Lock()
		r, done := collect(c.frames, id)
		more, err := c.more, c.readErr
		c.mu.Unlock()
		if done {
			return r
		}
		if err != nil {
			c.t.Fatalf("stream %d: reading ended (%v) before its end; got %v", id, err, frameList(r.frames))
		}
		select {
		case <-more:
		case <-deadline:
			c.t.Fatalf("stream %d: no end within %v; got %v", id, waitTime, frameList(r.frames))
		}
	}
}

func collect(frames []frame, id uint32) (r response, done bool) {
	r.header = http.Header{}
	for _, f := range frames {
		if f.stream != id {
			continue
		}
		r.frames = append(r.frames, f)
		switch f.typ {
		case http2.FrameHeaders:
			var status string
			for _, hf := range f.fields {
				if hf.Name == ":status" {
					status = hf.Value
				}
			}
			switch {
			case strings.HasPrefix(status, "1"):
				r.info = append(r.info, status)
			case r.status == "":
				r.status = status
				for _, hf := range f.fields {
					if !strings.HasPrefix(hf.Name, ":") {
						r.header.Add(hf.Name, hf.Value)
					}
				}
			}
		case http2.FrameData:
			r.body = append(r.body, f.data...)
		case http2.FrameRSTStream:
			r.rst, r.code = true, f.code
			return r, true
		}
		if f.endsStream() {
			r.ended, r.dataEnd = true, f.typ == http2.FrameData
			return r, true
		}
	}
	return r, false
}

// get sends a GET of path on stream id and waits for its response.
func (c *rawClient) get(id uint32, path string) response {
	c.t.Helper()
	c.request(id, "GET", path, true)
	return c.response(id)
}

// getRefused is get, sent again on the next stream IDs while it is
// refused (REFUSED_STREAM: handlers of reset streams may not have
// returned yet).
func (c *rawClient) getRefused(id uint32, path string) response {
	c.t.Helper()
	deadline := time.Now().Add(waitTime)
	for ; ; id += 2 {
		r := c.get(id, path)
		if !r.rst || r.code != http2.ErrCodeRefusedStream {
			return r
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("GET %s: refused for %v", path, waitTime)
		}
	}
}

// waitUntil polls cond until it holds, failing the test past waitTime.
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTime)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, waitTime)
		}
		time.Sleep(time.Millisecond)
	}
}

// windows returns what the client may still send on the connection and
// on stream id: the server's initial windows, plus its WINDOW_UPDATEs,
// minus sent (by the stream) and connSent (on the connection).
func (c *rawClient) windows(id uint32, connSent, sent int64) (conn, stream int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	conn, stream = initialWindow-connSent, initialWindow-sent
	for _, f := range c.frames {
		if f.typ != http2.FrameWindowUpdate {
			continue
		}
		switch f.stream {
		case 0:
			conn += int64(f.incr)
		case id:
			stream += int64(f.incr)
		}
	}
	return conn, stream
}

// reset reports whether the server reset stream id.
func (c *rawClient) reset(id uint32) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range c.frames {
		if f.stream == id && f.typ == http2.FrameRSTStream {
			return true
		}
	}
	return false
}

// bodySender sends request bodies within the windows the server gave,
// as a client that obeys flow control does.
type bodySender struct {
	c        *rawClient
	connSent int64
	sent     map[uint32]int64
}

func newBodySender(c *rawClient) *bodySender {
	return &bodySender{c: c, sent: map[uint32]int64{}}
}

// send sends n bytes on stream id in DATA frames of chunk bytes (padded
// with pad bytes when pad > 0), the last with END_STREAM if end; it
// waits for window when there is none. It stops, reporting false, if the
// server resets the stream.
func (b *bodySender) send(id uint32, n, chunk, pad int, end bool) bool {
	c := b.c
	c.t.Helper()
	payload := bytes.Repeat([]byte("b"), chunk)
	padding := make([]byte, pad)
	for n > 0 {
		size := min(chunk, n)
		length := int64(size)
		if pad > 0 {
			length += int64(pad) + 1
		}
		deadline := time.Now().Add(waitTime)
		for {
			if c.reset(id) {
				return false
			}
			conn, stream := c.windows(id, b.connSent, b.sent[id])
			if conn >= length && stream >= length {
				break
			}
			if time.Now().After(deadline) {
				c.t.Fatalf("stream %d: no window for %d bytes within %v (connection %d, stream %d)", id, length, waitTime, conn, stream)
			}
			c.sync()
		}
		last := end && size == n
		if pad > 0 {
			c.write(func(fr *http2.Framer) error { return fr.WriteDataPadded(id, last, payload[:size], padding) })
		} else {
			c.write(func(fr *http2.Framer) error { return fr.WriteData(id, last, payload[:size]) })
		}
		b.connSent += length
		b.sent[id] += length
		n -= size
	}
	return true
}

// afterEnd returns the frames the server sent on stream id after the
// one that ended it (END_STREAM or RST_STREAM).
func (c *rawClient) afterEnd(id uint32) frameList {
	c.mu.Lock()
	defer c.mu.Unlock()
	var after frameList
	ended := false
	for _, f := range c.frames {
		if f.stream != id {
			continue
		}
		if ended {
			after = append(after, f)
		}
		ended = ended || f.endsStream() || f.typ == http2.FrameRSTStream
	}
	return after
}

// Package h2 serves HTTP/2 (RFC 9113) on connections whose TLS handshake
// already chose it (ALPN "h2"), for an http.Handler.
//
// It owns the protocol on one connection: frames, HPACK, streams, flow
// control, SETTINGS, PING and GOAWAY, and the limits that keep one client
// from holding more of the server than it should. Frames are read and
// written by golang.org/x/net/http2's Framer and hpack, which check every
// frame's syntax; what this package adds is the server's state.
//
// Each stream's handler runs on a goroutine of its own (a worker, which
// then waits for the next stream with the stack the handler grew) and
// writes its frames itself, under the connection's lock, into the
// connection: no message passes between goroutines to send a response,
// and a small response leaves as one HEADERS and one DATA frame once its
// declared length is written or its handler returns.
// (x/net's server sends each response's frames from its connection
// goroutine, through channels, and writes every HEADERS frame and every
// DATA frame larger than its buffer from a new goroutine: three
// goroutines and several hand-offs per request.)
//
// It never logs on its own: a handler's panic goes to the ErrorLog it is
// given, which may be nil. It opens no connection.
package h2

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"runtime"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// Server serves HTTP/2 connections. Its fields must not change once it
// serves.
type Server struct {
	// Handler answers each request. Required.
	Handler http.Handler

	// MaxConcurrentStreams is how many streams a client may have open at
	// once (SETTINGS_MAX_CONCURRENT_STREAMS); 100 if zero. Handlers of
	// streams the client reset count until they return, so a client that
	// opens and resets streams at once (the "rapid reset" attack) gets
	// REFUSED_STREAM rather than more goroutines.
	MaxConcurrentStreams uint32

	// MaxHeaderBytes bounds a request's header list, as HPACK decodes it
	// (SETTINGS_MAX_HEADER_LIST_SIZE); http.DefaultMaxHeaderBytes if zero.
	// A longer one is answered 431 without reaching the handler.
	MaxHeaderBytes int

	// IdleTimeout closes a connection with no open stream for that long
	// (after a GOAWAY). Zero: none.
	IdleTimeout time.Duration

	// PrefaceTimeout bounds the wait for the client's preface and first
	// SETTINGS; 10 s if zero.
	PrefaceTimeout time.Duration

	// SendTimeout resets a stream whose response waits for the client's
	// flow-control window for that long since it last got some, as a
	// socket's write deadline would (its handler's write fails with
	// os.ErrDeadlineExceeded). A handler may move the deadline with
	// http.ResponseController's SetWriteDeadline. Zero: none. A client
	// that reads nothing at all is the connection's business: give
	// ServeConn a connection whose writes time out.
	SendTimeout time.Duration

	// ConnState, if not nil, learns when a connection turns idle (no open
	// stream) and active again, as http.Server's hook does.
	ConnState func(net.Conn, http.ConnState)

	// ErrorLog receives handlers' panics; nil: they are dropped.
	ErrorLog *log.Logger

	// Refused, if not nil, learns of each request refused before any
	// handler: status 431 for a header list past MaxHeaderBytes (answered
	// with body bytes of body), 400 for a malformed one (its stream is
	// reset: nothing is answered, and body is 0). method and path are its
	// pseudo-header fields as received, "" if absent; ctx is the
	// connection's (ServeConn's). It runs on the connection's goroutine
	// for a malformed request, on the 431's worker otherwise.
	Refused func(ctx context.Context, remote net.Addr, method, path string, status int, body int64)

	mu       sync.Mutex
	conns    map[*conn]struct{}
	stopping bool
}

// defaultMaxStreams is MaxConcurrentStreams' default (RFC 9113 §6.5.2
// recommends at least 100).
const defaultMaxStreams = 100

// ServeConn serves HTTP/2 on nc until the client leaves, an error ends
// the connection, or a Shutdown's GOAWAY has let every stream finish. It
// closes nc, and returns once every handler of its streams has returned.
// nc is written one frame per Write: give it one that gathers writes.
// ctx is the parent of every request's context; state, if not nil, is
// every request's TLS.
func (s *Server) ServeConn(ctx context.Context, nc net.Conn, state *tls.ConnectionState) {
	c := newConn(s, ctx, nc, state)
	if !s.track(c, true) {
		c.goingAway = true // a Shutdown began: no stream is taken
	}
	defer s.track(c, false)
	c.serve()
}

// Shutdown sends every connection a GOAWAY: each takes no new stream,
// and closes once its open ones are answered. Connections served after
// it get the GOAWAY at once, those whose preface had not come are
// closed. It does not wait: each connection gets its GOAWAY from a
// goroutine of its own, since one whose client reads nothing may hold
// its lock in a write.
func (s *Server) Shutdown() {
	s.mu.Lock()
	s.stopping = true
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		go c.shutdown()
	}
}

func (s *Server) track(c *conn, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !add {
		delete(s.conns, c)
		return true
	}
	if s.conns == nil {
		s.conns = make(map[*conn]struct{})
	}
	s.conns[c] = struct{}{}
	return !s.stopping
}

func (s *Server) maxStreams() uint32 {
	if s.MaxConcurrentStreams == 0 {
		return defaultMaxStreams
	}
	return s.MaxConcurrentStreams
}

func (s *Server) maxHeaderBytes() uint32 {
	if s.MaxHeaderBytes <= 0 {
		return http.DefaultMaxHeaderBytes
	}
	return uint32(s.MaxHeaderBytes)
}

// Protocol constants (RFC 9113 §6.5.2, §6.9.2).
const (
	initialWindow    = 65535
	maxWindow        = 1<<31 - 1
	defaultFrameSize = 16 << 10
	// headerTableSize is the HPACK table this server decodes with, and
	// what it lets its encoder use of the client's.
	headerTableSize = 4096
)

// ErrStreamReset is what a handler's write returns once its stream is
// reset by the client or by the server (a send timeout: then it is
// os.ErrDeadlineExceeded), or once the connection is gone.
var ErrStreamReset = errors.New("h2: stream reset")

// conn is one HTTP/2 connection. Its serve goroutine reads frames; each
// stream's handler goroutine writes its own. Everything they share is
// under mu, and every frame is written under mu, so that HPACK's state
// follows the order of HEADERS frames on the wire.
type conn struct {
	srv        *Server
	nc         net.Conn
	fr         *http2.Framer
	ctx        context.Context // the requests' parent; cancelled when serve ends
	cancel     context.CancelFunc
	tls        *tls.ConnectionState
	remoteAddr string
	maxStreams uint32
	handlers   sync.WaitGroup

	// Owned by the serve goroutine.
	lastID      uint32 // the highest client stream ID seen
	gotSettings bool
	canon       map[string]string // header names canonicalized on this connection

	mu        sync.Mutex
	cond      sync.Cond // a send window grew, a stream was reset, or the connection ended
	streams   map[uint32]*stream
	open      int  // streams open (counted against maxStreams)
	running   int  // handlers not yet returned
	goingAway bool // no new stream: a GOAWAY was sent (or is due), or the client's came
	// lastTaken is, once goingAway, the last stream ID taken: streams
	// past it are ignored, and every GOAWAY names it.
	lastTaken    uint32
	sentSettings bool // the server's preface (its SETTINGS) was sent
	closed       bool
	werr         error // the first write error; every later write fails
	enc          *hpack.Encoder
	encBuf       bytes.Buffer
	window       int32  // the connection's send window
	initial      int32  // the client's SETTINGS_INITIAL_WINDOW_SIZE
	maxFrame     uint32 // the client's SETTINGS_MAX_FRAME_SIZE
	idle         *time.Timer
	// unacked is what the client sent on the connection and the server
	// has not yet given back by WINDOW_UPDATE (bodies read, or dropped).
	unacked int32
}

func newConn(s *Server, ctx context.Context, nc net.Conn, state *tls.ConnectionState) *conn {
	c := &conn{
		srv:        s,
		nc:         nc,
		tls:        state,
		remoteAddr: nc.RemoteAddr().String(),
		maxStreams: s.maxStreams(),
		streams:    make(map[uint32]*stream),
		window:     initialWindow,
		initial:    initialWindow,
		maxFrame:   defaultFrameSize,
	}
	c.ctx, c.cancel = context.WithCancel(ctx)
	c.cond.L = &c.mu
	c.fr = http2.NewFramer(nc, nc)
	c.fr.SetReuseFrames()
	// The Framer reads frames of up to 16 MiB unless told: this server
	// never raises SETTINGS_MAX_FRAME_SIZE, so a longer frame is a
	// FRAME_SIZE_ERROR (RFC 9113 §4.2) before its payload is read.
	c.fr.SetMaxReadFrameSize(defaultFrameSize)
	c.fr.ReadMetaHeaders = hpack.NewDecoder(headerTableSize, nil)
	c.fr.MaxHeaderListSize = s.maxHeaderBytes()
	c.enc = hpack.NewEncoder(&c.encBuf)
	return c
}

// serve is the connection's life: the preface, then frames until the end.
func (c *conn) serve() {
	defer func() {
		c.mu.Lock()
		c.closed = true
		if c.werr == nil {
			c.werr = net.ErrClosed
		}
		if c.idle != nil {
			c.idle.Stop()
		}
		for _, st := range c.streams {
			st.resetLocked(ErrStreamReset)
		}
		c.cond.Broadcast()
		c.mu.Unlock()
		c.cancel()
		c.nc.Close()
		c.handlers.Wait()
	}()
	if err := c.readPreface(); err != nil {
		return
	}
	c.mu.Lock()
	settings := []http2.Setting{
		{ID: http2.SettingMaxConcurrentStreams, Val: c.maxStreams},
		{ID: http2.SettingMaxHeaderListSize, Val: c.srv.maxHeaderBytes()},
	}
	c.writeLocked(func() error { return c.fr.WriteSettings(settings...) })
	c.sentSettings = true
	if c.goingAway {
		c.goAwayLocked(http2.ErrCodeNo)
	}
	c.setState(http.StateActive)
	c.becameIdleLocked()
	c.mu.Unlock()

	for {
		fh, err := c.fr.ReadFrameHeader()
		var f http2.Frame
		if err == nil {
			f, err = c.fr.ReadFrameForHeader(fh)
		}
		if err != nil {
			// (Declared here: errors.As's target escapes, an allocation
			// this costs only a frame in error.)
			var se http2.StreamError
			if errors.As(err, &se) {
				err = c.streamError(fh, se)
			}
		}
		if err == nil {
			err = c.process(f)
		}
		if err != nil {
			c.fail(err)
			return
		}
		if f == nil {
			continue // a stream error, handled
		}
		c.mu.Lock()
		done := c.goingAway && c.open == 0
		c.mu.Unlock()
		if done {
			return
		}
	}
}

// readPreface reads the client's preface (RFC 9113 §3.4) under
// PrefaceTimeout; the first frame, which must be SETTINGS, is read by the
// frame loop under the same deadline.
func (c *conn) readPreface() error {
	timeout := c.srv.PrefaceTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	c.nc.SetReadDeadline(time.Now().Add(timeout))
	buf := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(c.nc, buf); err != nil {
		return err
	}
	if string(buf) != http2.ClientPreface {
		return errors.New("h2: bad client preface")
	}
	return nil
}

// fail ends the connection: a protocol error gets a GOAWAY with its code
// first; a read error (the client left, a deadline) ends it as is.
func (c *conn) fail(err error) {
	var ce http2.ConnectionError
	code, ok := http2.ErrCodeProtocol, false
	switch {
	case errors.As(err, &ce):
		code, ok = http2.ErrCode(ce), true
	case errors.Is(err, http2.ErrFrameTooLarge):
		code, ok = http2.ErrCodeFrameSize, true
	}
	if !ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.goAwayLocked(code)
}

// stopLocked makes the connection take no new stream: those past the
// last it took are ignored (RFC 9113 §6.8).
func (c *conn) stopLocked() {
	if !c.goingAway {
		c.goingAway, c.lastTaken = true, c.lastID
	}
}

// goAwayLocked sends a GOAWAY with code, and takes no new stream. Every
// GOAWAY names the last stream taken before the first: the ID never
// grows (RFC 9113 §6.8).
func (c *conn) goAwayLocked(code http2.ErrCode) {
	c.stopLocked()
	c.writeLocked(func() error { return c.fr.WriteGoAway(c.lastTaken, code, nil) })
}

// shutdown sends a GOAWAY: no new stream; the connection closes once its
// open streams are answered (serve sees it after its next frame; a
// connection with none left is closed now).
func (c *conn) shutdown() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.goingAway || c.closed {
		return
	}
	if !c.sentSettings {
		// No stream yet, and a GOAWAY must not come before the
		// server's preface: the connection just closes.
		c.stopLocked()
		c.nc.Close()
		return
	}
	c.goAwayLocked(http2.ErrCodeNo)
	if c.open == 0 {
		c.nc.Close()
	}
}

// writeLocked writes one frame (or a HEADERS frame's sequence) under mu.
// A failed write sticks: the connection is closed, and every later write
// fails with the same error.
func (c *conn) writeLocked(write func() error) error {
	if c.werr != nil {
		return c.werr
	}
	if err := write(); err != nil {
		c.werr = err
		c.nc.Close()
		c.cond.Broadcast()
		return err
	}
	return nil
}

func (c *conn) setState(state http.ConnState) {
	if c.srv.ConnState != nil {
		c.srv.ConnState(c.nc, state)
	}
}

// becameIdleLocked is called when the last open stream closes: the
// ConnState hook hears of it, a Shutdown's connection closes, and the
// idle timer starts.
func (c *conn) becameIdleLocked() {
	c.setState(http.StateIdle)
	if c.goingAway {
		c.nc.Close() // serve's read fails, and it ends
		return
	}
	if d := c.srv.IdleTimeout; d > 0 {
		if c.idle == nil {
			c.idle = time.AfterFunc(d, c.idleTimeout)
		} else {
			c.idle.Reset(d)
		}
	}
}

func (c *conn) idleTimeout() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.open > 0 || c.closed {
		return
	}
	c.goAwayLocked(http2.ErrCodeNo)
	c.nc.Close()
}

// process handles one frame read by serve. An error it returns ends the
// connection (with a GOAWAY for a ConnectionError).
func (c *conn) process(f http2.Frame) error {
	if !c.gotSettings {
		sf, ok := f.(*http2.SettingsFrame)
		if !ok || sf.IsAck() {
			return http2.ConnectionError(http2.ErrCodeProtocol)
		}
		c.gotSettings = true
		c.nc.SetReadDeadline(time.Time{})
	}
	switch f := f.(type) {
	case *http2.MetaHeadersFrame:
		return c.processHeaders(f)
	case *http2.DataFrame:
		return c.processData(f)
	case *http2.SettingsFrame:
		return c.processSettings(f)
	case *http2.PingFrame:
		if f.StreamID != 0 {
			return http2.ConnectionError(http2.ErrCodeProtocol)
		}
		if f.IsAck() {
			return nil // this server sends no PING
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.writeLocked(func() error { return c.fr.WritePing(true, f.Data) })
	case *http2.WindowUpdateFrame:
		return c.processWindowUpdate(f)
	case *http2.RSTStreamFrame:
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.idleStreamLocked(f.StreamID) {
			return http2.ConnectionError(http2.ErrCodeProtocol)
		}
		if st := c.streams[f.StreamID]; st != nil {
			st.resetLocked(ErrStreamReset)
			c.closeStreamLocked(st)
		}
		return nil
	case *http2.GoAwayFrame:
		// The client opens no new stream; those open are answered.
		c.mu.Lock()
		c.stopLocked()
		if c.open == 0 {
			c.nc.Close()
		}
		c.mu.Unlock()
		return nil
	case *http2.PriorityFrame:
		if f.StreamID != 0 && f.StreamID == f.StreamDep {
			c.mu.Lock()
			c.refuseStreamLocked(f.StreamID, http2.ErrCodeProtocol)
			c.mu.Unlock()
		}
		return nil // priorities are advice; this server serves in order
	case *http2.PushPromiseFrame:
		return http2.ConnectionError(http2.ErrCodeProtocol) // clients do not push
	case *http2.ContinuationFrame, *http2.HeadersFrame:
		// Assembled by the Framer (ReadMetaHeaders); alone, out of place.
		return http2.ConnectionError(http2.ErrCodeProtocol)
	default:
		return nil // unknown frame types are ignored (RFC 9113 §4.1)
	}
}

// streamError handles a frame the Framer refused with a stream error: a
// WINDOW_UPDATE of 0, or a HEADERS frame with a bad field (its block
// decoded whole, so that HPACK's state follows: the error's Cause says
// which field). The stream is reset and the connection goes on, unless
// the frame's stream could not be: an idle stream (RFC 9113 §5.1), a
// stream ID no new stream may take, or a HEADERS frame whose block was
// not decoded (its padding was too long, a connection error by §6.2).
func (c *conn) streamError(fh http2.FrameHeader, se http2.StreamError) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case fh.Type == http2.FrameHeaders && se.Cause == nil:
		return http2.ConnectionError(http2.ErrCodeProtocol)
	case fh.Type == http2.FrameHeaders && c.streams[se.StreamID] == nil:
		if isNew, err := c.newStreamIDLocked(se.StreamID); !isNew {
			return err
		}
	case c.idleStreamLocked(se.StreamID):
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	c.refuseStreamLocked(se.StreamID, se.Code)
	return nil
}

// newStreamIDLocked takes id for a new stream, and reports whether it is
// one. An even ID is a connection error: only a server may use one. An
// ID at or below the last is a closed stream's (RFC 9113 §5.1.1), whose
// HEADERS frame is dropped (its block was decoded: HPACK's state holds).
// It may be the trailers of a stream the server reset while the client
// sent them, which §5.1 says to discard, not to end the connection for;
// and a client that reuses an ID gets no answer. (nghttp2 does the same;
// x/net's server ends the connection.)
func (c *conn) newStreamIDLocked(id uint32) (bool, error) {
	switch {
	case id%2 == 0:
		return false, http2.ConnectionError(http2.ErrCodeProtocol)
	case id <= c.lastID:
		return false, nil
	}
	c.lastID = id
	return true, nil
}

// idleStreamLocked reports whether a client stream ID names a stream
// that was never opened (RFC 9113 §5.1: frames other than HEADERS and
// PRIORITY on one are a connection error).
func (c *conn) idleStreamLocked(id uint32) bool {
	return id == 0 || id%2 == 1 && id > c.lastID || id%2 == 0
}

func (c *conn) processSettings(f *http2.SettingsFrame) error {
	if f.IsAck() {
		return nil
	}
	if err := f.ForeachSetting(func(s http2.Setting) error { return s.Valid() }); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	initial, highest := c.initial, int64(-1)
	f.ForeachSetting(func(s http2.Setting) error {
		switch s.ID {
		case http2.SettingInitialWindowSize:
			initial, highest = int32(s.Val), max(highest, int64(s.Val))
		case http2.SettingMaxFrameSize:
			c.maxFrame = s.Val
		case http2.SettingHeaderTableSize:
			c.enc.SetMaxDynamicTableSize(min(s.Val, headerTableSize))
		}
		return nil
	})
	if highest >= 0 {
		if err := c.setInitialWindowLocked(initial, highest); err != nil {
			return err
		}
	}
	return c.writeLocked(c.fr.WriteSettingsAck)
}

// setInitialWindowLocked applies a SETTINGS frame's last
// INITIAL_WINDOW_SIZE to every open stream's window (RFC 9113 §6.9.2),
// once per frame: a frame that sets it thousands of times would
// otherwise walk the streams as many times. highest is the largest the
// frame set, the one a window would overflow with first.
func (c *conn) setInitialWindowLocked(initial int32, highest int64) error {
	for _, st := range c.streams {
		if int64(st.window)+highest-int64(c.initial) > maxWindow {
			return http2.ConnectionError(http2.ErrCodeFlowControl)
		}
	}
	delta := initial - c.initial
	for _, st := range c.streams {
		st.window += delta
	}
	c.initial = initial
	c.cond.Broadcast()
	return nil
}

func (c *conn) processWindowUpdate(f *http2.WindowUpdateFrame) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f.StreamID == 0 {
		w := int64(c.window) + int64(f.Increment)
		if w > maxWindow {
			return http2.ConnectionError(http2.ErrCodeFlowControl)
		}
		c.window = int32(w)
		c.cond.Broadcast()
		return nil
	}
	if c.idleStreamLocked(f.StreamID) {
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	st := c.streams[f.StreamID]
	if st == nil {
		return nil // closed: allowed, and ignored
	}
	w := int64(st.window) + int64(f.Increment)
	if w > maxWindow {
		st.resetLocked(ErrStreamReset)
		c.refuseStreamLocked(st.id, http2.ErrCodeFlowControl)
		return nil
	}
	st.window = int32(w)
	c.cond.Broadcast()
	return nil
}

func (c *conn) processData(f *http2.DataFrame) error {
	n := int32(f.Length) // padding counts against the windows too
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.idleStreamLocked(f.StreamID) {
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	if c.unacked+n > initialWindow {
		return http2.ConnectionError(http2.ErrCodeFlowControl)
	}
	c.unacked += n
	st := c.streams[f.StreamID]
	if st == nil || st.body == nil || st.gotEnd {
		// A closed stream, or one whose request had ended: what it
		// carried is given back to the connection's window at once.
		c.giveBackLocked(nil, n)
		if st == nil {
			c.writeLocked(func() error { return c.fr.WriteRSTStream(f.StreamID, http2.ErrCodeStreamClosed) })
		} else {
			c.refuseStreamLocked(st.id, http2.ErrCodeStreamClosed)
		}
		return nil
	}
	if !st.bodyFits(len(f.Data()), f.StreamEnded()) {
		c.giveBackLocked(nil, n)
		c.refuseStreamLocked(st.id, http2.ErrCodeProtocol)
		return nil
	}
	kept, err := st.body.put(f.Data(), n, f.StreamEnded())
	switch {
	case err != nil:
		c.giveBackLocked(nil, n)
		c.refuseStreamLocked(st.id, http2.ErrCodeFlowControl)
		return nil
	case !kept:
		c.giveBackLocked(nil, n)
	default:
		if pad := n - int32(len(f.Data())); pad > 0 {
			c.giveBackLocked(st, pad)
		}
	}
	if f.StreamEnded() {
		c.endRequestLocked(st)
	}
	return nil
}

// giveBackLocked returns n bytes of window to the client: to the
// connection, and to st if not nil.
func (c *conn) giveBackLocked(st *stream, n int32) {
	if n <= 0 {
		return
	}
	c.unacked -= n
	c.writeLocked(func() error { return c.fr.WriteWindowUpdate(0, uint32(n)) })
	if st != nil && !st.gotEnd && !st.reset {
		c.writeLocked(func() error { return c.fr.WriteWindowUpdate(st.id, uint32(n)) })
	}
}

// endRequestLocked marks st's request as wholly received.
func (c *conn) endRequestLocked(st *stream) {
	st.gotEnd = true
	if st.sentEnd {
		c.closeStreamLocked(st)
	}
}

// refuseStreamLocked resets a stream from the server's side.
func (c *conn) refuseStreamLocked(id uint32, code http2.ErrCode) {
	c.writeLocked(func() error { return c.fr.WriteRSTStream(id, code) })
	if st := c.streams[id]; st != nil {
		st.resetLocked(ErrStreamReset)
		c.closeStreamLocked(st)
	}
}

// closeStreamLocked forgets st: it no longer counts as open. Its handler
// may still run (and count in running).
func (c *conn) closeStreamLocked(st *stream) {
	if c.streams[st.id] != st {
		return
	}
	delete(c.streams, st.id)
	c.open--
	if st.body != nil {
		if left := st.body.close(); left > 0 {
			c.giveBackLocked(nil, left) // received, never read
		}
	}
	if c.open == 0 {
		c.becameIdleLocked()
	}
}

// panicked reports a handler's panic to ErrorLog as net/http does (nil:
// the handler called runtime.Goexit).
func (c *conn) panicked(v any) {
	if v == nil || v == http.ErrAbortHandler || c.srv.ErrorLog == nil {
		return
	}
	buf := make([]byte, 64<<10)
	buf = buf[:runtime.Stack(buf, false)]
	c.srv.ErrorLog.Printf("http2: panic serving %v: %v\n%s", c.remoteAddr, v, buf)
}

// errDeadline is what a write returns past the stream's send deadline.
var errDeadline = os.ErrDeadlineExceeded

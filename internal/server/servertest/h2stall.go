// Package servertest holds clients that attack depot's server the way the
// tests of internal/server and e2e need: an HTTP/2 client that never
// grants a flow-control window. It is for tests only and never logs.
package servertest

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// StalledH2 is an HTTP/2 connection whose client announces an initial
// stream window of 0 and never sends WINDOW_UPDATE: the server may answer
// each stream's headers but cannot send one byte of a body. It reads
// every frame the server sends, so the TCP connection itself never
// stalls, as an attacker's would not.
type StalledH2 struct {
	conn net.Conn
	fr   *http2.Framer
	enc  *hpack.Encoder
	hbuf bytes.Buffer

	wmu  sync.Mutex // guards writes and next
	next uint32

	mu         sync.Mutex
	status     map[uint32]int // :status of each stream the server answered
	reset      map[uint32]bool
	maxStreams uint32 // the server's SETTINGS_MAX_CONCURRENT_STREAMS, 0 until known
	goAway     bool   // the server sent GOAWAY
	err        error  // why the read loop ended
	changed    chan struct{}
}

// DialStalledH2 connects to addr over TLS with ALPN h2 and sends the
// preface and the stalling settings.
func DialStalledH2(addr string, config *tls.Config) (*StalledH2, error) {
	config = config.Clone()
	config.NextProtos = []string{"h2"}
	tc, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, config)
	if err != nil {
		return nil, err
	}
	if p := tc.ConnectionState().NegotiatedProtocol; p != "h2" {
		tc.Close()
		return nil, fmt.Errorf("server negotiated %q, not h2", p)
	}
	c := &StalledH2{conn: tc, fr: http2.NewFramer(tc, tc), next: 1,
		status: map[uint32]int{}, reset: map[uint32]bool{}, changed: make(chan struct{})}
	c.enc = hpack.NewEncoder(&c.hbuf)
	if _, err := io.WriteString(tc, http2.ClientPreface); err != nil {
		tc.Close()
		return nil, err
	}
	if err := c.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0}); err != nil {
		tc.Close()
		return nil, err
	}
	go c.readLoop()
	return c, nil
}

func (c *StalledH2) readLoop() {
	dec := hpack.NewDecoder(4096, nil)
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			c.note(func() { c.err = err })
			return
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if f.IsAck() {
				continue
			}
			if v, ok := f.Value(http2.SettingMaxConcurrentStreams); ok {
				c.note(func() { c.maxStreams = v })
			}
			c.wmu.Lock()
			c.fr.WriteSettingsAck()
			c.wmu.Unlock()
		case *http2.HeadersFrame:
			fields, _ := dec.DecodeFull(f.HeaderBlockFragment())
			for _, hf := range fields {
				if hf.Name == ":status" {
					n, _ := strconv.Atoi(hf.Value)
					c.note(func() { c.status[f.StreamID] = n })
				}
			}
		case *http2.RSTStreamFrame:
			c.note(func() { c.reset[f.StreamID] = true })
		case *http2.PingFrame:
			if !f.IsAck() {
				c.wmu.Lock()
				c.fr.WritePing(true, f.Data)
				c.wmu.Unlock()
			}
		case *http2.GoAwayFrame:
			c.note(func() { c.goAway, c.err = true, errors.New("server sent GOAWAY") })
		}
	}
}

// note changes the state under the lock and wakes Wait.
func (c *StalledH2) note(change func()) {
	c.mu.Lock()
	change()
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
}

// Open starts a GET of path for host on a new stream and returns its id.
func (c *StalledH2) Open(host, path string) (uint32, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.hbuf.Reset()
	for _, kv := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", host}, {":path", path}} {
		c.enc.WriteField(hpack.HeaderField{Name: kv[0], Value: kv[1]})
	}
	id := c.next
	c.next += 2
	// A server that stopped reading must not hang the test.
	c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return id, c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: c.hbuf.Bytes(), EndStream: true, EndHeaders: true})
}

// State is what the server did so far.
type State struct {
	Status     map[int]int // streams answered, by status
	Reset      int         // streams the server reset
	MaxStreams uint32      // the server's SETTINGS_MAX_CONCURRENT_STREAMS
	GoAway     bool        // the server sent GOAWAY
	Err        error       // the connection's end, if it ended
}

func (c *StalledH2) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := State{Status: map[int]int{}, Reset: len(c.reset), MaxStreams: c.maxStreams, GoAway: c.goAway, Err: c.err}
	for _, st := range c.status {
		s.Status[st]++
	}
	return s
}

// Wait waits until cond holds for the state, or the deadline passes; it
// reports whether cond held.
func (c *StalledH2) Wait(deadline time.Time, cond func(State) bool) bool {
	for {
		c.mu.Lock()
		ch := c.changed
		c.mu.Unlock()
		if cond(c.State()) {
			return true
		}
		select {
		case <-ch:
		case <-time.After(time.Until(deadline)):
			return cond(c.State())
		}
	}
}

// Close closes the connection.
func (c *StalledH2) Close() error { return c.conn.Close() }

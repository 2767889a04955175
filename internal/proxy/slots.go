package proxy

import (
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// slots caps the client connections the proxy serves at once
// (max_connections) without letting idle ones hold the cap. When every
// slot is taken, a new connection takes the slot of the longest-idle
// connection, one that has sent nothing since it was accepted or since
// its last answer (as nginx reuses its waiting and keep-alive connections
// when it runs out): 256 clients that connect and say nothing, or send
// OPTIONS * and stay, no longer shut the proxy for the header or idle
// timeout. A connection in the middle of a request or a tunnel keeps its
// slot; with none idle, new connections wait to be accepted.
type slots struct {
	net.Listener
	max int

	mu    sync.Mutex
	conns map[*slotConn]struct{}
	// changed is signalled when a slot frees or a connection becomes
	// idle: Accept, waiting, looks again.
	changed chan struct{}
	done    chan struct{}
	close   sync.Once
}

func newSlots(ln net.Listener, max int) *slots {
	return &slots{Listener: ln, max: max, conns: map[*slotConn]struct{}{},
		changed: make(chan struct{}, 1), done: make(chan struct{})}
}

// slotConn is one client connection holding a slot.
type slotConn struct {
	net.Conn
	s    *slots
	read atomic.Int64 // bytes read from the client
	// Guarded by s.mu: whether the server waits for a request on it, how
	// much had been read then, and since when.
	idle       bool
	readAtIdle int64
	idleSince  time.Time
	reclaimed  bool
	once       sync.Once
}

func (c *slotConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

// Close releases the slot.
func (c *slotConn) Close() error {
	c.once.Do(func() {
		c.s.mu.Lock()
		delete(c.s.conns, c)
		c.s.mu.Unlock()
		c.s.signal()
	})
	return c.Conn.Close()
}

func (s *slots) signal() {
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

// Accept returns the next connection once it has a slot, reclaiming an
// idle one's if need be.
func (s *slots) Accept() (net.Conn, error) {
	c, err := s.Listener.Accept()
	if err != nil {
		return nil, err
	}
	for {
		s.mu.Lock()
		if len(s.conns) < s.max {
			sc := &slotConn{Conn: c, s: s, idle: true, idleSince: time.Now()}
			s.conns[sc] = struct{}{}
			s.mu.Unlock()
			return sc, nil
		}
		victim := s.oldestIdle()
		if victim != nil {
			victim.reclaimed = true
		}
		s.mu.Unlock()
		if victim != nil {
			// Closed under its server, which then closes the slotConn
			// and so frees the slot. A client kept alive sees its idle
			// connection closed, as after the idle timeout, and
			// retries on a new one.
			victim.Conn.Close()
		}
		select {
		case <-s.changed:
		case <-s.done:
			c.Close()
			return nil, net.ErrClosed
		}
	}
}

// oldestIdle is the reclaimable connection idle the longest, or nil.
// Called with s.mu held.
func (s *slots) oldestIdle() *slotConn {
	var best *slotConn
	for c := range s.conns {
		if !c.idle || c.reclaimed || c.read.Load() != c.readAtIdle {
			continue
		}
		if best == nil || c.idleSince.Before(best.idleSince) {
			best = c
		}
	}
	return best
}

// connState is the http.Server's ConnState: it tells which connections
// wait for a request.
func (s *slots) connState(nc net.Conn, state http.ConnState) {
	c, ok := nc.(*slotConn)
	if !ok {
		return
	}
	s.mu.Lock()
	switch state {
	case http.StateNew, http.StateIdle:
		c.idle, c.readAtIdle, c.idleSince = true, c.read.Load(), time.Now()
	default: // active, hijacked (a tunnel), closed
		c.idle = false
	}
	s.mu.Unlock()
	if state == http.StateIdle {
		s.signal()
	}
}

// Close stops accepting and wakes an Accept that waits for a slot.
func (s *slots) Close() error {
	s.close.Do(func() { close(s.done) })
	return s.Listener.Close()
}

package server

import (
	"cmp"
	"errors"
	"io"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Every listener, onion and clearnet, hands out guarded connections. A
// guard bounds how long a client may accept nothing of a response (the
// send timeout, nginx's send_timeout) and lets a graceful stop tell a
// connection that is receiving a request from one that is idle. It holds
// no logger: onion connections are guarded too.

// errSendTimeout is what a write returns once the client has accepted no
// byte for the send timeout; the connection is then closed.
var errSendTimeout = &net.OpError{Op: "write", Net: "tcp", Err: errors.Join(errors.New("client accepted no byte within the send timeout"), os.ErrDeadlineExceeded)}

// guardListener wraps a bound listener.
type guardListener struct {
	net.Listener
	sendTimeout time.Duration
	conns       *connSet
	ids         *atomic.Uint64 // numbers the connections; nil on onion listeners

	once     sync.Once
	doneOnce sync.Once
	done     chan struct{} // see closed
}

// Accept waits until the connection cap has room (see connSet.room),
// then accepts. While it waits, new connections wait in the kernel's
// accept queue, first come first served, instead of being accepted and
// closed: so a client that reconnects as fast as it can does not get
// ahead of one that connected once.
func (l *guardListener) Accept() (net.Conn, error) {
	if err := l.conns.room(l.closed()); err != nil {
		return nil, err
	}
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	g := &guardConn{Conn: c, sendTimeout: l.sendTimeout, set: l.conns}
	g.since.Store(l.conns.now().UnixNano())
	if l.ids != nil {
		g.id = l.ids.Add(1)
	}
	if !l.conns.add(g) {
		c.Close() // the server is stopping
		return nil, net.ErrClosed
	}
	return g, nil
}

// closed is a channel closed when Close is called.
func (l *guardListener) closed() <-chan struct{} {
	l.doneOnce.Do(func() { l.done = make(chan struct{}) })
	return l.done
}

// Close closes the listener once; later calls return nil, so that both a
// stop and net/http's Shutdown may close it.
func (l *guardListener) Close() error {
	var err error
	l.once.Do(func() {
		l.closed()
		close(l.done)
		err = l.Listener.Close()
	})
	return err
}

// guardConn is one accepted connection.
type guardConn struct {
	net.Conn
	id          uint64 // the connection's number in the error log (clearnet only)
	sendTimeout time.Duration
	set         *connSet

	// Drain state, for a graceful stop (see connSet.drain).
	started atomic.Bool // bytes of a request arrived since the connection was new or last idle
	mu      sync.Mutex  // orders started against closed
	closed  bool
	h2      atomic.Bool // HTTP/2: net/http's Shutdown drains it (GOAWAY)
	forced  atomic.Bool // a stop closed it after ShutdownTimeout
	done    atomic.Bool // see finish

	writeDeadline atomic.Int64 // Unix ns of the write deadline set (see startSend)

	// held is what Write was given since hold, or nil when not holding.
	// Only the goroutine that serves the HTTP/1 connection writes it.
	held *[]byte

	// For the connection cap (see connSet.room).
	info    atomic.Pointer[connInfo] // net/http's view of it, once it has it
	since   atomic.Int64             // Unix ns: accepted, or last response finished
	evicted atomic.Bool              // closed to make room
}

// waiting reports whether the connection has no response in flight: it
// is in its TLS handshake, reading a request, or idle.
func (c *guardConn) waiting() bool {
	ci := c.info.Load()
	return ci == nil || ci.inFlight.Load() == 0
}

// finish records that nothing more is done about the connection: net/http
// ran its StateClosed hook (which logs a refused request), or it never
// reached net/http. The logs are closed only after every connection has
// finished.
func (c *guardConn) finish() {
	if c.done.CompareAndSwap(false, true) {
		c.set.live.Done()
	}
}

func (c *guardConn) NetConn() net.Conn { return c.Conn }

func (c *guardConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 && !c.started.Load() {
		c.mu.Lock()
		if c.closed {
			// Closed (by a stop, say) while these bytes were on their
			// way: the request was not read, the client sees a clean
			// close and may retry it (RFC 9112 §9.3.1).
			c.mu.Unlock()
			return 0, io.EOF
		}
		c.started.Store(true)
		c.mu.Unlock()
	}
	return n, err
}

// Write writes p, closing the connection if the client accepts no byte of
// it for the send timeout. A client that accepts bytes, however slowly,
// is never cut off: a large file may take hours.
func (c *guardConn) Write(p []byte) (int, error) {
	if c.held != nil {
		if len(*c.held)+len(p) <= cap(*c.held) {
			*c.held = append(*c.held, p...)
			return len(p), nil
		}
		// More than fits: what was held leaves first, then p, held in
		// turn if it fits.
		if err := c.flushHeld(); err != nil {
			return 0, err
		}
		if len(p) <= cap(*c.held) {
			*c.held = append(*c.held, p...)
			return len(p), nil
		}
	}
	clock := c.startSend()
	done := 0
	for {
		n, err := c.Conn.Write(p[done:])
		done += n
		if err == nil || !errors.Is(err, os.ErrDeadlineExceeded) {
			return done, err
		}
		if !clock.again(n > 0) {
			return done, errSendTimeout
		}
	}
}

// holdMax is the most a connection holds (see hold): a small response,
// headers and body, in one TLS record at most.
const holdMax = 16 << 10

var holdPool = sync.Pool{New: func() any { b := make([]byte, 0, holdMax); return &b }}

// hold makes Write keep what it is given (up to holdMax bytes) until
// release sends it with one write. A small response then leaves in one
// system call and one segment, where net/http's 4 KiB buffer would write
// a 4 KiB file in two (and over TLS, as two records in two calls).
func (c *guardConn) hold() { c.held = holdPool.Get().(*[]byte) }

// bulkMax is what a connection holds of a large body sent through Write
// (over TLS, where sendfile cannot help): four full TLS records, which
// then leave in one system call instead of four.
const bulkMax = 64 << 10

var bulkPool = sync.Pool{New: func() any { b := make([]byte, 0, bulkMax); return &b }}

// holdBulk is hold for a large body: Write gathers up to bulkMax bytes and
// writes them at once, until release.
func (c *guardConn) holdBulk() { c.held = bulkPool.Get().(*[]byte) }

// release ends hold: what was held is written now.
func (c *guardConn) release() error {
	if c.held == nil {
		return nil
	}
	err := c.flushHeld()
	if cap(*c.held) == bulkMax {
		bulkPool.Put(c.held)
	} else {
		holdPool.Put(c.held)
	}
	c.held = nil
	return err
}

// flushHeld writes what is held and empties the buffer.
func (c *guardConn) flushHeld() error {
	b := *c.held
	*c.held = b[:0]
	if len(b) == 0 {
		return nil
	}
	held := c.held
	c.held = nil // Write below sends rather than holds
	_, err := c.Write(b)
	c.held = held
	return err
}

// ReadFrom sends a file by sendfile under the same rule as Write. Any
// other source is copied through Write.
func (c *guardConn) ReadFrom(r io.Reader) (int64, error) {
	rf, ok := c.Conn.(io.ReaderFrom)
	f := fileOf(r)
	if !ok || f == nil {
		bp := copyPool.Get().(*[]byte)
		defer copyPool.Put(bp)
		return io.CopyBuffer(plainWriter{c}, r, *bp)
	}
	clock := c.startSend()
	var done int64
	for {
		start, _ := f.Seek(0, io.SeekCurrent)
		n, err := rf.ReadFrom(r)
		done += n
		if err == nil || !errors.Is(err, os.ErrDeadlineExceeded) {
			return done, err
		}
		// sendfile advances the file offset by what it sent; a copy
		// through a buffer may have read more than it wrote, and then the
		// rest cannot be resumed.
		if off, serr := f.Seek(0, io.SeekCurrent); serr != nil || off != start+n {
			c.Conn.Close()
			return done, err
		}
		if !clock.again(n > 0) {
			return done, errSendTimeout
		}
	}
}

// sendClock follows one write for the send timeout. The write runs under
// a deadline of a quarter of the timeout; each time it passes, the write
// goes on if the client accepted a byte within the timeout. So the
// connection closes between sendTimeout and 1.25 sendTimeout after the
// client's last accepted byte, and a progressing write costs one deadline.
type sendClock struct {
	c    *guardConn
	tick time.Duration
	last time.Time // when the client last accepted a byte
}

func (c *guardConn) startSend() sendClock {
	now := time.Now()
	s := sendClock{c: c, tick: max(c.sendTimeout/4, 10*time.Millisecond), last: now}
	// A deadline set by an earlier write that is still at least half a
	// tick away (and no more than one) is kept: a deadline that passes
	// early only costs a turn of the loop (again re-arms it: the client is
	// timed from last), and a busy connection then updates its timer once
	// per half tick rather than for every response. One cleared or set
	// from above (net/http clears it after each request) is replaced.
	if d := time.Duration(c.writeDeadline.Load() - now.UnixNano()); d < s.tick/2 || d > s.tick {
		s.arm(now)
	}
	return s
}

// SetWriteDeadline sets a deadline from above (net/http clears it after
// each request); startSend then knows its own is no longer in effect.
func (c *guardConn) SetWriteDeadline(t time.Time) error {
	c.writeDeadline.Store(deadlineNano(t))
	return c.Conn.SetWriteDeadline(t)
}

func (c *guardConn) SetDeadline(t time.Time) error {
	c.writeDeadline.Store(deadlineNano(t))
	return c.Conn.SetDeadline(t)
}

// deadlineNano is a deadline in Unix ns, 0 for none.
func deadlineNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// arm sets the write deadline a tick from now.
func (s *sendClock) arm(now time.Time) {
	d := now.Add(s.tick)
	s.c.writeDeadline.Store(d.UnixNano())
	s.c.Conn.SetWriteDeadline(d)
}

// again is called when the deadline passed; progressed says whether bytes
// were accepted since the last call. It re-arms the deadline and reports
// true, or closes the connection and reports false.
func (s *sendClock) again(progressed bool) bool {
	now := time.Now()
	if progressed {
		s.last = now
	}
	if now.Sub(s.last) >= s.c.sendTimeout {
		s.c.Conn.Close()
		return false
	}
	s.arm(now)
	return true
}

// fileOf is the file that r reads, when sendfile can send it: an
// *os.File, or a LimitedReader of one.
func fileOf(r io.Reader) *os.File {
	if lr, ok := r.(*io.LimitedReader); ok {
		r = lr.R
	}
	f, _ := r.(*os.File)
	return f
}

var copyPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// plainWriter hides a writer's other methods (here: ReadFrom, to avoid
// recursion).
type plainWriter struct{ io.Writer }

func (c *guardConn) CloseWrite() error { return closeWrite(c.Conn) }

// Close closes the connection. During a stop it closes the write side
// first and lingers (see linger), so that the end of an answer on its way
// is not lost.
func (c *guardConn) Close() error {
	c.mu.Lock()
	was := c.closed
	c.closed = true
	c.mu.Unlock()
	if was {
		return nil
	}
	if c.set.stopping.Load() && !c.forced.Load() {
		go c.linger()
		return nil
	}
	return c.shut()
}

func (c *guardConn) shut() error {
	err := c.Conn.Close()
	c.set.remove(c)
	return err
}

// evict closes the socket under the connection, to make room for a new
// one; whoever holds it (net/http, the TLS handshake) then sees it closed
// and closes the guardConn, which leaves the set.
func (c *guardConn) evict() {
	c.Conn.Close()
}

// lingerTimeout bounds linger (nginx's lingering_timeout is 5s).
const lingerTimeout = time.Second

// linger closes as nginx's lingering close does. A connection closed
// while the client still sends (a pipelined request, the next one on a
// keep-alive connection) answers with a reset, and a reset makes the
// client's kernel drop what it had not read yet: the end of the answer it
// was given. So the write side is closed first (the client reads the
// answer, then the end), what the client sends meanwhile is read and
// dropped, and only then is the connection closed.
func (c *guardConn) linger() {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
		c.Conn.SetReadDeadline(time.Now().Add(lingerTimeout))
		bp := copyPool.Get().(*[]byte)
		for {
			if _, err := c.Conn.Read(*bp); err != nil {
				break
			}
		}
		copyPool.Put(bp)
	}
	c.shut()
}

// closeIfQuiet closes an HTTP/1 connection that has received nothing
// since it was new or last idle. Read sees the close before any byte it
// returns afterwards, so no request is half-read.
func (c *guardConn) closeIfQuiet() {
	c.mu.Lock()
	quiet := !c.h2.Load() && !c.started.Load() && !c.closed
	if quiet {
		c.closed = true
	}
	c.mu.Unlock()
	if quiet {
		go c.linger()
	}
}

// idle records that net/http finished a request on the connection and
// waits for the next (StateIdle). pending says that bytes of the next are
// here already (pipelined, in net/http's buffer). During a stop, an idle
// connection with nothing pending is closed.
func (c *guardConn) idle(pending bool) {
	c.started.Store(pending)
	if c.set.stopping.Load() {
		c.closeIfQuiet()
	}
}

// guardOf finds the guard under a connection that net/http holds: a
// guardConn, or something that wraps one (recordingConn, tls.Conn).
func guardOf(c net.Conn) *guardConn {
	for c != nil {
		if g, ok := c.(*guardConn); ok {
			return g
		}
		w, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			return nil
		}
		c = w.NetConn()
	}
	return nil
}

// connSet is every open connection of a server, for a graceful stop and
// for the connection cap.
type connSet struct {
	stopping atomic.Bool
	mu       sync.Mutex
	conns    map[*guardConn]struct{}
	empty    chan struct{}  // closed when stopping and no connection is left
	live     sync.WaitGroup // connections not finished

	// The connection cap (see room).
	max      func() int // the most connections at once; nil: no cap
	now      func() time.Time
	evicting int           // connections evicted that have not left yet
	left     chan struct{} // closed, and replaced, when a connection leaves
}

func newConnSet(max func() int) *connSet {
	return &connSet{conns: map[*guardConn]struct{}{}, empty: make(chan struct{}), max: max, now: time.Now, left: make(chan struct{})}
}

// add registers c, or reports false when the server is stopping.
func (s *connSet) add(c *guardConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping.Load() {
		return false
	}
	s.conns[c] = struct{}{}
	s.live.Add(1)
	return true
}

// evictedMessage is the error line of a connection evicted by the cap.
const evictedMessage = "closed to make room, the server holding its most connections (see the open-file limit)"

// evictAfter is how long a connection without a response in flight is
// kept, at least, when the cap is reached: long enough for a client to
// finish a TLS handshake or send a request, over Tor too.
const evictAfter = time.Second

// room waits until the set has room for one more connection, or done is
// closed or the server stops (net.ErrClosed). At the cap, it closes the
// connections that have waited longest without a response in flight (in
// a TLS handshake, sending a request's header, or idle: nginx reuses its
// waiting and keep-alive connections so when it runs out), a few at a
// time, once they have waited evictAfter; it never closes a connection
// with a response in flight. So connections that never finish a handshake
// or a request, however many one client opens, cannot take every
// descriptor of the process, and a new client waits its turn in the
// kernel's accept queue. Each listener waits on its own, and may exceed
// the cap by the one connection it accepts: a flood on one listener does
// not stop the others. Nothing here looks at client addresses.
func (s *connSet) room(done <-chan struct{}) error {
	for {
		s.mu.Lock()
		if s.stopping.Load() {
			s.mu.Unlock()
			return net.ErrClosed
		}
		victims, wait, ok := s.makeRoom()
		left := s.left
		s.mu.Unlock()
		for _, v := range victims {
			v.evict()
		}
		if ok {
			return nil
		}
		t := time.NewTimer(wait)
		select {
		case <-left:
		case <-t.C:
		case <-done:
			t.Stop()
			return net.ErrClosed
		}
		t.Stop()
	}
}

// makeRoom reports ok when the set is under the cap, or marks as evicted,
// and returns, the connections to close to bring it under: up to
// 1+max/64 of those without a response in flight that have waited
// evictAfter, longest first. Otherwise it reports how long to wait before
// asking again (at most evictAfter: a response in flight may end). Called
// with s.mu held.
func (s *connSet) makeRoom() (victims []*guardConn, wait time.Duration, ok bool) {
	if s.max == nil {
		return nil, 0, true
	}
	max := s.max()
	if len(s.conns)-s.evicting < max {
		return nil, 0, true
	}
	now := s.now().UnixNano()
	wait = evictAfter
	for c := range s.conns {
		if c.evicted.Load() || !c.waiting() {
			continue
		}
		if age := time.Duration(now - c.since.Load()); age >= evictAfter {
			victims = append(victims, c)
		} else {
			wait = min(wait, evictAfter-age)
		}
	}
	if len(victims) == 0 {
		return nil, wait, false
	}
	if n := 1 + max/64; len(victims) > n {
		slices.SortFunc(victims, func(a, b *guardConn) int { return cmp.Compare(a.since.Load(), b.since.Load()) })
		victims = victims[:n]
	}
	for _, c := range victims {
		c.evicted.Store(true)
		s.evicting++
	}
	return victims, 0, true
}

// waitFinished waits until every connection has finished, or d passes.
func (s *connSet) waitFinished(d time.Duration) {
	done := make(chan struct{})
	go func() { s.live.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
	}
}

func (s *connSet) remove(c *guardConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.conns[c]; ok {
		if c.evicted.Load() {
			s.evicting--
		}
		delete(s.conns, c)
		close(s.left)
		s.left = make(chan struct{})
	}
	s.checkEmpty()
}

func (s *connSet) checkEmpty() {
	if s.stopping.Load() && len(s.conns) == 0 {
		select {
		case <-s.empty:
		default:
			close(s.empty)
		}
	}
}

// drain starts a graceful stop (the listeners are closed already): every
// HTTP/1 connection that has received nothing of a request is closed now,
// before net/http reads one from it; the others finish the request they
// are receiving or answering (which says "Connection: close") and are
// closed when they turn idle (guardConn.idle). It returns a channel closed
// when every HTTP/1 connection is gone. HTTP/2 connections are left to
// net/http's Shutdown (GOAWAY).
func (s *connSet) drain() <-chan struct{} {
	s.mu.Lock()
	s.stopping.Store(true)
	all := make([]*guardConn, 0, len(s.conns))
	for c := range s.conns {
		all = append(all, c)
	}
	s.checkEmpty()
	s.mu.Unlock()
	for _, c := range all {
		c.closeIfQuiet()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for s.countH1() > 0 {
			select {
			case <-s.empty:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return done
}

func (s *connSet) countH1() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for c := range s.conns {
		if !c.h2.Load() {
			n++
		}
	}
	return n
}

// closeAll closes every connection left, when a stop has waited long
// enough.
func (s *connSet) closeAll() {
	s.mu.Lock()
	all := make([]*guardConn, 0, len(s.conns))
	for c := range s.conns {
		all = append(all, c)
	}
	s.mu.Unlock()
	for _, c := range all {
		c.forced.Store(true)
		c.mu.Lock()
		c.closed = true
		c.mu.Unlock()
		c.shut()
	}
}

package server

import (
	"errors"
	"io"
	"net"
	"os"
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

	once sync.Once
}

func (l *guardListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	g := &guardConn{Conn: c, sendTimeout: l.sendTimeout, set: l.conns}
	if l.ids != nil {
		g.id = l.ids.Add(1)
	}
	if !l.conns.add(g) {
		c.Close() // the server is stopping
		return nil, net.ErrClosed
	}
	return g, nil
}

// Close closes the listener once; later calls return nil, so that both a
// stop and net/http's Shutdown may close it.
func (l *guardListener) Close() error {
	var err error
	l.once.Do(func() { err = l.Listener.Close() })
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

	// held is what Write was given since hold, or nil when not holding.
	// Only the goroutine that serves the HTTP/1 connection writes it.
	held *[]byte
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
		// More than fits: what was held leaves first, then p.
		if err := c.flushHeld(); err != nil {
			return 0, err
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

// release ends hold: what was held is written now.
func (c *guardConn) release() error {
	if c.held == nil {
		return nil
	}
	err := c.flushHeld()
	holdPool.Put(c.held)
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
	c.Conn.SetWriteDeadline(now.Add(s.tick))
	return s
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
	s.c.Conn.SetWriteDeadline(now.Add(s.tick))
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

func (c *guardConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

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

// connSet is every open connection of a server, for a graceful stop.
type connSet struct {
	stopping atomic.Bool
	mu       sync.Mutex
	conns    map[*guardConn]struct{}
	empty    chan struct{}  // closed when stopping and no connection is left
	live     sync.WaitGroup // connections not finished
}

func newConnSet() *connSet {
	return &connSet{conns: map[*guardConn]struct{}{}, empty: make(chan struct{})}
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
	delete(s.conns, c)
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

package server

import (
	"bytes"
	"errors"
	"net"
	"os"
	"testing"
	"time"
)

// capSet is a connection set capped at max, on a clock the test moves.
type capSet struct {
	*connSet
	clock time.Time
}

func newCapSet(max int) *capSet {
	s := &capSet{clock: time.Unix(1_800_000_000, 0)}
	s.connSet = newConnSet(func() int { return max })
	s.connSet.now = func() time.Time { return s.clock }
	return s
}

// conn adds a connection accepted (or last served) at the set's clock
// less ago, with inFlight responses in flight. Its client end reports
// whether it was closed.
func (s *capSet) conn(t *testing.T, ago time.Duration, inFlight int32) *testConn {
	t.Helper()
	server, client := net.Pipe()
	t.Cleanup(func() { server.Close(); client.Close() })
	g := &guardConn{Conn: server, set: s.connSet}
	g.since.Store(s.clock.Add(-ago).UnixNano())
	if inFlight > 0 {
		ci := &connInfo{guard: g}
		ci.inFlight.Store(inFlight)
		g.info.Store(ci)
	}
	if !s.add(g) {
		t.Fatal("add refused a connection of a running server")
	}
	return &testConn{g: g, client: client}
}

type testConn struct {
	g      *guardConn
	client net.Conn
}

// closed reports whether the server closed the connection.
func (c *testConn) closed() bool {
	c.client.SetReadDeadline(time.Now().Add(time.Second))
	_, err := c.client.Read(make([]byte, 1))
	return err != nil && !errors.Is(err, os.ErrDeadlineExceeded)
}

func TestConnSetUnderTheCap(t *testing.T) {
	s := newCapSet(3)
	a := s.conn(t, time.Hour, 0)
	s.conn(t, time.Hour, 0)
	s.mu.Lock()
	victims, _, ok := s.makeRoom()
	s.mu.Unlock()
	if !ok || len(victims) != 0 {
		t.Fatalf("2 connections under a cap of 3: got room %v, %d evicted; want room, none evicted", ok, len(victims))
	}
	if a.g.evicted.Load() {
		t.Error("a connection was evicted under the cap")
	}
}

func TestConnSetEvictsLongestWaitingFirst(t *testing.T) {
	s := newCapSet(3) // evicts 1+3/64 = 1 at a time
	newer := s.conn(t, 2*time.Second, 0)
	oldest := s.conn(t, 5*time.Second, 0)
	newest := s.conn(t, 1500*time.Millisecond, 0)

	order := []*testConn{oldest, newer, newest}
	for i := range order {
		if err := s.room(nil); err != nil {
			t.Fatalf("room %d: %v", i, err)
		}
		for j, c := range order {
			if got, want := c.g.evicted.Load(), j <= i; got != want {
				t.Errorf("after %d evictions, the connection that waited %v: evicted %v, want %v", i+1, s.age(c), got, want)
			}
		}
		if !order[i].closed() {
			t.Errorf("the evicted connection that waited %v is still open", s.age(order[i]))
		}
		s.conn(t, 0, 0) // the one accepted in its place
	}
}

func (s *capSet) age(c *testConn) time.Duration {
	return time.Duration(s.clock.UnixNano() - c.g.since.Load())
}

func TestConnSetNeverEvictsAResponseInFlight(t *testing.T) {
	s := newCapSet(2)
	busy := s.conn(t, time.Hour, 1) // oldest, but answering
	idle := s.conn(t, 2*time.Second, 0)
	if err := s.room(nil); err != nil {
		t.Fatal(err)
	}
	if busy.g.evicted.Load() {
		t.Error("the connection with a response in flight was evicted")
	}
	if !idle.g.evicted.Load() || !idle.closed() {
		t.Error("the waiting connection was not evicted")
	}
}

func TestConnSetWaitsForYoungConnections(t *testing.T) {
	s := newCapSet(2)
	s.conn(t, 300*time.Millisecond, 0)
	s.conn(t, 100*time.Millisecond, 0)
	s.mu.Lock()
	victims, wait, ok := s.makeRoom()
	s.mu.Unlock()
	if ok || len(victims) != 0 {
		t.Fatalf("at the cap with connections younger than %v: got room %v, %d evicted; want no room yet", evictAfter, ok, len(victims))
	}
	if want := evictAfter - 300*time.Millisecond; wait != want {
		t.Errorf("wait %v, want %v (until the oldest has waited %v)", wait, want, evictAfter)
	}
}

// TestConnSetWaitsWhileAllAnswer: when every connection has a response in
// flight, a listener waits (new clients wait in the accept queue) until
// one leaves; a closed listener stops waiting.
func TestConnSetWaitsWhileAllAnswer(t *testing.T) {
	s := newCapSet(2)
	a := s.conn(t, time.Hour, 1)
	b := s.conn(t, time.Hour, 2)
	s.mu.Lock()
	_, _, ok := s.makeRoom()
	s.mu.Unlock()
	if ok {
		t.Fatal("room at the cap with every connection answering")
	}

	got := make(chan error, 1)
	go func() { got <- s.room(nil) }()
	a.g.shut() // its response ended and the client left
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("room after a connection left: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("room still waits after a connection left")
	}
	if a.g.evicted.Load() || b.g.evicted.Load() {
		t.Error("a connection with a response in flight was evicted")
	}

	s.conn(t, time.Hour, 1)
	done := make(chan struct{})
	go func() { got <- s.room(done) }()
	close(done)
	select {
	case err := <-got:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("room on a closed listener: %v, want net.ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("room still waits after its listener closed")
	}
}

// writesConn records each Write it is given.
type writesConn struct {
	net.Conn
	writes [][]byte
}

func (c *writesConn) Write(p []byte) (int, error) {
	c.writes = append(c.writes, bytes.Clone(p))
	return len(p), nil
}

func (c *writesConn) SetWriteDeadline(time.Time) error { return nil }

// TestHoldSendsOneWrite: what a guarded connection is given while it holds
// leaves in one write, in order; more than it can hold leaves in order too.
func TestHoldSendsOneWrite(t *testing.T) {
	under := &writesConn{}
	g := &guardConn{Conn: under, sendTimeout: time.Minute}
	head, body := bytes.Repeat([]byte("h"), 4096), bytes.Repeat([]byte("b"), 300)
	g.hold()
	g.Write(head)
	g.Write(body)
	if len(under.writes) != 0 {
		t.Fatalf("%d writes while holding, want none", len(under.writes))
	}
	if err := g.release(); err != nil {
		t.Fatal(err)
	}
	if len(under.writes) != 1 || !bytes.Equal(under.writes[0], append(head, body...)) {
		t.Fatalf("got %d writes, want one of the %d bytes held", len(under.writes), len(head)+len(body))
	}

	under.writes = nil
	big := bytes.Repeat([]byte("x"), holdMax)
	g.hold()
	g.Write(head)
	g.Write(big) // does not fit: head leaves, then big
	g.Write(body)
	g.release()
	if got := bytes.Join(under.writes, nil); !bytes.Equal(got, append(append(bytes.Clone(head), big...), body...)) || len(under.writes) != 3 {
		t.Fatalf("past holdMax: %d writes of %d bytes, want 3 in order", len(under.writes), len(got))
	}
	g.Write(body)
	if len(under.writes) != 4 {
		t.Error("after release, a write is held")
	}
}

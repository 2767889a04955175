package server

import (
	"bytes"
	"net"
	"testing"
	"time"
)

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

package proxy

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

var timeZero time.Time

// idleConn is a destination connection whose reads and writes each fail
// after idle without progress, so a stalled server cannot hold a client's
// request (and a connection slot) forever.
type idleConn struct {
	net.Conn
	idle time.Duration
}

func (c *idleConn) Read(p []byte) (int, error) {
	c.Conn.SetReadDeadline(time.Now().Add(c.idle))
	return c.Conn.Read(p)
}

func (c *idleConn) Write(p []byte) (int, error) {
	c.Conn.SetWriteDeadline(time.Now().Add(c.idle))
	return c.Conn.Write(p)
}

// CloseWrite half-closes when the underlying connection can.
func (c *idleConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// pipe copies both ways until both directions end; a direction that meets
// EOF half-closes the other side. The tunnel is closed when neither
// direction has carried a byte for s.idle: a long download keeps it open
// however quiet the client is. It returns the bytes sent to the client.
func (s *Server) pipe(client, up net.Conn) int64 {
	var last atomic.Int64
	last.Store(time.Now().UnixNano())
	var toClient atomic.Int64
	var once sync.Once
	closeBoth := func() { once.Do(func() { client.Close(); up.Close() }) }
	copyDir := func(dst, src net.Conn, count *atomic.Int64) {
		buf := make([]byte, 32<<10)
		for {
			src.SetReadDeadline(time.Now().Add(s.idle))
			n, err := src.Read(buf)
			if n > 0 {
				last.Store(time.Now().UnixNano())
				dst.SetWriteDeadline(time.Now().Add(s.idle))
				if _, werr := dst.Write(buf[:n]); werr != nil {
					closeBoth()
					return
				}
				if count != nil {
					count.Add(int64(n))
				}
			}
			if err == nil {
				continue
			}
			if errors.Is(err, os.ErrDeadlineExceeded) && time.Since(time.Unix(0, last.Load())) < s.idle {
				continue // the other direction is busy
			}
			if isEOF(err) {
				if cw, ok := dst.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
					return
				}
			}
			closeBoth()
			return
		}
	}
	var wg sync.WaitGroup
	wg.Go(func() { copyDir(up, client, nil) })
	wg.Go(func() { copyDir(client, up, &toClient) })
	wg.Wait()
	closeBoth()
	return toClient.Load()
}

func isEOF(err error) bool { return errors.Is(err, io.EOF) }

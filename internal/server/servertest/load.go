package servertest

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// LoadClient sends requests on one keep-alive connection until the server
// closes it, and checks every answer: each must be whole, or the
// connection closed before any byte of it.
type LoadClient struct {
	Answered int    // whole answers of 200
	Partial  string // what went wrong mid-answer, if anything
}

// Run sends GET target on conn, depth requests at a time (pipelined when
// depth > 1), adding each whole answer to progress, until the server
// closes the connection or says Connection: close. It closes conn.
func (lc *LoadClient) Run(conn net.Conn, depth int, target string, progress *atomic.Int64) {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(60 * time.Second))
	br := bufio.NewReader(conn)
	req := strings.Repeat("GET "+target+" HTTP/1.1\r\nHost: x\r\n\r\n", depth)
	for {
		if _, err := io.WriteString(conn, req); err != nil {
			return // closed first: nothing was half-answered
		}
		for range depth {
			if _, err := br.Peek(1); err != nil {
				return // closed before any byte of this answer: a clean close
			}
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				lc.Partial = "reading an answer: " + err.Error()
				return
			}
			n, err := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil || n != resp.ContentLength || resp.StatusCode != 200 {
				lc.Partial = "answer " + resp.Status + " cut short or wrong"
				return
			}
			lc.Answered++
			progress.Add(1)
			if resp.Close {
				return
			}
		}
	}
}

package server

import "bytes"

const (
	// lineKeep is how much of a request line is kept for its log line.
	lineKeep = 2 << 10
	// maxPending is how many pipelined requests are followed at once;
	// past it, a refused request is logged with "-" for its line.
	maxPending = 8
	// replyKeep is how much of net/http's own answer is kept: its status
	// line and headers, to find the status and where the body starts.
	replyKeep = 256
)

// requestScan splits the bytes a client sends on an HTTP/1 connection into
// requests, the way net/http's reader does: a request line, header lines,
// and an empty line ("\r\n" or "\n") that ends them. Requests with a body
// end the connection (markHandled), so the scan never has to skip one.
type requestScan struct {
	lines []byte // the pending requests' lines (up to lineKeep each), one after another
	reqs  []pendingRequest
	lost  bool // the scan cannot tell where requests start any more
}

// pendingRequest is a request received, in part or whole, and not handled.
type pendingRequest struct {
	line   int  // how many bytes of lines its request line holds
	inLine bool // its request line has not ended yet
	done   bool // its header block has ended
	cur    int  // bytes of the current header line so far
	lastCR bool // the current header line's last byte so far is '\r'
}

func (s *requestScan) feed(p []byte) {
	for len(p) > 0 && !s.lost {
		n := len(s.reqs)
		if n == 0 || s.reqs[n-1].done {
			if n == maxPending {
				s.lost = true
				return
			}
			s.reqs = append(s.reqs, pendingRequest{inLine: true})
			n++
		}
		r := &s.reqs[n-1]
		seg := p
		i := bytes.IndexByte(p, '\n')
		if i >= 0 {
			seg = p[:i]
		}
		if r.inLine {
			if k := min(lineKeep-r.line, len(seg)); k > 0 {
				s.lines = append(s.lines, seg[:k]...)
				r.line += k
			}
		} else if len(seg) > 0 {
			r.cur += len(seg)
			r.lastCR = seg[len(seg)-1] == '\r'
		}
		if i < 0 {
			return
		}
		switch {
		case r.inLine:
			r.inLine = false
		case r.cur == 0 || r.cur == 1 && r.lastCR:
			r.done = true
		}
		r.cur, r.lastCR = 0, false
		p = p[i+1:]
	}
}

// front is the oldest pending request and its line, or nil.
func (s *requestScan) front() (*pendingRequest, []byte) {
	if len(s.reqs) == 0 {
		return nil, nil
	}
	return &s.reqs[0], bytes.TrimSuffix(s.lines[:s.reqs[0].line], []byte("\r"))
}

func (s *requestScan) pop() {
	if len(s.reqs) == 0 {
		return
	}
	n := s.reqs[0].line
	s.lines = s.lines[:copy(s.lines, s.lines[n:])]
	s.reqs = s.reqs[:copy(s.reqs, s.reqs[1:])]
}

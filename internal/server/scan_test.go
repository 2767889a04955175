package server

import (
	"bytes"
	"strings"
	"testing"
)

// scanResult is what a requestScan holds: each pending request's line and
// whether its header block ended.
func scanResult(s *requestScan) []string {
	var out []string
	off := 0
	for _, r := range s.reqs {
		line := string(bytes.TrimSuffix(s.lines[off:off+r.line], []byte("\r")))
		if r.done {
			line += " [done]"
		}
		out = append(out, line)
		off += r.line
	}
	return out
}

func TestRequestScan(t *testing.T) {
	big := strings.Repeat("v", 64<<10)
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"one request", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", []string{"GET / HTTP/1.1 [done]"}},
		{"bare LF", "GET / HTTP/1.1\nHost: x\n\n", []string{"GET / HTTP/1.1 [done]"}},
		{"no headers", "GET / HTTP/1.0\r\n\r\n", []string{"GET / HTTP/1.0 [done]"}},
		{"pipelined", "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n",
			[]string{"GET /a HTTP/1.1 [done]", "GET /b HTTP/1.1 [done]"}},
		{"half-sent second", "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost:", []string{"GET /a HTTP/1.1 [done]", "GET /b HTTP/1.1"}},
		{"half-sent line", "GET /a HT", []string{"GET /a HT"}},
		{"a header's value is no request line", "GET /a HTTP/1.1\r\nX-Big: " + big + "\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
			[]string{"GET /a HTTP/1.1 [done]", "GET /b HTTP/1.1 [done]"}},
		{"a long line is kept in part", "GET /" + big + " HTTP/1.1\r\n\r\n", []string{"GET /" + big[:lineKeep-5] + " [done]"}},
		{"CR CR LF is not an empty line", "GET / HTTP/1.1\r\n\r\r\nHost: x\r\n\r\n", []string{"GET / HTTP/1.1 [done]"}},
		{"garbage", "\x16\x03\x01garbage\r\n\r\n", []string{"\x16\x03\x01garbage [done]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s requestScan
			s.feed([]byte(tt.in))
			if got := scanResult(&s); strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestRequestScanPops: handled requests leave the scan in order, and the
// next one's line is then in front.
func TestRequestScanPops(t *testing.T) {
	var s requestScan
	s.feed([]byte("GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\nG(T /c"))
	for _, want := range []string{"GET /a HTTP/1.1", "GET /b HTTP/1.1", "G(T /c"} {
		_, line := s.front()
		if string(line) != want {
			t.Fatalf("front %q, want %q", line, want)
		}
		s.pop()
	}
	if f, _ := s.front(); f != nil {
		t.Errorf("front after the last pop: %+v", f)
	}
	for range maxPending + 1 {
		s.feed([]byte("GET / HTTP/1.1\r\n\r\n"))
	}
	if !s.lost || len(s.reqs) != maxPending {
		t.Errorf("past %d pipelined requests: lost %v with %d pending, want lost with %d", maxPending, s.lost, len(s.reqs), maxPending)
	}
}

// FuzzRequestScan: however a stream is cut into reads, the scan sees the
// same requests; no kept line is longer than lineKeep or holds a newline.
func FuzzRequestScan(f *testing.F) {
	f.Add("GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\n\r\n", uint8(3))
	f.Add("GET /a HTTP/1.1\nX: y\n\nG(T /c\r\n\r", uint8(1))
	f.Add("\r\n\r\n\r\n", uint8(2))
	f.Fuzz(func(t *testing.T, in string, cut uint8) {
		var whole, parts requestScan
		whole.feed([]byte(in))
		step := int(cut)%17 + 1
		for i := 0; i < len(in); i += step {
			parts.feed([]byte(in[i:min(len(in), i+step)]))
		}
		if a, b := scanResult(&whole), scanResult(&parts); strings.Join(a, "\x00") != strings.Join(b, "\x00") || whole.lost != parts.lost {
			t.Fatalf("whole %q (lost %v), in reads of %d %q (lost %v)", a, whole.lost, step, b, parts.lost)
		}
		for _, r := range whole.reqs {
			if r.line > lineKeep {
				t.Fatalf("a kept line of %d bytes", r.line)
			}
		}
		if bytes.IndexByte(whole.lines, '\n') >= 0 {
			t.Fatalf("a kept line holds a newline: %q", whole.lines)
		}
	})
}

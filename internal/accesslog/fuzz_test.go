package accesslog

import (
	"bytes"
	"testing"
	"time"
)

// FuzzParse checks that Parse never panics, that what it accepts has a sane
// shape, and that a line written by AppendCombined parses back to its
// fields and re-formats to itself.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`203.0.113.7 - - [29/Nov/2026:04:28:39 +0000] "GET /r4.2/repodata/repomd.xml HTTP/1.1" 200 3859 "-" "libdnf"`), "GET /a b HTTP/1.1", "ua\x00\"")
	f.Add([]byte(`2001:db8::1 - - [29/Nov/2026:04:28:39 -0130] "HEAD /x HTTP/1.0" 304 - "r" "u \"q\""`), "", "")
	f.Add([]byte("\x00\xff[]\"\"\\"), "\\\"", "\n")
	f.Fuzz(func(t *testing.T, line []byte, request, ua string) {
		var l Line
		if err := Parse(line, &l); err == nil {
			if len(l.Addr) == 0 || l.Status < 0 || l.Status > 999 {
				t.Fatalf("accepted %q with addr %q status %d", line, l.Addr, l.Status)
			}
		}

		e := Entry{RemoteAddr: "198.51.100.9", Time: time.Unix(1764390519, 0).UTC(), Request: request, Status: 200, BodyBytes: 42, UserAgent: ua}
		out := AppendCombined(nil, &e)
		if bytes.Count(out, []byte("\n")) != 1 {
			t.Fatalf("line %q holds a raw newline", out)
		}
		if err := Parse(out, &l); err != nil {
			t.Fatalf("Parse(AppendCombined(...)) = %v for %q", err, out)
		}
		if l.Unix != e.Time.Unix() || l.Status != 200 || l.BodyBytes != 42 {
			t.Fatalf("round trip changed fields: %+v", l)
		}
		if want := AppendEscaped(nil, request); request != "" && !bytes.Equal(l.Request, want) {
			t.Fatalf("request %q, want %q", l.Request, want)
		}
		// The request line in parts is written as the whole line.
		if m, rest, ok := bytes.Cut([]byte(request), []byte(" ")); ok && len(m) > 0 {
			uri, proto, _ := bytes.Cut(rest, []byte(" "))
			parts := e
			parts.Request, parts.Method, parts.URI, parts.Proto = "", string(m), string(uri), string(proto)
			if whole := AppendCombined(nil, &Entry{RemoteAddr: e.RemoteAddr, Time: e.Time, Request: string(m) + " " + string(uri) + " " + string(proto), Status: 200, BodyBytes: 42, UserAgent: ua}); !bytes.Equal(AppendCombined(nil, &parts), whole) {
				t.Fatalf("in parts %q, whole %q", AppendCombined(nil, &parts), whole)
			}
		}
	})
}

package errorlog

import (
	"bytes"
	"testing"
	"time"
)

// FuzzParse checks that Parse never panics on any input, and that a line
// written by Append with arbitrary client-controlled values parses back to
// the same client, request and host: nothing a client sends can forge a
// field or split the line.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`2026/11/29 04:28:39 [error] 1234#0: *567 open() "/srv/yum/x" failed (2: No such file or directory), client: 203.0.113.7, server: yum.example.org, request: "GET /x HTTP/1.1", host: "yum.example.org"`), "/srv/yum/x", "GET /x HTTP/1.1", "h")
	f.Add([]byte(`2026/11/29 04:28:39 [warn] 9#0: *1 x, client: 2001:db8::1, server: _, request: "POST /a b HTTP/1.1", upstream: "u", host: "x"`), `", client: 6.6.6.6`, "\n\"", "\\")
	f.Add([]byte("2026/02/29 00:00:00 [error] 1#0: x"), "", "", "")
	f.Add([]byte(`2026/11/29 04:28:39 [error] 1#0: *2 open() "/x"y" failed, client: 203.0.113.7`), "\xff", "", ", host: ")
	f.Fuzz(func(t *testing.T, line []byte, path, request, host string) {
		var l Line
		if err := Parse(line, &l); err == nil && len(l.Level) == 0 {
			t.Fatalf("accepted %q with an empty level", line)
		}

		e := Entry{Time: time.Unix(1764390519, 0), Level: Error, PID: 1, ConnID: 5,
			Message: "open() " + Quote(path) + " failed", Client: "198.51.100.9", Server: "s", Request: request, Host: host}
		out := Append(nil, &e)
		if bytes.Count(out, []byte("\n")) != 1 {
			t.Fatalf("line %q holds a raw newline", out)
		}
		if err := Parse(out, &l); err != nil {
			t.Fatalf("Parse(Append(...)) = %v for %q", err, out)
		}
		if string(l.Client) != e.Client || l.Unix != e.Time.Unix() || l.ConnID != 5 {
			t.Fatalf("round trip of %q: client %q unix %d conn %d", out, l.Client, l.Unix, l.ConnID)
		}
		if want := string(AppendQuoted(nil, request)); request != "" && `"`+string(l.Request)+`"` != want {
			t.Fatalf("request %q, want %s", l.Request, want)
		}
		if want := string(AppendQuoted(nil, host)); host != "" && `"`+string(l.Host)+`"` != want {
			t.Fatalf("host %q, want %s", l.Host, want)
		}
	})
}

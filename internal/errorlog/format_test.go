package errorlog

import (
	"testing"
	"time"
)

func TestAppend(t *testing.T) {
	at := time.Date(2026, 11, 29, 5, 28, 39, 0, time.FixedZone("CET", 3600))
	tests := []struct {
		name string
		e    Entry
		want string
	}{
		{
			name: "spec example",
			e: Entry{Time: at, Level: Error, PID: 1234, ConnID: 567,
				Message: "open() " + Quote("/srv/yum/x") + " failed (2: No such file or directory)",
				Client:  "203.0.113.7", Server: "yum.example.org", Request: "GET /x HTTP/1.1", Host: "yum.example.org"},
			want: `2026/11/29 04:28:39 [error] 1234#0: *567 open() "/srv/yum/x" failed (2: No such file or directory), client: 203.0.113.7, server: yum.example.org, request: "GET /x HTTP/1.1", host: "yum.example.org"` + "\n",
		},
		{
			name: "no request, default level",
			e:    Entry{Time: at, PID: 7, Message: "listener closed"},
			want: "2026/11/29 04:28:39 [error] 7#0: listener closed\n",
		},
		{
			name: "hostile values are escaped",
			e: Entry{Time: at, Level: Warn, PID: 1, ConnID: 2, Message: "bad\nline " + Quote(`/a", client: 6.6.6.6`),
				Client: "1.2.3.4", Request: "GET /\"\x00 HTTP/1.1", Host: "h\\"},
			want: `2026/11/29 04:28:39 [warn] 1#0: *2 bad\x0Aline "/a\x22, client: 6.6.6.6", client: 1.2.3.4, request: "GET /\x22\x00 HTTP/1.1", host: "h\x5C"` + "\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(Append(nil, &tt.e)); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// TestAppendTime checks the line's once-a-second time (logtime.Stamps,
// whose own tests cover it in depth) against time.Format, in UTC whatever
// the entry's zone, across a second and a zone's change to summer time.
func TestAppendTime(t *testing.T) {
	base := time.Date(2026, 3, 29, 0, 59, 59, 0, time.UTC) // Europe's summer time starts at 01:00 UTC
	zones := []*time.Location{time.UTC, time.FixedZone("CET", 3600), time.FixedZone("CEST", 7200)}
	for i := range 12 {
		at := base.Add(time.Duration(i) * 250 * time.Millisecond)
		for _, z := range zones {
			e := Entry{Time: at.In(z), PID: 1, Message: "m"}
			want := at.UTC().Format(TimeLayout) + " [error] 1#0: m\n"
			if got := string(Append(nil, &e)); got != want {
				t.Fatalf("%v in %v: got %q, want %q", at, z, got, want)
			}
		}
	}
}

package errorlog

import (
	"errors"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name                               string
		line                               string
		err                                error
		level                              string
		pid, tid                           int
		conn                               uint64
		msg, client, server, request, host string
		unix                               int64
	}{
		{
			name:  "nginx open failed",
			line:  `2026/11/29 04:28:39 [error] 1234#0: *567 open() "/srv/yum/x" failed (2: No such file or directory), client: 203.0.113.7, server: yum.example.org, request: "GET /x HTTP/1.1", host: "yum.example.org"` + "\n",
			level: "error", pid: 1234, conn: 567,
			msg: `open() "/srv/yum/x" failed (2: No such file or directory)`, client: "203.0.113.7", server: "yum.example.org",
			request: "GET /x HTTP/1.1", host: "yum.example.org",
			unix: time.Date(2026, 11, 29, 4, 28, 39, 0, time.UTC).Unix(),
		},
		{
			name:  "no request, no connection",
			line:  `2026/02/28 23:59:59 [notice] 1#3: signal process started`,
			level: "notice", pid: 1, tid: 3, msg: "signal process started",
			unix: time.Date(2026, 2, 28, 23, 59, 59, 0, time.UTC).Unix(),
		},
		{
			name:  "ipv6 client, upstream and referrer skipped",
			line:  `2026/11/29 04:28:39 [warn] 9#0: *1 an upstream response is buffered, client: 2001:db8::1, server: _, request: "POST /a b HTTP/1.1", upstream: "http://127.0.0.1:9000/a", host: "x", referrer: "http://r/"` + "\r\n",
			level: "warn", pid: 9, conn: 1, msg: "an upstream response is buffered", client: "2001:db8::1", server: "_",
			request: "POST /a b HTTP/1.1", host: "x",
			unix: time.Date(2026, 11, 29, 4, 28, 39, 0, time.UTC).Unix(),
		},
		{
			name:  "quoted path cannot forge the client",
			line:  `2026/11/29 04:28:39 [error] 1#0: *2 open() "/x\x22, client: 6.6.6.6, y" failed, client: 203.0.113.7, server: s`,
			level: "error", pid: 1, conn: 2, msg: `open() "/x\x22, client: 6.6.6.6, y" failed`, client: "203.0.113.7", server: "s",
			unix: time.Date(2026, 11, 29, 4, 28, 39, 0, time.UTC).Unix(),
		},
		{
			name:  "unbalanced raw quote from nginx",
			line:  `2026/11/29 04:28:39 [error] 1#0: *2 open() "/x"y" failed, client: 203.0.113.7`,
			level: "error", pid: 1, conn: 2, msg: `open() "/x"y" failed`, client: "203.0.113.7",
			unix: time.Date(2026, 11, 29, 4, 28, 39, 0, time.UTC).Unix(),
		},
		{name: "leap day of a non-leap year", line: `2026/02/29 00:00:00 [error] 1#0: x`, err: ErrTime},
		{name: "access-log line", line: `203.0.113.7 - - [29/Nov/2026:04:28:39 +0000] "GET / HTTP/1.1" 200 1 "-" "-"`, err: ErrTime},
		{name: "no level", line: `2026/11/29 04:28:39 error 1#0: x`, err: ErrLevel},
		{name: "empty level", line: `2026/11/29 04:28:39 [] 1#0: x`, err: ErrLevel},
		{name: "no pid", line: `2026/11/29 04:28:39 [error] x`, err: ErrPID},
		{name: "truncated", line: `2026/11/29 04:28`, err: ErrTime},
		{name: "empty", line: ``, err: ErrTime},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l Line
			err := Parse([]byte(tt.line), &l)
			if !errors.Is(err, tt.err) {
				t.Fatalf("Parse error = %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			got := []string{string(l.Level), string(l.Message), string(l.Client), string(l.Server), string(l.Request), string(l.Host)}
			want := []string{tt.level, tt.msg, tt.client, tt.server, tt.request, tt.host}
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("field %d (level, msg, client, server, request, host) = %q, want %q", i, got[i], want[i])
				}
			}
			if l.PID != tt.pid || l.TID != tt.tid || l.ConnID != tt.conn || l.Unix != tt.unix {
				t.Errorf("pid, tid, conn, unix = %d %d %d %d, want %d %d %d %d", l.PID, l.TID, l.ConnID, l.Unix, tt.pid, tt.tid, tt.conn, tt.unix)
			}
		})
	}
}

func TestParseAllocs(t *testing.T) {
	line := []byte(`2026/11/29 04:28:39 [error] 1234#0: *567 open() "/srv/yum/x" failed (2: No such file or directory), client: 203.0.113.7, server: yum.example.org, request: "GET /x HTTP/1.1", host: "yum.example.org"`)
	var l Line
	if n := testing.AllocsPerRun(100, func() { _ = Parse(line, &l) }); n != 0 {
		t.Errorf("Parse allocates %v times per line, want 0", n)
	}
}

package accesslog

import (
	"errors"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name                 string
		line                 string
		err                  error
		addr, method, target string
		proto                string
		status               int
		size                 int64
		ua                   string
		unix                 int64
	}{
		{
			name: "nginx combined",
			line: `203.0.113.7 - - [29/Nov/2026:04:28:39 +0000] "GET /r4.2/repodata/repomd.xml HTTP/1.1" 200 3859 "-" "libdnf (Fedora 37)"` + "\n",
			addr: "203.0.113.7", method: "GET", target: "/r4.2/repodata/repomd.xml", proto: "HTTP/1.1",
			status: 200, size: 3859, ua: "libdnf (Fedora 37)",
			unix: time.Date(2026, 11, 29, 4, 28, 39, 0, time.UTC).Unix(),
		},
		{
			name: "offset moves the month",
			line: `1.2.3.4 - - [01/Dec/2026:00:30:00 +0100] "GET / HTTP/1.1" 200 1 "-" "-"`,
			addr: "1.2.3.4", method: "GET", target: "/", proto: "HTTP/1.1", status: 200, size: 1, ua: "-",
			unix: time.Date(2026, 11, 30, 23, 30, 0, 0, time.UTC).Unix(),
		},
		{
			name: "ipv6, dash size, spaces in target, crlf",
			line: `2001:db8::1 - alice [29/Nov/2026:04:28:39 -0130] "HEAD /a b/c HTTP/1.0" 304 - "http://x/" "ua \"q\""` + "\r\n",
			addr: "2001:db8::1", method: "HEAD", target: "/a b/c", proto: "HTTP/1.0", status: 304, size: -1, ua: `ua \"q\"`,
			unix: time.Date(2026, 11, 29, 5, 58, 39, 0, time.UTC).Unix(),
		},
		{
			name: "common format",
			line: `10.0.0.1 - - [29/Nov/2026:04:28:39 +0000] "GET /x HTTP/1.1" 200 12`,
			addr: "10.0.0.1", method: "GET", target: "/x", proto: "HTTP/1.1", status: 200, size: 12,
			unix: time.Date(2026, 11, 29, 4, 28, 39, 0, time.UTC).Unix(),
		},
		{
			name: "garbage request on a 400",
			line: `10.0.0.1 - - [29/Nov/2026:04:28:39 +0000] "\x16\x03\x01\x02\x00\x01\x00\x01\xFC\x03\x03" 400 157 "-" "-"`,
			addr: "10.0.0.1", method: `\x16\x03\x01\x02\x00\x01\x00\x01\xFC\x03\x03`, status: 400, size: 157, ua: "-",
			unix: time.Date(2026, 11, 29, 4, 28, 39, 0, time.UTC).Unix(),
		},
		{
			name: "dash request", line: `10.0.0.1 - - [29/Nov/2026:04:28:39 +0000] "-" 400 0 "-" "-"`,
			addr: "10.0.0.1", method: "-", status: 400, ua: "-",
			unix: time.Date(2026, 11, 29, 4, 28, 39, 0, time.UTC).Unix(),
		},
		{name: "empty", line: "", err: ErrAddr},
		{name: "binary junk", line: "\x00\x01\x02 \xff\xfe", err: ErrTime},
		{name: "truncated time", line: `1.2.3.4 - - [29/Nov/2026:04:28`, err: ErrTime},
		{name: "bad month", line: `1.2.3.4 - - [29/Foo/2026:04:28:39 +0000] "GET / HTTP/1.1" 200 1 "-" "-"`, err: ErrTime},
		{name: "31 November", line: `1.2.3.4 - - [31/Nov/2026:04:28:39 +0000] "GET / HTTP/1.1" 200 1 "-" "-"`, err: ErrTime},
		{name: "unterminated request", line: `1.2.3.4 - - [29/Nov/2026:04:28:39 +0000] "GET / HTTP/1.1 200 1`, err: ErrRequest},
		{name: "status not a number", line: `1.2.3.4 - - [29/Nov/2026:04:28:39 +0000] "GET / HTTP/1.1" abc 1 "-" "-"`, err: ErrStatus},
		{name: "four-digit status", line: `1.2.3.4 - - [29/Nov/2026:04:28:39 +0000] "GET / HTTP/1.1" 2000 1 "-" "-"`, err: ErrStatus},
		{name: "huge size", line: `1.2.3.4 - - [29/Nov/2026:04:28:39 +0000] "GET / HTTP/1.1" 200 99999999999999999999 "-" "-"`, err: ErrSize},
		{name: "truncated user agent", line: `1.2.3.4 - - [29/Nov/2026:04:28:39 +0000] "GET / HTTP/1.1" 200 1 "-" "Mozi`, err: ErrQuoted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l Line
			err := Parse([]byte(tt.line), &l)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			check := func(field, got, want string) {
				if got != want {
					t.Errorf("%s = %q, want %q", field, got, want)
				}
			}
			check("addr", string(l.Addr), tt.addr)
			check("method", string(l.Method), tt.method)
			check("target", string(l.Target), tt.target)
			check("proto", string(l.Proto), tt.proto)
			check("user agent", string(l.UserAgent), tt.ua)
			if l.Status != tt.status || l.BodyBytes != tt.size || l.Unix != tt.unix {
				t.Errorf("status, size, unix = %d, %d, %d; want %d, %d, %d", l.Status, l.BodyBytes, l.Unix, tt.status, tt.size, tt.unix)
			}
		})
	}
}

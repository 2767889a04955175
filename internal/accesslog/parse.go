package accesslog

import (
	"bytes"
	"errors"

	"depot/internal/logtime"
)

// Line is one parsed combined-format line. Every byte-slice field aliases
// the input passed to Parse: it is valid only until that buffer is reused,
// and it is still escaped as the log holds it.
type Line struct {
	Addr      []byte // $remote_addr
	User      []byte // $remote_user, "-" when empty
	Time      []byte // $time_local without brackets: "29/Nov/2026:04:28:39 +0000"
	Request   []byte // the whole request field without quotes
	Method    []byte // first word of Request
	Target    []byte // Request between method and protocol; may contain spaces
	Proto     []byte // "HTTP/1.1", or empty when the request line had none
	Status    int
	BodyBytes int64 // -1 when the log says "-"
	Referer   []byte
	UserAgent []byte
	// Unix is Time as seconds since the epoch, in UTC (the line's own offset
	// applied).
	Unix int64
}

// Parse errors. They say which field broke so a caller can count them.
var (
	ErrAddr    = errors.New("accesslog: no client address")
	ErrTime    = errors.New("accesslog: bad [time_local] field")
	ErrRequest = errors.New("accesslog: bad quoted request field")
	ErrStatus  = errors.New("accesslog: bad status")
	ErrSize    = errors.New("accesslog: bad body size")
	ErrQuoted  = errors.New("accesslog: bad quoted referer or user-agent field")
)

// Parse reads one combined-format line (a trailing "\n" or "\r\n" is
// allowed) into l without allocating. The common format, which ends after
// the size, is accepted too; fields after the user agent are ignored.
//
// Quoted fields may hold nginx's \xHH escapes or Apache's \" and \\; a quote
// preceded by a backslash never ends a field. A request field such as
// "GET /a b HTTP/1.1" yields the target "/a b".
func Parse(line []byte, l *Line) error {
	*l = Line{}
	line = bytes.TrimRight(line, "\r\n")

	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 {
		return ErrAddr
	}
	l.Addr, line = line[:sp], line[sp+1:]

	// "- user [" — ident is ignored; user runs to the next space.
	sp = bytes.IndexByte(line, ' ')
	if sp < 0 {
		return ErrTime
	}
	line = line[sp+1:]
	sp = bytes.IndexByte(line, ' ')
	if sp < 0 {
		return ErrTime
	}
	l.User, line = line[:sp], line[sp+1:]

	if len(line) < 28 || line[0] != '[' || line[27] != ']' {
		return ErrTime
	}
	l.Time = line[1:27]
	unix, ok := ParseTime(l.Time)
	if !ok {
		return ErrTime
	}
	l.Unix = unix
	line = line[28:]

	if len(line) < 2 || line[0] != ' ' || line[1] != '"' {
		return ErrRequest
	}
	req, rest, ok := quoted(line[1:])
	if !ok {
		return ErrRequest
	}
	l.Request = req
	splitRequest(l)
	line = rest

	if len(line) < 2 || line[0] != ' ' {
		return ErrStatus
	}
	line = line[1:]
	status, n := atoi(line)
	if n != 3 {
		return ErrStatus
	}
	l.Status = status
	line = line[n:]

	if len(line) < 2 || line[0] != ' ' {
		return ErrSize
	}
	line = line[1:]
	if line[0] == '-' {
		l.BodyBytes = -1
		line = line[1:]
	} else {
		size, n := atoi64(line)
		if n == 0 {
			return ErrSize
		}
		l.BodyBytes = size
		line = line[n:]
	}
	if len(line) == 0 {
		return nil // common log format
	}
	if len(line) < 2 || line[0] != ' ' || line[1] != '"' {
		return ErrQuoted
	}
	if l.Referer, line, ok = quoted(line[1:]); !ok {
		return ErrQuoted
	}
	if len(line) < 2 || line[0] != ' ' || line[1] != '"' {
		return ErrQuoted
	}
	if l.UserAgent, _, ok = quoted(line[1:]); !ok {
		return ErrQuoted
	}
	return nil
}

// quoted takes b starting at a '"' and returns the field's contents and what
// follows the closing quote.
func quoted(b []byte) (field, rest []byte, ok bool) {
	for i := 1; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++ // skip the escaped byte: \" and \\ never end the field
		case '"':
			return b[1:i], b[i+1:], true
		}
	}
	return nil, nil, false
}

// splitRequest fills Method, Target and Proto from Request. The target is
// whatever lies between the first and the last space, so a target with
// spaces in it survives.
func splitRequest(l *Line) {
	r := l.Request
	sp := bytes.IndexByte(r, ' ')
	if sp < 0 {
		l.Method = r
		return
	}
	l.Method, r = r[:sp], r[sp+1:]
	if last := bytes.LastIndexByte(r, ' '); last >= 0 && bytes.HasPrefix(r[last+1:], []byte("HTTP/")) {
		l.Target, l.Proto = r[:last], r[last+1:]
		return
	}
	l.Target = r
}

func atoi(b []byte) (int, int) {
	v, n := atoi64(b)
	return int(v), n
}

// atoi64 parses leading decimal digits; n is how many were used (0: none).
// It stops at 18 digits so that it cannot overflow.
func atoi64(b []byte) (v int64, n int) {
	for n < len(b) && n < 18 && b[n] >= '0' && b[n] <= '9' {
		v = v*10 + int64(b[n]-'0')
		n++
	}
	if n < len(b) && b[n] >= '0' && b[n] <= '9' {
		return 0, 0
	}
	return v, n
}

// ParseTime reads nginx's $time_local ("29/Nov/2026:04:28:39 +0000") and
// returns Unix seconds in UTC. It does not allocate.
func ParseTime(b []byte) (int64, bool) { return logtime.AccessLog(b) }

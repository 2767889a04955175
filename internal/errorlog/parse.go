package errorlog

import (
	"bytes"
	"errors"

	"depot/internal/logtime"
)

// Line is one parsed error-log line. Every byte-slice field aliases the
// input passed to Parse: it is valid only until that buffer is reused, and
// it is still escaped as the log holds it (Request and Host without their
// quotes).
type Line struct {
	Time    []byte // "2026/11/29 04:28:39"
	Unix    int64  // Time as Unix seconds, read as UTC
	Level   []byte // "error"
	PID     int
	TID     int
	ConnID  uint64 // 0 when the line has no "*N"
	Message []byte // the free text before ", client: "
	Client  []byte
	Server  []byte
	Request []byte
	Host    []byte
}

// Parse errors.
var (
	ErrTime  = errors.New("errorlog: bad time (want YYYY/MM/DD HH:MM:SS)")
	ErrLevel = errors.New("errorlog: bad [level]")
	ErrPID   = errors.New("errorlog: bad PID#TID")
)

// Parse reads one error-log line (a trailing "\n" or "\r\n" is allowed)
// into l without allocating.
//
// The message ends at the first ", client: " that is not inside a quoted
// string, so a quoted path holding that text cannot forge a client. Fields
// after the client are read as ", key: value" pairs; unknown keys (nginx's
// upstream, referrer) are skipped.
func Parse(line []byte, l *Line) error {
	*l = Line{}
	line = bytes.TrimRight(line, "\r\n")
	if len(line) < 20 || line[19] != ' ' {
		return ErrTime
	}
	unix, ok := ParseTime(line[:19])
	if !ok {
		return ErrTime
	}
	l.Time, l.Unix = line[:19], unix
	line = line[20:]

	if len(line) < 2 || line[0] != '[' {
		return ErrLevel
	}
	end := bytes.IndexByte(line, ']')
	if end < 2 || end+1 >= len(line) || line[end+1] != ' ' {
		return ErrLevel
	}
	l.Level, line = line[1:end], line[end+2:]

	pid, n := atoi(line)
	if n == 0 || n >= len(line) || line[n] != '#' {
		return ErrPID
	}
	line = line[n+1:]
	tid, n := atoi(line)
	if n == 0 || !bytes.HasPrefix(line[n:], []byte(": ")) {
		return ErrPID
	}
	l.PID, l.TID = pid, tid
	line = line[n+2:]

	if len(line) > 1 && line[0] == '*' {
		if id, n := atoi(line[1:]); n > 0 && n+1 < len(line) && line[n+1] == ' ' {
			l.ConnID = uint64(id)
			line = line[n+2:]
		}
	}

	i := clientStart(line)
	if i < 0 {
		l.Message = line
		return nil
	}
	l.Message = line[:i]
	parseFields(line[i:], l)
	return nil
}

var clientKey = []byte(", client: ")

// clientStart returns the index of the ", client: " that ends the message,
// or -1. It skips quoted strings; when the quotes do not balance (nginx
// writes a raw '"' from a decoded URI) it falls back to the first match.
func clientStart(b []byte) int {
	inQuote := false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case inQuote && c == '\\':
			i++
		case c == '"':
			inQuote = !inQuote
		case !inQuote && c == ',' && bytes.HasPrefix(b[i:], clientKey):
			return i
		}
	}
	if inQuote {
		return bytes.Index(b, clientKey)
	}
	return -1
}

// parseFields reads ", key: value" pairs.
func parseFields(b []byte, l *Line) {
	for len(b) > 2 && b[0] == ',' && b[1] == ' ' {
		b = b[2:]
		colon := bytes.Index(b, []byte(": "))
		if colon < 0 {
			return
		}
		key := b[:colon]
		b = b[colon+2:]
		var val []byte
		if len(b) > 0 && b[0] == '"' {
			v, rest, ok := quoted(b)
			if !ok {
				return
			}
			val, b = v, rest
		} else {
			end := bytes.Index(b, []byte(", "))
			if end < 0 {
				end = len(b)
			}
			val, b = b[:end], b[end:]
		}
		switch string(key) { // no allocation: the compiler compares in place
		case "client":
			l.Client = val
		case "server":
			l.Server = val
		case "request":
			l.Request = val
		case "host":
			l.Host = val
		}
	}
}

// quoted takes b starting at a '"' and returns the contents and what
// follows the closing quote.
func quoted(b []byte) (field, rest []byte, ok bool) {
	for i := 1; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return b[1:i], b[i+1:], true
		}
	}
	return nil, nil, false
}

// ParseTime reads "2026/11/29 04:28:39" as UTC and returns Unix seconds.
// It does not allocate.
func ParseTime(b []byte) (int64, bool) { return logtime.ErrorLog(b) }

// atoi parses up to 18 leading decimal digits; n is how many were used.
func atoi(b []byte) (v int, n int) {
	for n < len(b) && n < 18 && b[n] >= '0' && b[n] <= '9' {
		v = v*10 + int(b[n]-'0')
		n++
	}
	return v, n
}

package errorlog

import (
	"strconv"
	"time"

	"depot/internal/accesslog"
	"depot/internal/logtime"
)

// The levels nginx writes, least severe first, for Entry.Level.
const (
	Debug  = "debug"
	Info   = "info"
	Notice = "notice"
	Warn   = "warn"
	Error  = "error"
	Crit   = "crit"
	Alert  = "alert"
	Emerg  = "emerg"
)

// TimeLayout is the error log's time layout. It carries no zone: depot
// always writes UTC.
const TimeLayout = "2006/01/02 15:04:05"

// stamps writes the line's time once a second, as the access log does:
// formatting a time costs more than the rest of a 404's line.
var stamps = logtime.NewStamps(TimeLayout)

// Entry is one error-log line to write. Empty Client, Server, Request and
// Host are left out of the line, as nginx does when it has no request.
type Entry struct {
	Time   time.Time // written in UTC
	Level  string    // one of the constants above; empty means Error
	PID    int       // process id
	TID    int       // thread id, normally 0
	ConnID uint64    // connection number, written "*N"; 0 leaves it out
	// Message is the free text, e.g. `open() "/srv/x" failed (2: No such
	// file or directory)`. It is trusted text from depot's code: bytes below
	// 0x20 and above 0x7e are escaped as \xHH so that the line holds no raw
	// newline, but quotes are written as they are. Any part that comes from
	// a client (a path, a header) must be added with AppendQuoted or Quote,
	// so that its quotes are escaped and the line stays parseable.
	Message string
	Client  string // client address without port
	Server  string // the virtual host's name
	Request string // the request line as received; quoted and escaped
	Host    string // the Host header; quoted and escaped
}

// Append appends e as one error-log line, ending in '\n', to dst and
// returns the extended slice. It does not allocate when dst has room.
func Append(dst []byte, e *Entry) []byte {
	dst = stamps.AppendUTC(dst, e.Time)
	dst = append(dst, " ["...)
	if e.Level == "" {
		dst = append(dst, Error...)
	} else {
		dst = appendPlain(dst, e.Level)
	}
	dst = append(dst, "] "...)
	dst = strconv.AppendInt(dst, int64(e.PID), 10)
	dst = append(dst, '#')
	dst = strconv.AppendInt(dst, int64(e.TID), 10)
	dst = append(dst, ": "...)
	if e.ConnID != 0 {
		dst = append(dst, '*')
		dst = strconv.AppendUint(dst, e.ConnID, 10)
		dst = append(dst, ' ')
	}
	dst = appendMessage(dst, e.Message)
	if e.Client != "" {
		dst = append(dst, ", client: "...)
		dst = appendPlain(dst, e.Client)
	}
	if e.Server != "" {
		dst = append(dst, ", server: "...)
		dst = appendPlain(dst, e.Server)
	}
	if e.Request != "" {
		dst = append(dst, ", request: "...)
		dst = AppendQuoted(dst, e.Request)
	}
	if e.Host != "" {
		dst = append(dst, ", host: "...)
		dst = AppendQuoted(dst, e.Host)
	}
	return append(dst, '\n')
}

// AppendQuoted appends s between double quotes with nginx's default
// escaping ('"', '\\' and bytes outside 0x20..0x7e become \xHH).
func AppendQuoted(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = accesslog.AppendEscaped(dst, s)
	return append(dst, '"')
}

// Quote returns s as AppendQuoted writes it, for building a Message.
func Quote(s string) string { return string(AppendQuoted(nil, s)) }

// appendMessage escapes only control and non-ASCII bytes (see
// Entry.Message).
func appendMessage(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e {
			dst = append(dst, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
			continue
		}
		dst = append(dst, c)
	}
	return dst
}

// appendPlain writes an unquoted value (level, client, server). Besides
// control and non-ASCII bytes it escapes ',' and '"', so that a hostile
// value cannot end its field early.
func appendPlain(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == ',' || c == '"' || c == '\\' || c == ']' {
			dst = append(dst, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
			continue
		}
		dst = append(dst, c)
	}
	return dst
}

const hexDigits = "0123456789ABCDEF"

// Package errorlog formats nginx-style error-log lines. It never opens a
// file and never decides whether a request is logged.
package errorlog

import (
	"strconv"
	"time"

	"depot/internal/accesslog"
)

// Entry is one error-log line.
type Entry struct {
	Time    time.Time
	Level   string // debug, info, notice, warn, error, crit
	PID     int
	ConnID  uint64
	Message string // e.g. `open() "/srv/x" failed (2: No such file or directory)`; quote any client-supplied part with accesslog.AppendEscaped
	Client  string // client address; empty for errors without a request
	Server  string
	Request string // request line
	Host    string
}

// Append appends e as one line ending in '\n' to dst.
func Append(dst []byte, e *Entry) []byte {
	dst = e.Time.AppendFormat(dst, "2006/01/02 15:04:05")
	dst = append(dst, " ["...)
	dst = append(dst, e.Level...)
	dst = append(dst, "] "...)
	dst = strconv.AppendInt(dst, int64(e.PID), 10)
	dst = append(dst, "#0: "...)
	if e.ConnID != 0 {
		dst = append(dst, '*')
		dst = strconv.AppendUint(dst, e.ConnID, 10)
		dst = append(dst, ' ')
	}
	// The message is the caller's own text; quotes in it are kept, but a
	// control byte can never break the line.
	for i := 0; i < len(e.Message); i++ {
		if c := e.Message[i]; c < 0x20 || c == 0x7f {
			dst = append(dst, '?')
		} else {
			dst = append(dst, c)
		}
	}
	if e.Client != "" {
		dst = append(dst, ", client: "...)
		dst = accesslog.AppendEscaped(dst, e.Client)
		dst = append(dst, ", server: "...)
		dst = accesslog.AppendEscaped(dst, e.Server)
		dst = append(dst, ", request: \""...)
		dst = accesslog.AppendEscaped(dst, e.Request)
		dst = append(dst, '"')
		if e.Host != "" {
			dst = append(dst, ", host: \""...)
			dst = accesslog.AppendEscaped(dst, e.Host)
			dst = append(dst, '"')
		}
	}
	return append(dst, '\n')
}

package accesslog

import (
	"strconv"
	"time"

	"depot/internal/logtime"
)

// Entry is one request as the combined format records it. Empty strings are
// written as "-".
type Entry struct {
	RemoteAddr string    // client address without port; IPv6 unbracketed
	RemoteUser string    // authenticated user, normally empty
	Time       time.Time // when the request was received; written in its own zone
	Request    string    // the request line as received, e.g. "GET / HTTP/1.1"
	// Method, URI and Proto are the request line in its three parts, for
	// a server that has them apart (net/http): written with a space
	// between them when Request is empty, so that the line need not be
	// built first.
	Method, URI, Proto string
	Status             int
	BodyBytes          int64 // bytes of the response body sent
	Referer            string
	UserAgent          string
}

const hexDigits = "0123456789ABCDEF"

// TimeLayout is nginx's $time_local layout.
const TimeLayout = "02/Jan/2006:15:04:05 -0700"

// AppendCombined appends e as one combined-format line, ending in '\n', to
// dst and returns the extended slice. It does not allocate when dst has room.
//
// Quoted fields are escaped as nginx's default "escape=default" does: '"',
// '\\' and every byte below 0x20 or above 0x7e become \xHH, so a line never
// holds a raw newline or quote from the client.
func AppendCombined(dst []byte, e *Entry) []byte {
	dst = appendField(dst, e.RemoteAddr)
	dst = append(dst, " - "...)
	dst = appendField(dst, e.RemoteUser)
	dst = append(dst, " ["...)
	dst = stamps.Append(dst, e.Time)
	dst = append(dst, "] \""...)
	if e.Request == "" && e.Method != "" {
		// Escaping leaves spaces alone, so the parts escape as the line.
		dst = AppendEscaped(dst, e.Method)
		dst = append(dst, ' ')
		dst = AppendEscaped(dst, e.URI)
		dst = append(dst, ' ')
		dst = AppendEscaped(dst, e.Proto)
	} else {
		dst = appendField(dst, e.Request)
	}
	dst = append(dst, "\" "...)
	dst = strconv.AppendInt(dst, int64(e.Status), 10)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, e.BodyBytes, 10)
	dst = append(dst, " \""...)
	dst = appendField(dst, e.Referer)
	dst = append(dst, "\" \""...)
	dst = appendField(dst, e.UserAgent)
	dst = append(dst, "\"\n"...)
	return dst
}

// stamps writes the line's time once a second (per zone), as nginx does
// with its cached $time_local.
var stamps = logtime.NewStamps(TimeLayout)

// appendField writes s escaped, or "-" when s is empty, as nginx does for
// an empty variable.
func appendField(dst []byte, s string) []byte {
	if s == "" {
		return append(dst, '-')
	}
	return AppendEscaped(dst, s)
}

// AppendEscaped appends s with nginx's default escaping.
func AppendEscaped(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '"' || c == '\\' || c < 0x20 || c > 0x7e {
			dst = append(dst, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
			continue
		}
		dst = append(dst, c)
	}
	return dst
}

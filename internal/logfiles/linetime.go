package logfiles

import (
	"bytes"

	"depot/internal/accesslog"
	"depot/internal/errorlog"
)

// lineTime returns the Unix time of an access-log or error-log line
// without parsing the rest of it. ok is false when the line holds no
// readable time; such a line is never deleted by age.
func lineTime(line []byte) (unix int64, ok bool) {
	if isErrorLine(line) {
		return errorlog.ParseTime(line[:19])
	}
	i := bytes.IndexByte(line, '[')
	if i < 0 || len(line) < i+28 || line[i+27] != ']' {
		return 0, false
	}
	return accesslog.ParseTime(line[i+1 : i+27])
}

// lineAddr returns the client address text of an access-log line (its
// first field) or of an error-log line (after "client: "), or nil.
func lineAddr(line []byte) []byte {
	if isErrorLine(line) {
		i := bytes.Index(line, []byte(", client: "))
		if i < 0 {
			return nil
		}
		a := line[i+10:]
		if j := bytes.IndexByte(a, ','); j >= 0 {
			a = a[:j]
		}
		return a
	}
	if i := bytes.IndexByte(line, ' '); i > 0 {
		return line[:i]
	}
	return nil
}

// isErrorLine reports whether line is shaped as an error-log line
// ("2026/11/29 04:28:39 [error] ..."); every other line is read as an
// access-log line.
func isErrorLine(line []byte) bool {
	return len(line) >= 19 && line[4] == '/' && line[10] == ' '
}

// isAccessLine reports whether line is an access-log line, which the
// statistics count.
func isAccessLine(line []byte) bool { return !isErrorLine(line) }

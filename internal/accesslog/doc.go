// Package accesslog formats and parses access-log lines in the nginx/Apache
// "combined" format, byte for byte as nginx writes them with its default
// escaping.
//
// It owns the line format only: it never opens a file, never sees a request
// body, and never decides whether a request is logged at all (that is the
// server's listener wiring).
package accesslog

// Package logsink is the log file every logged request's line goes to: an
// append-only file that takes whole lines, buffers them, and writes them
// within FlushInterval; when the disk fails it keeps what fits, drops and
// counts the rest, and resumes by itself. The clearnet listeners' access
// and error logs and the proxy's log are Files.
//
// It is the only log code on the request path, and kept small for that: it
// never reads, renames, compresses or deletes a log file (logfiles does
// that, in the rotation and retention jobs and the offline tools), never
// decides what is logged (a line reaches a File only through the clearnet
// handler chain; nothing here is reachable from an onion listener), never
// tears a line, and never opens its file through a symbolic link.
package logsink

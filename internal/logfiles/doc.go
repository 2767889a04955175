// Package logfiles owns depot's log files on disk: the buffered line sink
// that the clearnet listeners write to, daily rotation and compression,
// retention (Prune) and incident-response search. Files are read through
// logread (by content, whatever their names) and written through
// atomicfile.
//
// It never decides what is logged: a request reaches a File only through the
// clearnet handler chain, and nothing here is reachable from an onion
// listener. It never deletes a line whose time it cannot read, never
// deletes a month's lines before the StatsGuard confirms that month's
// statistics, never leaves a file half-written (every replacement is a
// synced temporary file renamed into place), and never opens a file it
// writes, replaces or deletes through a symbolic link.
package logfiles

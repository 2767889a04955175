// Package logfiles owns depot's log files on disk once written: daily
// rotation and compression (the Rotator, which renames a logsink.File's
// file under it), retention (Prune), pseudonymisation and incident-response
// search. Files are read through logread (by content, whatever their
// names) and written through atomicfile. The line sink that requests write
// to is logsink, not this package: nothing here is on the request path.
//
// It never decides what is logged: it writes no request's line, and
// nothing here is reachable from an onion listener. It never deletes a
// line whose time it cannot read, never deletes a month's lines before the
// StatsGuard confirms that month's statistics, never leaves a file
// half-written (every replacement is a synced temporary file renamed into
// place), and never opens a file it writes, replaces or deletes through a
// symbolic link.
package logfiles

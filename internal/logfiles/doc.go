// Package logfiles owns depot's log files on disk: the buffered line sink
// that the clearnet listeners write to, rotation, retention and search.
//
// It never decides what is logged: a request reaches a File only through the
// clearnet handler chain, and nothing here is reachable from an onion
// listener.
package logfiles

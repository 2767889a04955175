// Package errorlog formats and parses nginx-style error-log lines:
//
//	2026/11/29 04:28:39 [error] 1234#0: *567 open() "/srv/yum/x" failed (2: No such file or directory), client: 203.0.113.7, server: yum.example.org, request: "GET /x HTTP/1.1", host: "yum.example.org"
//
// It owns the line format only: it never opens a file and never decides
// whether a request is logged (onion listeners have no logger at all).
package errorlog

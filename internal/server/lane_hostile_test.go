package server

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"depot/internal/config"
	"depot/internal/responder"
)

// The lane attacked as a hostile client would: each test compares, where
// it can, what a server with the lane does with what net/http alone does
// (Options{NoLane: true}) for the same bytes.

// wrongLength answers /wrong/STATUS/DECLARED/WRITES with the status, a
// Content-Length of DECLARED ("none": no length) and a body written in
// writes of the comma-separated sizes WRITES: a handler that gets its
// length wrong, declares one for a status without a body, or streams.
type wrongLength struct{}

func (wrongLength) Respond(w http.ResponseWriter, r *http.Request) (bool, error) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/wrong/")
	if !ok {
		return false, nil
	}
	f := strings.Split(rest, "/")
	status, _ := strconv.Atoi(f[0])
	if f[1] != "none" {
		w.Header().Set("Content-Length", f[1])
	}
	w.WriteHeader(status)
	for i, size := range strings.Split(f[2], ",") {
		n, _ := strconv.Atoi(size)
		w.Write([]byte(strings.Repeat(string(rune('a'+i%26)), n)))
	}
	return true, nil
}

func wrongLengthSites(config.Site) []responder.Responder {
	return []responder.Responder{wrongLength{}}
}

// TestLaneKeepAliveAfterAWrongLength: whether the connection goes on after
// a response whose Content-Length the handler got wrong (or set on a
// status without a body, or on HEAD) is net/http's decision, to the byte:
// a pipelined request after it is answered, or not, alike.
func TestLaneKeepAliveAfterAWrongLength(t *testing.T) {
	lane := startServer(t, "", Options{Responders: wrongLengthSites})
	plain := startServer(t, "", Options{NoLane: true, Responders: wrongLengthSites})
	const next = "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n"
	for _, target := range []string{
		"/wrong/200/5/5", "/wrong/200/5/3", "/wrong/200/5/0", "/wrong/200/3/5",
		"/wrong/204/5/0", "/wrong/304/5/0", "/wrong/204/0/0", "/wrong/304/0/0",
		"/wrong/404/9/2", "/wrong/200/-1/3", "/wrong/200/x/3",
		// Bodies written in pieces: where the type is sniffed from, and
		// where chunks begin and end.
		"/wrong/200/none/3000", "/wrong/200/none/100,3000", "/wrong/200/none/2048,1",
		"/wrong/200/none/2000,100,5000,20000,7", "/wrong/200/30107/2000,100,5000,20000,7",
		"/wrong/200/none/" + strings.Repeat("700,", 40) + "1", "/wrong/200/4000/10,3990",
	} {
		for _, method := range []string{"GET", "HEAD"} {
			req := method + " " + target + " HTTP/1.1\r\nHost: x\r\n\r\n" + next
			want := laneExchange(t, plain.clearnet, req)
			if got := laneExchange(t, lane.clearnet, req); got != want {
				t.Errorf("%q\nlane's answer:\n%q\nnet/http's answer:\n%q", req, got, want)
			}
		}
	}
	if !t.Failed() {
		sameLogLines(t, lane, plain, "the lane", "net/http")
	}
}

package server

import (
	"context"
	"errors"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

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
	lane, plain := startTwins(t, Options{Responders: wrongLengthSites})
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

// TestLanePipelinedInAnySplit: a pipelined sequence, some of it taken by
// the lane and the rest handed to net/http, is answered the same however
// its bytes are split across the server's reads: byte by byte, at random
// points, whole. The lane and net/http never disagree on where a request
// ends.
func TestLanePipelinedInAnySplit(t *testing.T) {
	lane, plain := startTwins(t, Options{})
	const get = "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n"
	sequences := []string{
		get + "HEAD /r4.2/current/host/fc37/repodata/repomd.xml HTTP/1.1\r\nhost: x\r\nUser-Agent: dnf\r\n\r\n" + get,
		get + "POST /index.html HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\n\r\n" + get + get,
		get + "GET /index.html HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n27\r\n" + get + "\r\n0\r\n\r\n" + get,
		get + "GET /index.html HTTP/1.1\r\nHost: x\r\nContent-Length: 38\r\n\r\n" + get + get,
		get + "GET /index.html HTTP/1.1\nHost: x\n\n" + get,
		get + "GET /index.html HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n" + get,
		get + "GET /index.html HTTP/1.1\r\nHost: x\r\nX: a\rb\r\n\r\n" + get,
		get + "\r\n" + get,
		get + "GET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" + get,
		get + "GET /index.html HTTP/1.0\r\nHost: x\r\n\r\n" + get,
		get + "GET /index.html HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n" + get,
		get + "GET /%69ndex.html HTTP/1.1\r\nHost: x\r\n\r\n" + get,
		get + "GET /index.html HTTP/1.1\r\nHost: x\r\n",
		get + "GE",
		get + "GET",
		get + "GET ",
		get + "\r\n",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, seq := range sequences {
		splits := [][]int{nil, allSplits(len(seq))}
		for range 3 {
			splits = append(splits, randomSplits(rng, len(seq)))
		}
		for _, at := range splits {
			want := laneExchange(t, plain.clearnet, seq) // as often: the logs are compared too
			if got := constantDates(sendSplit(t, lane.clearnet, seq, at)); got != want {
				t.Errorf("%q split at %v\nlane's answer:\n%q\nnet/http's answer:\n%q", seq, at, got, want)
			}
		}
	}
	if !t.Failed() {
		sameLogLines(t, lane, plain, "the lane", "net/http")
	}
}

func allSplits(n int) []int {
	at := make([]int, n-1)
	for i := range at {
		at[i] = i + 1
	}
	return at
}

func randomSplits(rng *rand.Rand, n int) []int {
	var at []int
	for i := 1; i < n; i++ {
		if rng.IntN(8) == 0 {
			at = append(at, i)
		}
	}
	return at
}

// sendSplit sends request in pieces cut at the offsets at, each its own
// write after the server has had a moment to read the last, half-closes,
// and returns everything received.
func sendSplit(t testing.TB, addr, request string, at []int) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	got := make(chan string, 1)
	go func() { b, _ := io.ReadAll(c); got <- string(b) }()
	prev := 0
	for _, i := range append(at, len(request)) {
		if _, err := io.WriteString(c, request[prev:i]); err != nil {
			break // the server closed: what it answered is compared
		}
		prev = i
		time.Sleep(200 * time.Microsecond) // lets most pieces arrive alone; no outcome depends on it
	}
	c.(*net.TCPConn).CloseWrite()
	return <-got
}

// TestLaneWaitsForANextRequestAsNetHTTP: after a request, net/http waits
// for 4 bytes of the next under the idle timeout before it reads one as a
// request (under the header timeout); a client that sends fewer and goes
// silent or away gets no answer, and one line in the logs. The lane does
// the same: it neither answers those bytes 400 nor holds them to the
// header timeout instead of the idle one.
func TestLaneWaitsForANextRequestAsNetHTTP(t *testing.T) {
	opts := Options{IdleTimeout: 300 * time.Millisecond, ReadHeaderTimeout: time.Minute}
	lane, plain := startTwins(t, opts)
	const get = "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n"
	for _, rest := range []string{"G", "GE", "GET", "\r\n"} {
		// Silent: closed at the idle timeout, well before the header one.
		want := constantDates(rawFull(t, plain.clearnet, get+rest))
		if got := constantDates(rawFull(t, lane.clearnet, get+rest)); got != want {
			t.Errorf("%q, then silence:\nlane's answer:\n%q\nnet/http's answer:\n%q", get+rest, got, want)
		}
		// Gone.
		want = laneExchange(t, plain.clearnet, get+rest)
		if got := laneExchange(t, lane.clearnet, get+rest); got != want {
			t.Errorf("%q, then EOF:\nlane's answer:\n%q\nnet/http's answer:\n%q", get+rest, got, want)
		}
	}
	if !t.Failed() {
		sameLogLines(t, lane, plain, "the lane", "net/http")
	}
}

// TestLaneHandoffKeepsTheHeaderDeadline: a client that dribbles a
// request's header and makes the lane hand it over, unfinished, just
// before the header timeout (a bare LF, or a header past laneBuf) does
// not get a second header timeout from net/http: the first
// read deadline net/http sets on what it is handed (its header timeout,
// from when it starts reading) is held to the one the lane set at the
// request's start.
func TestLaneHandoffKeepsTheHeaderDeadline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	delivered := make(chan net.Conn, 1)
	l := &lane{
		handler:     http.NotFoundHandler(),
		connContext: func(ctx context.Context, _ net.Conn) context.Context { return ctx },
		readHeader:  200 * time.Millisecond,
		idle:        time.Minute,
		errorLog:    log.New(io.Discard, "", 0),
		deliver:     func(c net.Conn) bool { delivered <- c; return true },
		refused:     func(net.Conn, []byte, error) { t.Error("refused, want handed over") },
	}
	go func() {
		c, err := ln.Accept()
		if err == nil {
			l.serve(c)
		}
	}()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	io.WriteString(client, "GET / HTTP/1.1\r\nHost: x\r\n")
	io.WriteString(client, "X: bare LF\n") // the lane leaves it to net/http, unfinished
	var c net.Conn
	select {
	case c = <-delivered:
	case <-time.After(20 * time.Second):
		t.Fatal("the lane did not hand the request over")
	}
	defer c.Close()
	// As net/http: its header timeout, from now, and far longer here.
	c.SetReadDeadline(time.Now().Add(time.Hour))
	read := make(chan error, 1)
	go func() {
		buf := make([]byte, 64)
		for {
			if _, err := c.Read(buf); err != nil {
				read <- err
				return
			}
		}
	}()
	select {
	case err := <-read:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("read: %v, want the header deadline", err)

		}
	case <-time.After(20 * time.Second):
		t.Fatal("net/http's read deadline ran past the header deadline the lane set at the request's start")
	}
}

// TestLanePipelineFloodWithoutReading: a client that pipelines requests
// without end and reads nothing holds no more than a socket's buffers of
// the server: the lane reads a request only to answer it, its answer
// blocks once the client's buffers are full, and the send timeout closes
// the connection and says so in the error log, as net/http's does (and
// net/http's clearing of the write deadline after each request does not
// lift the send timeout).
func TestLanePipelineFloodWithoutReading(t *testing.T) {
	const timedOut = "client timed out (110: Connection timed out) while sending response to client"
	for _, noLane := range []bool{false, true} {
		ts := startServer(t, "", Options{SendTimeout: 500 * time.Millisecond, NoLane: noLane})
		// The lane hands the last to net/http.
		for i, target := range []string{"/index.html", "/iso/Qubes-R4.2.iso", "/%69ndex.html"} {
			c, err := net.Dial("tcp", ts.clearnet)
			if err != nil {
				t.Fatal(err)
			}
			req := strings.Repeat("GET "+target+" HTTP/1.1\r\nHost: x\r\n\r\n", 64)
			ended := make(chan error, 1)
			go func() {
				for {
					if _, err := io.WriteString(c, req); err != nil {
						ended <- err
						return
					}
				}
			}()
			select {
			case <-ended:
			case <-time.After(30 * time.Second):
				t.Fatalf("NoLane %v, %s: a client that reads nothing still fed after 30s", noLane, target)
			}
			c.Close()
			waitFor(t, "the connection to close", func() bool { return ts.openConns() == 0 })
			if n := ts.srv.gate.n.Load(); n != 0 {
				t.Errorf("NoLane %v, %s: %d responses in flight after the connection closed", noLane, target, n)
			}
			if got := strings.Count(ts.readLog(t, "error.log"), timedOut); got != i+1 {
				t.Errorf("NoLane %v, %s: %d send timeouts in the error log, want %d", noLane, target, got, i+1)
			}
		}
	}
}

package h2

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// fuzzSeeds are frame sequences (after the preface) a hostile client
// might send, built with a Framer.
func fuzzSeeds() [][]byte {
	var seeds [][]byte
	seed := func(write func(fr *http2.Framer, block func(pairs ...string) []byte)) {
		var buf, hbuf bytes.Buffer
		fr := http2.NewFramer(&buf, nil)
		fr.AllowIllegalWrites = true
		enc := hpack.NewEncoder(&hbuf)
		block := func(pairs ...string) []byte {
			hbuf.Reset()
			for i := 0; i+1 < len(pairs); i += 2 {
				enc.WriteField(hpack.HeaderField{Name: pairs[i], Value: pairs[i+1]})
			}
			return bytes.Clone(hbuf.Bytes())
		}
		fr.WriteSettings()
		write(fr, block)
		seeds = append(seeds, buf.Bytes())
	}
	get := func(path string, extra ...string) []string {
		return append([]string{":method", "GET", ":scheme", "https", ":authority", "example.com", ":path", path}, extra...)
	}
	headers := func(fr *http2.Framer, id uint32, b []byte, end bool) {
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: b, EndStream: end, EndHeaders: true})
	}
	seed(func(fr *http2.Framer, block func(...string) []byte) { // a GET
		headers(fr, 1, block(get("/")...), true)
	})
	seed(func(fr *http2.Framer, block func(...string) []byte) { // a POST, its body, trailers
		headers(fr, 1, block(":method", "POST", ":scheme", "https", ":authority", "example.com", ":path", "/p", "content-length", "4"), false)
		fr.WriteDataPadded(1, false, []byte("fo"), make([]byte, 7))
		fr.WriteData(1, false, []byte("ur"))
		headers(fr, 1, block("x-trailer", "1"), true)
	})
	seed(func(fr *http2.Framer, block func(...string) []byte) { // rapid reset
		for id := uint32(1); id < 40; id += 2 {
			headers(fr, id, block(get("/")...), true)
			fr.WriteRSTStream(id, http2.ErrCodeCancel)
		}
	})
	seed(func(fr *http2.Framer, block func(...string) []byte) { // CONTINUATION flood
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block(get("/")...)})
		for range 20 {
			fr.WriteContinuation(1, false, block("x-a", strings.Repeat("b", 500)))
		}
	})
	seed(func(fr *http2.Framer, block func(...string) []byte) { // windows
		fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
		headers(fr, 1, block(get("/")...), true)
		fr.WriteWindowUpdate(1, 3)
		fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 20})
		fr.WriteWindowUpdate(0, maxWindow)
		fr.WriteWindowUpdate(1, maxWindow)
	})
	seed(func(fr *http2.Framer, block func(...string) []byte) { // PINGs, SETTINGS, PRIORITY, GOAWAY
		fr.WritePing(false, [8]byte{1})
		fr.WriteSettings(http2.Setting{ID: http2.SettingHeaderTableSize, Val: 0}, http2.Setting{ID: http2.SettingMaxFrameSize, Val: 1 << 20})
		fr.WritePriority(3, http2.PriorityParam{StreamDep: 3})
		headers(fr, 5, block(get("/", "te", "trailers", "cookie", "a=1", "cookie", "b=2")...), true)
		fr.WriteGoAway(5, http2.ErrCodeNo, nil)
	})
	seed(func(fr *http2.Framer, block func(...string) []byte) { // bad requests
		headers(fr, 1, block(get("/", "connection", "close")...), true)
		headers(fr, 3, block(":method", "GET"), true)
		headers(fr, 5, block(get("/", "Upper", "x")...), true)
		fr.WriteData(5, true, []byte("x"))
		headers(fr, 7, block(":method", "POST", ":scheme", "https", ":path", "/", "content-length", "1"), false)
		fr.WriteData(7, true, []byte("xx"))
		headers(fr, 4, block(get("/")...), true)
	})
	seed(func(fr *http2.Framer, block func(...string) []byte) { // a large header list, then a PUSH_PROMISE
		headers(fr, 1, block(get("/", "x-a", strings.Repeat("a", 3000), "x-b", strings.Repeat("b", 3000))...), true)
		fr.WritePushPromise(http2.PushPromiseParam{StreamID: 1, PromiseID: 2, BlockFragment: block(get("/")...), EndHeaders: true})
	})
	return seeds
}

// FuzzServeConn writes the client preface, then the input, to a server
// over net.Pipe, reading what it answers. The server must not panic, and
// ServeConn must return once the client's side is closed.
func FuzzServeConn(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	srv := &Server{
		MaxHeaderBytes:       4096,
		MaxConcurrentStreams: 8,
		PrefaceTimeout:       time.Second,
		SendTimeout:          time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n, _ := io.Copy(io.Discard, r.Body)
			w.Header().Set("X-Read", "yes")
			if r.URL.Path == "/p" {
				w.WriteHeader(http.StatusEarlyHints)
			}
			w.Write(bytes.Repeat([]byte("x"), int(n)+100))
		}),
		// A refused request's fields, as received, reach the hook.
		Refused: func(ctx context.Context, remote net.Addr, method, path string, status int, body int64) {
			if status != http.StatusBadRequest && status != http.StatusRequestHeaderFieldsTooLarge {
				panic(fmt.Sprintf("Refused: status %d", status))
			}
		},
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		sc, cc := net.Pipe()
		served := make(chan struct{})
		go func() {
			defer close(served)
			srv.ServeConn(context.Background(), sc, nil)
		}()
		go io.Copy(io.Discard, cc)
		cc.SetWriteDeadline(time.Now().Add(time.Second))
		if _, err := cc.Write([]byte(http2.ClientPreface)); err == nil {
			cc.Write(in)
		}
		cc.Close()
		select {
		case <-served:
		case <-time.After(5 * time.Second):
			t.Fatal("ServeConn did not return within 5s of the client closing")
		}
	})
}

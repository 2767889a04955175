package h2

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// BenchmarkSmallGET is the server's cost of one GET of a 4 KB body with
// its headers, as depot's file cache answers it: a client over net.Pipe
// asks for it 100 streams at a time over loopback TCP and reads the
// answers, with windows large enough never to wait.
func BenchmarkSmallGET(b *testing.B) {
	body := bytes.Repeat([]byte("x"), 4096)
	s := &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Content-Type"] = []string{"text/xml"}
		h["Etag"] = []string{`"5f1a-1000"`}
		h["Last-Modified"] = []string{"Tue, 01 Dec 2026 10:00:00 GMT"}
		h["Accept-Ranges"] = []string{"bytes"}
		w.WriteHeader(200)
		w.Write(body)
	})}
	cc, sc := loopbackPair(b)
	done := make(chan struct{})
	go func() {
		s.ServeConn(context.Background(), sc, nil)
		close(done)
	}()
	defer func() { cc.Close(); <-done }()
	fr := http2.NewFramer(cc, cc)
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", "example.org"}, {":path", "/r4.2/repodata/repomd.xml"}, {"user-agent", "libdnf (Fedora 37; generic; Linux.x86_64)"}, {"accept", "*/*"}} {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	// The client writes from its own goroutine: its preface, SETTINGS and
	// windows, then HEADERS as the reader asks for them.
	writes := make(chan uint32, 256)
	go func() {
		io.WriteString(cc, http2.ClientPreface)
		fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: maxWindow})
		fr.WriteWindowUpdate(0, maxWindow-initialWindow)
		for id := range writes {
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block.Bytes(), EndStream: true, EndHeaders: true})
		}
	}()
	defer close(writes)
	const inFlight = 100
	next := uint32(1)
	ask := func() { writes <- next; next += 2 }
	b.ReportAllocs()
	b.ResetTimer()
	for range min(b.N, inFlight) {
		ask()
	}
	asked, answered := min(b.N, inFlight), 0
	for answered < b.N {
		f, err := fr.ReadFrame()
		if err != nil {
			b.Fatal(err)
		}
		switch f := f.(type) {
		case *http2.DataFrame:
			if f.StreamEnded() {
				answered++
				if asked < b.N {
					ask()
					asked++
				}
			}
		}
	}
}

package h2

import (
	"io"
	"net/http"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// echo answers a request with its method, path and body, or with 400
// and the error when reading the body failed.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/block" {
		<-r.Context().Done()
		return
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, err.Error())
		return
	}
	io.WriteString(w, r.Method+" "+r.URL.Path+" "+string(b))
})

// The frames a client must not send, each a connection error.
func TestProtocolConnectionErrors(t *testing.T) {
	type fr = http2.Framer
	get := func(c *rawClient, id uint32) { c.request(id, "GET", "/", true) }
	tests := []struct {
		name  string
		write func(c *rawClient)
		code  http2.ErrCode
	}{
		{"DATA on stream 0", func(c *rawClient) { c.data(0, false, []byte("x")) }, http2.ErrCodeProtocol},
		{"HEADERS on stream 0", func(c *rawClient) { c.request(0, "GET", "/", true) }, http2.ErrCodeProtocol},
		{"RST_STREAM on stream 0", func(c *rawClient) {
			c.write(func(f *fr) error { return f.WriteRSTStream(0, http2.ErrCodeCancel) })
		}, http2.ErrCodeProtocol},
		{"WINDOW_UPDATE of 0 on the connection", func(c *rawClient) {
			c.write(func(f *fr) error { return f.WriteWindowUpdate(0, 0) })
		}, http2.ErrCodeProtocol},
		{"PRIORITY on stream 0", func(c *rawClient) {
			c.write(func(f *fr) error { return f.WritePriority(0, http2.PriorityParam{StreamDep: 1}) })
		}, http2.ErrCodeProtocol},
		{"CONTINUATION on stream 0", func(c *rawClient) {
			c.write(func(f *fr) error { return f.WriteContinuation(0, true, nil) })
		}, http2.ErrCodeProtocol},
		{"SETTINGS on a stream", func(c *rawClient) {
			c.write(func(f *fr) error {
				return f.WriteRawFrame(http2.FrameSettings, 0, 1, nil)
			})
		}, http2.ErrCodeProtocol},
		{"PING on a stream", func(c *rawClient) {
			c.write(func(f *fr) error { return f.WriteRawFrame(http2.FramePing, 0, 1, make([]byte, 8)) })
		}, http2.ErrCodeProtocol},
		{"GOAWAY on a stream", func(c *rawClient) {
			c.write(func(f *fr) error { return f.WriteRawFrame(http2.FrameGoAway, 0, 1, make([]byte, 8)) })
		}, http2.ErrCodeProtocol},
		{"even stream ID", func(c *rawClient) { get(c, 2) }, http2.ErrCodeProtocol},
		{"DATA on an idle stream", func(c *rawClient) { c.data(1, true, []byte("x")) }, http2.ErrCodeProtocol},
		{"RST_STREAM on an idle stream", func(c *rawClient) {
			c.write(func(f *fr) error { return f.WriteRSTStream(1, http2.ErrCodeCancel) })
		}, http2.ErrCodeProtocol},
		{"WINDOW_UPDATE on an idle stream", func(c *rawClient) {
			c.write(func(f *fr) error { return f.WriteWindowUpdate(1, 1) })
		}, http2.ErrCodeProtocol},
		{"WINDOW_UPDATE of 0 on an idle stream", func(c *rawClient) {
			c.write(func(f *fr) error { return f.WriteWindowUpdate(1, 0) })
		}, http2.ErrCodeProtocol},
		{"PUSH_PROMISE", func(c *rawClient) {
			c.request(1, "GET", "/block", true)
			b := c.block(":method", "GET", ":scheme", "https", ":authority", "example.com", ":path", "/")
			c.write(func(f *fr) error {
				return f.WritePushPromise(http2.PushPromiseParam{StreamID: 1, PromiseID: 2, BlockFragment: b, EndHeaders: true})
			})
		}, http2.ErrCodeProtocol},
		{"CONTINUATION alone", func(c *rawClient) {
			get(c, 1)
			c.write(func(f *fr) error { return f.WriteContinuation(1, true, nil) })
		}, http2.ErrCodeProtocol},
		{"HEADERS interrupted", func(c *rawClient) {
			b := c.block(":method", "GET", ":scheme", "https", ":authority", "example.com", ":path", "/")
			c.write(func(f *fr) error {
				return f.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: b, EndStream: true})
			})
			c.write(func(f *fr) error { return f.WritePing(false, [8]byte{}) })
		}, http2.ErrCodeProtocol},
		{"SETTINGS ACK with a payload", func(c *rawClient) {
			c.write(func(f *fr) error {
				return f.WriteRawFrame(http2.FrameSettings, http2.FlagSettingsAck, 0, make([]byte, 6))
			})
		}, http2.ErrCodeFrameSize},
		{"SETTINGS of a bad length", func(c *rawClient) {
			c.write(func(f *fr) error { return f.WriteRawFrame(http2.FrameSettings, 0, 0, make([]byte, 5)) })
		}, http2.ErrCodeFrameSize},
		{"ENABLE_PUSH 2", func(c *rawClient) {
			c.write(func(f *fr) error { return f.WriteSettings(http2.Setting{ID: http2.SettingEnablePush, Val: 2}) })
		}, http2.ErrCodeProtocol},
		{"INITIAL_WINDOW_SIZE 2^31", func(c *rawClient) {
			c.write(func(f *fr) error {
				return f.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 31})
			})
		}, http2.ErrCodeFlowControl},
		{"MAX_FRAME_SIZE too small", func(c *rawClient) {
			c.write(func(f *fr) error { return f.WriteSettings(http2.Setting{ID: http2.SettingMaxFrameSize, Val: 1000}) })
		}, http2.ErrCodeProtocol},
		{"a frame past the maximum size", func(c *rawClient) {
			c.request(1, "POST", "/", false)
			c.data(1, false, make([]byte, defaultFrameSize+1))
		}, http2.ErrCodeFrameSize},
		{"PING of 7 bytes", func(c *rawClient) {
			c.write(func(f *fr) error { return f.WriteRawFrame(http2.FramePing, 0, 0, make([]byte, 7)) })
		}, http2.ErrCodeFrameSize},
		{"bad HPACK", func(c *rawClient) {
			c.write(func(f *fr) error {
				return f.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: []byte{0xff, 0xff, 0xff, 0xff, 0xff}, EndStream: true, EndHeaders: true})
			})
		}, http2.ErrCodeCompression},
		{"HEADERS padding too long", func(c *rawClient) {
			// RFC 9113 §6.2; and the block is dropped, so HPACK's state
			// could not follow.
			b := c.block(":method", "GET", ":scheme", "https", ":authority", "example.com", ":path", "/")
			c.write(func(f *fr) error {
				return f.WriteRawFrame(http2.FrameHeaders, http2.FlagHeadersPadded|http2.FlagHeadersEndHeaders|http2.FlagHeadersEndStream, 1, append([]byte{byte(len(b) + 1)}, b...))
			})
		}, http2.ErrCodeProtocol},
		{"stream refused for a bad field, then DATA on an idle one", func(c *rawClient) {
			c.request(1, "GET", "/", true, "Upper", "x")
			c.data(3, true, nil)
		}, http2.ErrCodeProtocol},
		{"HEADERS of 1 MiB", func(c *rawClient) {
			c.write(func(f *fr) error {
				return f.WriteRawFrame(http2.FrameHeaders, http2.FlagHeadersEndHeaders, 1, make([]byte, 1<<20))
			})
		}, http2.ErrCodeFrameSize},
		{"unknown frame of 1 MiB", func(c *rawClient) {
			c.write(func(f *fr) error { return f.WriteRawFrame(0xfa, 0, 0, make([]byte, 1<<20)) })
		}, http2.ErrCodeFrameSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Over a pipe: the server's last frames are read even when
			// it closes before it read all the client wrote (a TCP reset
			// could lose them), and the client's write of the rest fails.
			c := servePipe(t, &Server{Handler: echo})
			c.handshake()
			c.lenient = true
			tt.write(c)
			c.connError(tt.code)
		})
	}
}

// HEADERS frames on closed streams are dropped, the connection going on
// (RFC 9113 §5.1: the client may have sent them before it learnt that
// the server reset the stream).
func TestHeadersOnClosedStreamsDropped(t *testing.T) {
	tests := []struct {
		name   string
		closed uint32 // the closed stream the HEADERS frame names
		write  func(c *rawClient)
	}{
		{"decreasing stream ID", 3, func(c *rawClient) {
			c.request(5, "GET", "/", true)
			c.response(5)
			c.request(3, "GET", "/", true)
		}},
		{"reused stream ID", 1, func(c *rawClient) {
			c.request(1, "GET", "/", true)
			c.response(1)
			c.request(1, "GET", "/again", true)
		}},
		// A stream reset for a bad field took its ID: the ID cannot
		// open another.
		{"ID of a stream refused for a bad field", 1, func(c *rawClient) {
			c.request(1, "GET", "/", true, "Upper", "x")
			c.response(1)
			c.request(1, "GET", "/again", true)
		}},
		{"trailers after an answer before the body's end", 1, func(c *rawClient) {
			c.request(1, "POST", "/answer", false)
			c.data(1, false, []byte("body"))
			c.response(1)
			c.headers(1, true, "x-trailer", "1")
		}},
		{"trailers of a refused stream", 3, func(c *rawClient) {
			c.request(1, "GET", "/block", true)
			c.request(3, "POST", "/", false)
			c.response(3)
			c.data(3, false, []byte("body"))
			c.headers(3, true, "x-trailer", "1")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := serveRaw(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/answer" {
					io.WriteString(w, "without reading")
					return
				}
				echo(w, r)
			}), MaxConcurrentStreams: 1})
			c.handshake()
			tt.write(c)
			// What came on the stream before its last frames was its
			// answer, if any.
			c.sync()
			c.mu.Lock()
			r, _ := collect(c.frames, tt.closed)
			before := len(r.frames)
			c.mu.Unlock()
			c.sync()
			c.mu.Lock()
			r, _ = collect(c.frames, tt.closed)
			c.mu.Unlock()
			for _, f := range r.frames[before:] {
				if f.typ != http2.FrameRSTStream || f.code != http2.ErrCodeStreamClosed {
					t.Errorf("stream %d, closed, answered: %v", tt.closed, f)
				}
			}
			if tt.name == "trailers of a refused stream" {
				c.write(func(f *http2.Framer) error { return f.WriteRSTStream(1, http2.ErrCodeCancel) })
			}
			if r := c.getRefused(101, "/next"); r.status != "200" || string(r.body) != "GET /next " {
				t.Fatalf("a stream after: %s %q rst %v %v", r.status, r.body, r.rst, r.code)
			}
		})
	}
}

// Each of these resets its stream; the connection goes on.
func TestProtocolStreamErrors(t *testing.T) {
	type fr = http2.Framer
	pseudo := func(method, scheme, authority, path string) []string {
		var p []string
		for _, kv := range [][2]string{{":method", method}, {":scheme", scheme}, {":authority", authority}, {":path", path}} {
			if kv[1] != "" {
				p = append(p, kv[0], kv[1])
			}
		}
		return p
	}
	headers := func(extra ...string) func(c *rawClient) {
		return func(c *rawClient) { c.request(1, "GET", "/", true, extra...) }
	}
	exactly := func(fields ...string) func(c *rawClient) {
		return func(c *rawClient) { c.headers(1, true, fields...) }
	}
	tests := []struct {
		name  string
		write func(c *rawClient)
		code  http2.ErrCode
	}{
		{"no :method", exactly(pseudo("", "https", "example.com", "/")...), http2.ErrCodeProtocol},
		{"no :path", exactly(pseudo("GET", "https", "example.com", "")...), http2.ErrCodeProtocol},
		{"no :scheme", exactly(pseudo("GET", "", "example.com", "/")...), http2.ErrCodeProtocol},
		{"no pseudo-header", exactly("accept", "*/*"), http2.ErrCodeProtocol},
		{"empty header block", exactly(), http2.ErrCodeProtocol},
		{":status in a request", exactly(append(pseudo("GET", "https", "example.com", "/"), ":status", "200")...), http2.ErrCodeProtocol},
		{":protocol", exactly(append(pseudo("CONNECT", "https", "example.com", "/"), ":protocol", "websocket")...), http2.ErrCodeProtocol},
		{"unknown pseudo-header", exactly(append(pseudo("GET", "https", "example.com", "/"), ":foo", "x")...), http2.ErrCodeProtocol},
		{"duplicate :path", exactly(append(pseudo("GET", "https", "example.com", "/"), ":path", "/2")...), http2.ErrCodeProtocol},
		{"pseudo-header after a field", exactly(":method", "GET", "accept", "*/*", ":scheme", "https", ":path", "/"), http2.ErrCodeProtocol},
		{"CONNECT with a path", exactly(pseudo("CONNECT", "https", "example.com:443", "/")...), http2.ErrCodeProtocol},
		{"connection", headers("connection", "keep-alive"), http2.ErrCodeProtocol},
		{"keep-alive", headers("keep-alive", "timeout=5"), http2.ErrCodeProtocol},
		{"proxy-connection", headers("proxy-connection", "keep-alive"), http2.ErrCodeProtocol},
		{"transfer-encoding", headers("transfer-encoding", "chunked"), http2.ErrCodeProtocol},
		{"upgrade", headers("upgrade", "h2c"), http2.ErrCodeProtocol},
		{"te: gzip", headers("te", "gzip"), http2.ErrCodeProtocol},
		{"uppercase name", headers("Accept", "*/*"), http2.ErrCodeProtocol},
		{"name with a space", headers("a b", "x"), http2.ErrCodeProtocol},
		{"value with a newline", headers("x-a", "1\r\nx-b: 2"), http2.ErrCodeProtocol},
		{"value with NUL", headers("x-a", "1\x00"), http2.ErrCodeProtocol},
		{"two content-lengths", func(c *rawClient) {
			c.request(1, "POST", "/", false, "content-length", "1", "content-length", "1")
		}, http2.ErrCodeProtocol},
		{"content-length +1", func(c *rawClient) {
			c.request(1, "POST", "/", false, "content-length", "+1")
		}, http2.ErrCodeProtocol},
		{"path not absolute", exactly(pseudo("GET", "https", "example.com", "index.html")...), http2.ErrCodeProtocol},
		{"path * for GET", exactly(pseudo("GET", "https", "example.com", "*")...), http2.ErrCodeProtocol},
		{"path in absolute form", exactly(pseudo("GET", "https", "example.com", "https://other.example/")...), http2.ErrCodeProtocol},
		{"scheme not http(s)", exactly(pseudo("GET", "ftp", "example.com", "/")...), http2.ErrCodeProtocol},
		{"method not a token", exactly(pseudo("G T", "https", "example.com", "/")...), http2.ErrCodeProtocol},
		{"authority not a host", exactly(pseudo("GET", "https", "example.com/x y", "/")...), http2.ErrCodeProtocol},
		{"authority with userinfo", exactly(pseudo("GET", "https", "user@example.com", "/")...), http2.ErrCodeProtocol},
		{"host other than authority", headers("host", "other.example"), http2.ErrCodeProtocol},
		{"PRIORITY on itself", func(c *rawClient) {
			c.request(1, "GET", "/block", true)
			c.write(func(f *fr) error { return f.WritePriority(1, http2.PriorityParam{StreamDep: 1, Weight: 15}) })
		}, http2.ErrCodeProtocol},
		{"HEADERS depending on itself", func(c *rawClient) {
			b := c.block(pseudo("GET", "https", "example.com", "/")...)
			c.write(func(f *fr) error {
				return f.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: b, EndStream: true, EndHeaders: true,
					Priority: http2.PriorityParam{StreamDep: 1, Weight: 15}})
			})
		}, http2.ErrCodeProtocol},
		{"WINDOW_UPDATE of 0 on a stream", func(c *rawClient) {
			c.request(1, "GET", "/block", true)
			c.write(func(f *fr) error { return f.WriteWindowUpdate(1, 0) })
		}, http2.ErrCodeProtocol},
		{"DATA after END_STREAM", func(c *rawClient) {
			c.request(1, "GET", "/block", true)
			c.data(1, true, []byte("x"))
		}, http2.ErrCodeStreamClosed},
		{"HEADERS after END_STREAM", func(c *rawClient) {
			c.request(1, "GET", "/block", true)
			c.headers(1, true, "x-trailer", "1")
		}, http2.ErrCodeStreamClosed},
		{"trailers without END_STREAM", func(c *rawClient) {
			c.request(1, "POST", "/", false)
			c.data(1, false, []byte("body"))
			c.headers(1, false, "x-trailer", "1")
		}, http2.ErrCodeProtocol},
		{"trailers with a pseudo-header", func(c *rawClient) {
			c.request(1, "POST", "/", false)
			c.data(1, false, []byte("body"))
			c.headers(1, true, ":path", "/")
		}, http2.ErrCodeProtocol},
		{"body longer than content-length", func(c *rawClient) {
			c.request(1, "POST", "/", false, "content-length", "3")
			c.data(1, true, []byte("four"))
		}, http2.ErrCodeProtocol},
		{"body shorter than content-length", func(c *rawClient) {
			c.request(1, "POST", "/", false, "content-length", "5")
			c.data(1, true, []byte("four"))
		}, http2.ErrCodeProtocol},
		{"body shorter than content-length, then trailers", func(c *rawClient) {
			c.request(1, "POST", "/", false, "content-length", "5")
			c.data(1, false, []byte("four"))
			c.headers(1, true, "x-trailer", "1")
		}, http2.ErrCodeProtocol},
		{"content-length with END_STREAM on HEADERS", func(c *rawClient) {
			c.request(1, "POST", "/", true, "content-length", "5")
		}, http2.ErrCodeProtocol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := serveRaw(t, &Server{Handler: echo})
			c.handshake()
			tt.write(c)
			r := c.response(1)
			if !r.rst || r.code != tt.code {
				t.Fatalf("stream 1: %s %q ended %v rst %v %v, want RST_STREAM %v", r.status, r.body, r.ended, r.rst, r.code, tt.code)
			}
			if r := c.get(3, "/next"); r.status != "200" || string(r.body) != "GET /next " {
				t.Fatalf("stream 3 after: %s %q rst %v", r.status, r.body, r.rst)
			}
		})
	}
}

// A body that does not match its Content-Length never reads as whole.
func TestContentLengthMismatchFailsRead(t *testing.T) {
	got := make(chan error, 1)
	c := serveRaw(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		got <- err
	})})
	c.handshake()
	c.request(1, "POST", "/", false, "content-length", "5")
	c.data(1, true, []byte("four"))
	select {
	case err := <-got:
		if err == nil {
			t.Fatal("the handler read a body of 4 bytes of 5 without error")
		}
	case <-time.After(waitTime):
		t.Fatal("the handler's read did not end")
	}
}

func TestValidRequestsAccepted(t *testing.T) {
	tests := []struct {
		name  string
		write func(c *rawClient)
		want  string
	}{
		{"te: trailers", func(c *rawClient) { c.request(1, "GET", "/", true, "te", "trailers") }, "GET / "},
		{"host equal to authority", func(c *rawClient) { c.request(1, "GET", "/", true, "host", "example.com") }, "GET / "},
		{"host alone", func(c *rawClient) {
			c.headers(1, true, ":method", "GET", ":scheme", "https", ":path", "/h", "host", "example.com")
		}, "GET /h "},
		{"OPTIONS *", func(c *rawClient) { c.request(1, "OPTIONS", "*", true) }, "OPTIONS * "},
		{"body with content-length", func(c *rawClient) {
			c.request(1, "POST", "/p", false, "content-length", "4")
			c.data(1, false, []byte("fo"))
			c.data(1, true, []byte("ur"))
		}, "POST /p four"},
		{"body with trailers", func(c *rawClient) {
			c.request(1, "POST", "/p", false, "content-length", "4")
			c.data(1, false, []byte("four"))
			c.headers(1, true, "x-checksum", "1")
		}, "POST /p four"},
		{"empty DATA with END_STREAM", func(c *rawClient) {
			c.request(1, "POST", "/p", false, "content-length", "0")
			c.data(1, true, nil)
		}, "POST /p "},
		{"cookies", func(c *rawClient) {
			c.request(1, "GET", "/", true, "cookie", "a=1", "cookie", "b=2")
		}, "GET / "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := serveRaw(t, &Server{Handler: echo})
			c.handshake()
			tt.write(c)
			if r := c.response(1); r.status != "200" || string(r.body) != tt.want {
				t.Fatalf("stream 1: %s %q rst %v %v, want 200 %q", r.status, r.body, r.rst, r.code, tt.want)
			}
		})
	}
}

func TestFirstFrameMustBeSettings(t *testing.T) {
	c := serveRaw(t, &Server{Handler: echo})
	c.writePreface()
	c.startReading()
	c.write(func(f *http2.Framer) error { return f.WritePing(false, [8]byte{}) })
	rest := c.closed()
	if len(rest) == 0 || rest[len(rest)-1].typ != http2.FrameGoAway || rest[len(rest)-1].code != http2.ErrCodeProtocol {
		t.Fatalf("got %v, want a GOAWAY PROTOCOL_ERROR last", frameList(rest))
	}
}

func TestBadPreface(t *testing.T) {
	c := serveRaw(t, &Server{Handler: echo})
	c.startReading()
	io.WriteString(c.nc, "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")
	if rest := c.closed(); len(rest) > 0 && rest[0].typ != http2.FrameGoAway {
		t.Fatalf("after a bad preface: %v, want nothing or a GOAWAY", frameList(rest))
	}
	select {
	case <-c.served:
	case <-time.After(waitTime):
		t.Fatal("ServeConn did not return after a bad preface")
	}
}

func TestPrefaceTimeout(t *testing.T) {
	for _, name := range []string{"no preface", "preface, no SETTINGS", "half a SETTINGS"} {
		t.Run(name, func(t *testing.T) {
			c := serveRaw(t, &Server{Handler: echo, PrefaceTimeout: 50 * time.Millisecond})
			switch name {
			case "preface, no SETTINGS":
				c.writePreface()
			case "half a SETTINGS":
				c.writePreface()
				c.nc.Write([]byte{0, 0, 6, 4, 0, 0, 0, 0})
			}
			c.startReading()
			c.closed()
			select {
			case <-c.served:
			case <-time.After(waitTime):
				t.Fatal("ServeConn did not return past the preface timeout")
			}
		})
	}
	t.Run("not after the preface", func(t *testing.T) {
		c := serveRaw(t, &Server{Handler: echo, PrefaceTimeout: 50 * time.Millisecond})
		c.handshake()
		// Another connection's preface timing out proves the time passed.
		c2 := serveRaw(t, &Server{Handler: echo, PrefaceTimeout: 50 * time.Millisecond})
		c2.startReading()
		c2.closed()
		if r := c.get(1, "/"); r.status != "200" {
			t.Fatalf("after the preface timeout: %+v", r)
		}
	})
}

func TestTrailersDropped(t *testing.T) {
	got := make(chan http.Header, 1)
	c := serveRaw(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		got <- r.Trailer
	})})
	c.handshake()
	c.request(1, "POST", "/", false, "trailer", "x-sum")
	c.data(1, false, []byte("body"))
	c.headers(1, true, "x-sum", "1")
	if r := c.response(1); r.status != "200" {
		t.Fatalf("stream 1: %+v", r)
	}
	<-got
}

// DATA on a closed stream resets it with STREAM_CLOSED (RFC 9113 §5.1),
// and gives what it carried back to the connection's window.
func TestDataOnClosedStream(t *testing.T) {
	c := serveRaw(t, &Server{Handler: echo})
	c.handshake()
	if r := c.get(1, "/"); r.status != "200" {
		t.Fatalf("stream 1: %+v", r)
	}
	chunk := make([]byte, defaultFrameSize)
	for range 8 { // twice the connection's window
		c.data(1, false, chunk)
	}
	rst := c.waitFor("RST_STREAM", func(f frame) bool { return f.typ == http2.FrameRSTStream && f.stream == 1 })
	if rst.code != http2.ErrCodeStreamClosed {
		t.Fatalf("DATA on a closed stream: RST_STREAM %v, want STREAM_CLOSED", rst.code)
	}
	if r := c.get(3, "/next"); r.status != "200" {
		t.Fatalf("stream 3 after: %+v", r)
	}
}

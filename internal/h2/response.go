package h2

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"depot/internal/logtime"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// responseWriter is a stream's http.ResponseWriter. It gathers the body
// up to bufSize; a response that fits leaves, when its handler returns,
// as one HEADERS frame and one DATA frame that ends the stream. Its
// header map is sent as it is when the HEADERS frame goes (at the
// handler's end, its first Flush, or once the body passes bufSize), not
// as it was at WriteHeader.
type responseWriter struct {
	st          *stream
	head        bool // a HEAD request: the body is counted, not sent
	header      http.Header
	status      int
	wroteHeader bool
	sentHeader  bool
	bodyAllowed bool
	declared    int64  // the Content-Length the handler set; -1 for none
	clen        string // declared as the handler wrote it (the header may change after)
	written     int64
	buf         *[]byte // the body gathered; nil until the first byte
}

// bufSize is how much of a body is gathered before frames go out: a
// frame of the default maximum size.
const bufSize = defaultFrameSize

// HeldBody is the longest body that a handler which declares no
// Content-Length, and writes the body before it returns, gets sent with
// a Content-Length anyway (after its other fields, in the same HEADERS
// frame): the server holds all of it when the handler returns.
const HeldBody = bufSize

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, bufSize); return &b }}

func (w *responseWriter) Header() http.Header { return w.header }

func (w *responseWriter) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if code < 200 {
		if code != http.StatusSwitchingProtocols {
			w.informational(code)
		}
		return
	}
	w.wroteHeader, w.status = true, code
	w.bodyAllowed = code != http.StatusNoContent && code != http.StatusNotModified
	w.declared = -1
	if v := w.header["Content-Length"]; len(v) > 0 {
		if n, err := strconv.ParseInt(v[0], 10, 64); err == nil && n >= 0 {
			w.declared, w.clen = n, v[0]
		} else {
			delete(w.header, "Content-Length") // as net/http drops a bad one
		}
	}
}

// informational sends a 1xx response's HEADERS at once.
func (w *responseWriter) informational(code int) {
	c := w.st.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if w.st.reset {
		return
	}
	c.encBuf.Reset()
	c.enc.WriteField(hpack.HeaderField{Name: ":status", Value: strconv.Itoa(code)})
	w.encodeHeader(c.enc, "", "")
	c.writeHeadersLocked(w.st.id, false)
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.bodyAllowed {
		return 0, http.ErrBodyNotAllowed
	}
	if w.declared >= 0 && w.written+int64(len(p)) > w.declared {
		return 0, http.ErrContentLength
	}
	if len(p) == 0 {
		// Nothing to send; and once the declared length was reached,
		// the stream is ended: nothing may follow.
		return 0, nil
	}
	n := len(p)
	w.written += int64(n)
	if w.head {
		return n, nil
	}
	// The declared length reached ends the stream now, with this write.
	end := w.declared == w.written
	if w.declared <= bufSize {
		if w.buf == nil {
			w.buf = bufPool.Get().(*[]byte)
		}
		if b := *w.buf; len(b)+len(p) <= cap(b) {
			*w.buf = append(b, p...)
			if !end {
				return n, nil
			}
			p = nil
		}
	}
	// Past the buffer, or a body declared longer than it (which then
	// leaves as it is written, so that what a write returns was sent),
	// or the declared end: what the buffer holds, then p, go out now.
	c := w.st.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := w.sendLocked(end && len(p) == 0, p); err != nil {
		return 0, err
	}
	if len(p) > 0 {
		if err := c.writeDataLocked(w.st, p, end); err != nil {
			return 0, err
		}
	}
	if end {
		w.st.endedLocked()
	}
	return n, nil
}

// Flush sends the headers and what is gathered of the body.
func (w *responseWriter) Flush() { w.FlushError() }

// FlushError is Flush, with its error (for http.ResponseController).
func (w *responseWriter) FlushError() error {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	c := w.st.c
	c.mu.Lock()
	defer c.mu.Unlock()
	return w.sendLocked(false, nil)
}

// SetWriteDeadline sets when a response that waits for the client's
// window gives up (for http.ResponseController); zero: SendTimeout.
func (w *responseWriter) SetWriteDeadline(t time.Time) error {
	c := w.st.c
	c.mu.Lock()
	w.st.deadline = t
	c.cond.Broadcast()
	c.mu.Unlock()
	return nil
}

// finish ends the response once the handler returned, and counts the
// handler out of the connection's running ones. A body shorter than its
// declared length resets the stream: the client must not take it for
// whole.
func (w *responseWriter) finish() {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	st := w.st
	c := st.c
	c.mu.Lock()
	defer c.mu.Unlock()
	st.returnedLocked()
	if st.reset {
		w.release()
		return
	}
	if w.declared >= 0 && w.written < w.declared && !w.head && w.bodyAllowed {
		c.refuseStreamLocked(st.id, http2.ErrCodeInternal)
		w.release()
		return
	}
	// (Not reset, so sentEnd says that a Write reached the declared end.)
	if !st.sentEnd && w.sendLocked(true, nil) != nil {
		return
	}
	w.release()
	st.endedLocked()
}

func (w *responseWriter) release() {
	if w.buf != nil {
		*w.buf = (*w.buf)[:0]
		bufPool.Put(w.buf)
		w.buf = nil
	}
}

// sendLocked sends the HEADERS frame if it is not out yet, then the body
// gathered; end ends the stream with the last frame. next is what the
// caller sends after, if anything: with nothing gathered, the content
// type is sniffed from it.
func (w *responseWriter) sendLocked(end bool, next []byte) error {
	st := w.st
	c := st.c
	if st.reset {
		return st.err
	}
	var body []byte
	if w.buf != nil {
		body = *w.buf
	}
	if !w.sentHeader {
		w.sentHeader = true
		c.encBuf.Reset()
		c.enc.WriteField(hpack.HeaderField{Name: ":status", Value: statusText(w.status)})
		var ctype, clen string
		sniff := body
		if len(sniff) == 0 {
			sniff = next
		}
		if _, ok := w.header["Content-Type"]; !ok && w.bodyAllowed && len(sniff) > 0 {
			if _, ok := w.header["Content-Encoding"]; !ok {
				ctype = http.DetectContentType(sniff)
			}
		}
		if w.declared >= 0 {
			clen = w.clen
		} else if end && w.bodyAllowed && (len(body) > 0 || !w.head) {
			clen = strconv.Itoa(len(body))
		}
		if w.head && w.declared < 0 && w.written > 0 && end {
			clen = strconv.FormatInt(w.written, 10)
		}
		w.encodeHeader(c.enc, ctype, clen)
		if _, ok := w.header["Date"]; !ok {
			c.enc.WriteField(hpack.HeaderField{Name: "date", Value: httpDate.StringUTC(time.Now())})
		}
		if err := c.writeHeadersLocked(st.id, end && (len(body) == 0 || w.head)); err != nil {
			return err
		}
		if end && (len(body) == 0 || w.head) {
			return nil
		}
	}
	if w.head {
		if end {
			return c.writeDataLocked(st, nil, true)
		}
		return nil
	}
	if len(body) == 0 && !end {
		return nil
	}
	err := c.writeDataLocked(st, body, end)
	if w.buf != nil {
		*w.buf = (*w.buf)[:0]
		if end {
			w.release()
		}
	}
	return err
}

// encodeHeader encodes the handler's header fields, sorted by name as
// net/http's HTTP/2 server sends them, without those HTTP/2 forbids;
// then ctype and clen when not empty.
func (w *responseWriter) encodeHeader(enc *hpack.Encoder, ctype, clen string) {
	var keysBuf [16]string
	keys := keysBuf[:0]
	for k := range w.header {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		switch k {
		case "Content-Length", "Connection", "Proxy-Connection", "Keep-Alive", "Transfer-Encoding", "Upgrade":
			continue
		}
		if !httpguts.ValidHeaderFieldName(k) {
			continue
		}
		name := lowerName(k)
		for _, v := range w.header[k] {
			if !httpguts.ValidHeaderFieldValue(v) {
				continue
			}
			if name == "te" && v != "trailers" {
				continue
			}
			enc.WriteField(hpack.HeaderField{Name: name, Value: v})
		}
	}
	if ctype != "" {
		enc.WriteField(hpack.HeaderField{Name: "content-type", Value: ctype})
	}
	if clen != "" {
		enc.WriteField(hpack.HeaderField{Name: "content-length", Value: clen})
	}
}

// writeHeadersLocked sends the header block in c.encBuf as a HEADERS
// frame and what CONTINUATION frames the client's frame size needs.
func (c *conn) writeHeadersLocked(id uint32, end bool) error {
	block := c.encBuf.Bytes()
	max := int(c.maxFrame)
	first := block[:min(len(block), max)]
	block = block[len(first):]
	err := c.writeLocked(func() error {
		return c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: first, EndStream: end, EndHeaders: len(block) == 0})
	})
	for err == nil && len(block) > 0 {
		frag := block[:min(len(block), max)]
		block = block[len(frag):]
		err = c.writeLocked(func() error { return c.fr.WriteContinuation(id, len(block) == 0, frag) })
	}
	return err
}

// writeDataLocked sends p as DATA frames within the client's frame size
// and flow-control windows, waiting (mu released) for window when there
// is none, until the stream's deadline. end ends the stream with the
// last frame (an empty one if p is).
func (c *conn) writeDataLocked(st *stream, p []byte, end bool) error {
	waiting := false // for window, since the last frame sent
	for {
		if st.reset {
			return st.err
		}
		if c.werr != nil {
			return c.werr
		}
		if len(p) == 0 {
			if !end {
				return nil
			}
			return c.writeLocked(func() error { return c.fr.WriteData(st.id, true, nil) })
		}
		n := min(int32(min(len(p), int(c.maxFrame))), st.window, c.window)
		if n <= 0 {
			if !waiting {
				// The send timeout counts from here: the time the
				// handler took to write is not the client's.
				waiting = true
				st.waitSince = time.Now()
			}
			if err := c.waitWindowLocked(st); err != nil {
				return err
			}
			continue
		}
		waiting = false
		last := end && int(n) == len(p)
		chunk := p[:n]
		if err := c.writeLocked(func() error { return c.fr.WriteData(st.id, last, chunk) }); err != nil {
			return err
		}
		st.window -= n
		c.window -= n
		p = p[n:]
		if last {
			return nil
		}
	}
}

// waitWindowLocked waits until the windows may have grown, the stream
// was reset or the connection ended; past the stream's deadline it
// resets the stream and returns os.ErrDeadlineExceeded.
func (c *conn) waitWindowLocked(st *stream) error {
	deadline := st.deadline
	if deadline.IsZero() && c.srv.SendTimeout > 0 {
		deadline = st.waitSince.Add(c.srv.SendTimeout)
	}
	if !deadline.IsZero() {
		d := time.Until(deadline)
		if d <= 0 {
			c.refuseStreamLocked(st.id, http2.ErrCodeInternal)
			st.err = errDeadline
			return errDeadline
		}
		t := time.AfterFunc(d, func() {
			c.mu.Lock()
			c.cond.Broadcast()
			c.mu.Unlock()
		})
		defer t.Stop()
	}
	c.cond.Wait()
	return nil
}

// statusText is a status code as :status sends it.
func statusText(code int) string {
	switch code {
	case 200:
		return "200"
	case 206:
		return "206"
	case 304:
		return "304"
	case 404:
		return "404"
	}
	return strconv.Itoa(code)
}

// httpDate writes the Date header, formatting each second once.
var httpDate = logtime.NewStamps(http.TimeFormat)

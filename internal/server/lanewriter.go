package server

import (
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http/httpguts"

	"depot/internal/logtime"
)

// laneWriter is the lane's http.ResponseWriter. It answers as net/http's
// HTTP/1.1 response writer answers a keep-alive request: the same status
// line, the handler's headers sorted, then Date, Content-Length,
// Content-Type (sniffed), Connection and Transfer-Encoding on the same
// rules; a body of unknown length buffered up to laneBodyBuffer bytes and
// given a Content-Length, or sent chunked past it; no body for HEAD or for
// a status that has none. What it sends gathers in out and leaves in one
// write at the end of a small response, or each time laneOut is reached.
type laneWriter struct {
	lc  *laneConn
	hdr http.Header // the handler's, cleared for each request

	status        int  // 0 until WriteHeader
	committed     bool // the header block is in out (or sent)
	chunking      bool
	head          bool
	contentLength int64 // declared or set, or -1
	written       int64 // body bytes the handler wrote
	closeAfter    bool
	err           error // the first write error: the connection ends

	body []byte  // the body buffered before commit
	out  *[]byte // to send; from outPool, nil when empty
	keys []string
	num  [20]byte // formats a number appended at once
	cl   [20]byte // the Content-Length set
	date [32]byte
}

var outPool = sync.Pool{New: func() any { b := make([]byte, 0, laneOut); return &b }}

func (w *laneWriter) reset(lc *laneConn) {
	clear(w.hdr)
	*w = laneWriter{lc: lc, hdr: w.hdr, body: w.body[:0], keys: w.keys[:0], contentLength: -1, head: lc.req.Method == http.MethodHead, closeAfter: lc.req.Close}
}

func (w *laneWriter) Header() http.Header { return w.hdr }

func (w *laneWriter) WriteHeader(code int) {
	if w.status != 0 {
		return // net/http logs a superfluous call and ignores it
	}
	if code < 100 || code > 999 {
		panic("invalid WriteHeader code " + strconv.Itoa(code)) // as net/http
	}
	if code < 200 && code != http.StatusSwitchingProtocols {
		return // informational: depot sends none (net/http would send it at once)
	}
	w.status = code
	if cl := w.hdr.Get("Content-Length"); cl != "" {
		if v, err := strconv.ParseInt(cl, 10, 64); err == nil && v >= 0 {
			w.contentLength = v
		} else {
			// net/http deletes it from the handler's map, but sends the
			// copy it took before: a HEAD answer keeps it, a body goes
			// chunked without it.
			w.lc.l.errorLog.Printf("http: invalid Content-Length of %q", cl)
		}
	}
}

func (w *laneWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if len(p) == 0 {
		return 0, nil
	}
	if !bodyAllowed(w.status) {
		return 0, http.ErrBodyNotAllowed
	}
	w.written += int64(len(p))
	if w.contentLength != -1 && w.written > w.contentLength {
		return 0, http.ErrContentLength
	}
	// As net/http's buffer of laneBodyBuffer bytes in front of its
	// chunkWriter: what leaves it is one chunk, and the first the bytes
	// the Content-Type is sniffed from, whether the length is known or not.
	n := len(p)
	for len(p) > laneBodyBuffer-len(w.body) {
		if len(w.body) == 0 {
			w.chunk(p) // a large write, whole
			p = nil
			break
		}
		k := laneBodyBuffer - len(w.body)
		w.body = append(w.body, p[:k]...)
		p = p[k:]
		w.chunk(w.body)
		w.body = w.body[:0]
	}
	w.body = append(w.body, p...)
	if w.err != nil {
		return 0, w.err
	}
	return n, nil
}

// chunk is net/http's chunkWriter.Write: the first commits the header
// block, its type sniffed from b; b is then sent, as one chunk if
// chunking, or nothing for HEAD.
func (w *laneWriter) chunk(b []byte) {
	if !w.committed {
		w.commit(false, b)
	}
	if w.err == nil && !w.head {
		w.send(b)
	}
}

// ReadFrom sends a file by sendfile once the headers are out, as
// net/http's response does.
func (w *laneWriter) ReadFrom(src io.Reader) (int64, error) {
	bp := copyPool.Get().(*[]byte)
	defer copyPool.Put(bp)
	var n int64
	if !w.committed {
		// The first bytes for sniffing, through Write.
		n0, err := io.CopyBuffer(writerOnly{w}, io.LimitReader(src, 512), *bp)
		n += n0
		if err != nil || n0 < 512 {
			return n, err
		}
	}
	if err := w.FlushError(); err != nil {
		return n, err
	}
	rf, ok := w.lc.c.(io.ReaderFrom)
	if ok && !w.chunking && bodyAllowed(w.status) && !w.head {
		n0, err := rf.ReadFrom(src)
		n += n0
		w.written += n0
		if err != nil && w.err == nil {
			w.err = err
		}
		return n, err
	}
	if w.lc.g != nil && w.lc.g.held == nil && !w.head && bodyAllowed(w.status) {
		// No sendfile (TLS): what the copy writes is gathered below TLS,
		// so that its records leave several to a system call.
		w.lc.g.holdBulk()
		defer func() {
			if err := w.lc.g.release(); err != nil && w.err == nil {
				w.err, w.closeAfter = err, true
			}
		}()
	}
	n0, err := io.CopyBuffer(writerOnly{w}, src, *bp)
	return n + n0, err
}

func (w *laneWriter) Flush() { _ = w.FlushError() }

// FlushError sends what is gathered (http.ResponseController.Flush).
func (w *laneWriter) FlushError() error {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if len(w.body) > 0 {
		w.chunk(w.body)
		w.body = w.body[:0]
	}
	if !w.committed {
		w.commit(false, nil)
	}
	w.flush()
	return w.err
}

// finish ends the response (the handler returned) and sends it.
func (w *laneWriter) finish() {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !w.committed {
		w.commit(true, w.body)
	}
	if len(w.body) > 0 && w.err == nil && !w.head {
		w.send(w.body)
	}
	w.body = w.body[:0]
	if w.chunking && w.err == nil {
		w.append([]byte("0\r\n\r\n"))
	}
	if w.contentLength != -1 && w.written != w.contentLength && !w.head && bodyAllowed(w.status) {
		w.closeAfter = true // as net/http: the client cannot find the end
	}
	w.flush()
	if w.out != nil {
		*w.out = (*w.out)[:0]
		outPool.Put(w.out)
		w.out = nil
	}
}

// send sends body bytes p after the header block, chunked if chunking.
func (w *laneWriter) send(p []byte) {
	if w.chunking {
		w.append(strconv.AppendInt(w.num[:0], int64(len(p)), 16))
		w.append(crlf)
	}
	if w.out != nil && len(*w.out)+len(p) > laneOut {
		w.flush()
		w.writeConn(p)
		if w.chunking {
			w.append(crlf)
		}
		return
	}
	w.append(p)
	if w.chunking {
		w.append(crlf)
	}
}

var crlf = []byte("\r\n")

// newlineToSpace is net/http's headerNewlineToSpace.
var newlineToSpace = strings.NewReplacer("\n", " ", "\r", " ")

func (w *laneWriter) append(p []byte) { *w.outBuf() = append(*w.outBuf(), p...) }

func (w *laneWriter) appendString(s string) { *w.outBuf() = append(*w.outBuf(), s...) }

// outBuf is out, taken from outPool at the first byte to send.
func (w *laneWriter) outBuf() *[]byte {
	if w.out == nil {
		w.out = outPool.Get().(*[]byte)
	}
	return w.out
}

// flush writes out to the connection.
func (w *laneWriter) flush() {
	if w.out == nil || len(*w.out) == 0 {
		return
	}
	w.writeConn(*w.out)
	*w.out = (*w.out)[:0]
}

func (w *laneWriter) writeConn(p []byte) {
	if w.err != nil {
		return
	}
	if _, err := w.lc.c.Write(p); err != nil {
		w.err = err
		w.closeAfter = true
	}
}

// commit writes the header block to out. p is the body's first bytes, to
// sniff its type from; final says the handler returned and p is all of it. It
// follows net/http's chunkWriter.writeHeader for an HTTP/1.1 request with
// keep-alives on and no request body.
func (w *laneWriter) commit(final bool, p []byte) {
	w.committed = true
	h := w.hdr
	te := headerGet(h, "Transfer-Encoding")
	hasTE := te != ""
	var setCL []byte
	if final && !hasTE && bodyAllowed(w.status) && !hasKey(h, "Content-Length") && (!w.head || len(p) > 0) {
		w.contentLength = int64(len(p))
		setCL = strconv.AppendInt(w.cl[:0], int64(len(p)), 10)
	}
	hasCL := w.contentLength != -1
	if headerGet(h, "Connection") == "close" {
		w.closeAfter = true
	}
	var contentType string
	if bodyAllowed(w.status) {
		_, haveType := h["Content-Type"]
		if !haveType && headerGet(h, "Content-Encoding") == "" && !hasTE && len(p) > 0 {
			contentType = http.DetectContentType(p)
		}
	} else {
		delete(h, "Content-Length")
		delete(h, "Transfer-Encoding")
		if w.status == http.StatusNotModified {
			delete(h, "Content-Type")
		}
	}
	var date []byte
	if !hasKey(h, "Date") {
		date = httpDate.AppendUTC(w.date[:0], time.Now())
	}
	if hasCL && hasTE && te != "identity" {
		delete(h, "Content-Length")
		hasCL = false
	}
	transferEncoding := ""
	switch {
	case w.head || !bodyAllowed(w.status) || w.status == http.StatusNoContent, hasCL:
		delete(h, "Transfer-Encoding")
	case hasTE && te == "identity":
		w.closeAfter = true
		delete(h, "Transfer-Encoding")
	default:
		w.chunking = true
		transferEncoding = "chunked"
		if hasTE && te == "chunked" {
			delete(h, "Transfer-Encoding")
		}
	}
	if w.chunking {
		delete(h, "Content-Length")
	}
	connection := ""
	if w.closeAfter && !hasToken([]byte(headerGet(h, "Connection")), "close") {
		delete(h, "Connection")
		connection = "close"
	}

	// The status line.
	w.appendString("HTTP/1.1 ")
	if text := http.StatusText(w.status); text != "" {
		w.append(strconv.AppendInt(w.num[:0], int64(w.status), 10))
		w.appendString(" ")
		w.appendString(text)
		w.appendString("\r\n")
	} else {
		w.appendString(strconv.Itoa(w.status) + " status code " + strconv.Itoa(w.status) + "\r\n")
	}
	// The handler's headers, sorted, as Header.Write.
	keys := w.keys[:0]
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	w.keys = keys
	for _, k := range keys {
		if !httpguts.ValidHeaderFieldName(k) {
			continue
		}
		for _, v := range h[k] {
			if strings.IndexByte(v, '\n') >= 0 || strings.IndexByte(v, '\r') >= 0 {
				v = newlineToSpace.Replace(v)
			}
			w.appendString(k)
			w.appendString(": ")
			w.appendString(trimSpace(v))
			w.append(crlf)
		}
	}
	if date != nil {
		w.appendString("Date: ")
		w.append(date)
		w.append(crlf)
	}
	if setCL != nil {
		w.appendString("Content-Length: ")
		w.append(setCL)
		w.append(crlf)
	}
	for _, kv := range [...][2]string{{"Content-Type", contentType}, {"Connection", connection}, {"Transfer-Encoding", transferEncoding}} {
		if kv[1] != "" {
			w.appendString(kv[0])
			w.appendString(": ")
			w.appendString(kv[1])
			w.append(crlf)
		}
	}
	w.append(crlf)
}

// hasKey is net/http's Header.has: the key is present, whatever its value.
func hasKey(h http.Header, key string) bool {
	_, ok := h[key]
	return ok
}

// headerGet is net/http's Header.get: the first value of a canonical key.
func headerGet(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func bodyAllowed(status int) bool {
	return !(status >= 100 && status <= 199 || status == http.StatusNoContent || status == http.StatusNotModified)
}

// httpDate writes the Date header, formatting each second once.
var httpDate = logtime.NewStamps(http.TimeFormat)

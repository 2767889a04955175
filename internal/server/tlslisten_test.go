package server

import (
	"crypto/tls"
	"io"
	"net/http"
	"testing"

	"depot/internal/config"
	"depot/internal/responder"
)

// tlsProbe answers /tls with what the handler knows of the request's TLS.
type tlsProbe struct{}

func (tlsProbe) Respond(w http.ResponseWriter, r *http.Request) (bool, error) {
	if r.URL.Path != "/tls" {
		return false, nil
	}
	if r.TLS == nil || !r.TLS.HandshakeComplete {
		io.WriteString(w, "no TLS state")
	} else {
		io.WriteString(w, tls.VersionName(r.TLS.Version))
	}
	return true, nil
}

// TestTLSListenerKeepsRequestTLS: the listener does the handshake itself
// and hands HTTP/1.1 connections to net/http wrapped; handlers still see
// the request's TLS state (r.TLS), over HTTP/1.1 and HTTP/2 alike.
func TestTLSListenerKeepsRequestTLS(t *testing.T) {
	ts, _, tc := startTLS(t, Options{Responders: func(config.Site) []responder.Responder { return []responder.Responder{tlsProbe{}} }})
	for _, h2 := range []bool{false, true} {
		tr := &http.Transport{TLSClientConfig: tc.Clone(), ForceAttemptHTTP2: h2}
		if !h2 {
			tr.TLSClientConfig.NextProtos = []string{"http/1.1"}
		}
		resp, err := (&http.Client{Transport: tr}).Get("https://" + ts.clearnet + "/tls")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if wantMajor := map[bool]int{false: 1, true: 2}[h2]; resp.ProtoMajor != wantMajor || string(b) != "TLS 1.3" {
			t.Errorf("%s: handler saw %q, want TLS 1.3 over HTTP/%d", resp.Proto, b, wantMajor)
		}
		tr.CloseIdleConnections()
	}
}

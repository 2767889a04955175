package certs

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"depot/internal/outbound"
)

// caClient is the HTTP client of every request depot makes to the ACME
// CA: the only place where this package opens a connection, through
// internal/outbound with purpose "acme", which records the destination for
// `depot audit`, never takes a proxy from the environment and bounds
// connecting, the TLS handshake and the wait for an answer. It trusts
// caRoot's certificates besides the system's, and reports every failed
// request through logf, so that an operator sees a CA that is down or
// refuses an order.
func caClient(caRoot string, rec *outbound.Record, logf func(string, ...any)) (*http.Client, error) {
	tr := outbound.NewTransport(outbound.ACME, rec, 30*time.Second)
	if caRoot != "" {
		pem, err := os.ReadFile(caRoot)
		if err != nil {
			return nil, err
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s holds no PEM certificate", caRoot)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: reporting{tr, logf}, Timeout: 2 * time.Minute}, nil
}

// reporting logs the requests to the CA that fail: no answer, or an error
// status with its RFC 8555 problem document (section 6.7). badNonce is not
// reported: the ACME client retries it, as the RFC expects.
type reporting struct {
	rt   http.RoundTripper
	logf func(string, ...any)
}

func (r reporting) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.rt.RoundTrip(req)
	if err != nil {
		r.logf("acme: %s %s: %v", req.Method, req.URL.Redacted(), err)
		return nil, err
	}
	if resp.StatusCode < 400 {
		return resp, nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<10))
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(body), resp.Body), resp.Body}
	var problem struct{ Type, Detail string }
	json.Unmarshal(body, &problem)
	if problem.Type != "urn:ietf:params:acme:error:badNonce" {
		r.logf("acme: %s %s: the CA answered %s: %s %s", req.Method, req.URL.Redacted(), resp.Status, problem.Type, problem.Detail)
	}
	return resp, nil
}

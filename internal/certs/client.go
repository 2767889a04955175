package certs

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"
)

// caClient is the HTTP client of every request depot makes to the ACME
// CA: the only place where this package opens a connection.
//
// OUTBOUND (purpose "acme"): when internal/outbound lands on main, this
// dialer is replaced by its, so that the connection is recorded with its
// purpose like every other one depot opens.
//
// It ignores proxy environment variables (connections go where the
// configuration says and nowhere else), bounds every step in time, and
// reports every failed request through logf, so that an operator sees a
// CA that is down or refuses an order.
func caClient(caRoot string, logf func(string, ...any)) (*http.Client, error) {
	var tlsCfg *tls.Config
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
		tlsCfg = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy:                 nil, // never from the environment
		DialContext:           dialer.DialContext,
		TLSClientConfig:       tlsCfg,
		TLSHandshakeTimeout:   30 * time.Second,
		ResponseHeaderTimeout: time.Minute,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConns:          4,
		ForceAttemptHTTP2:     true,
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

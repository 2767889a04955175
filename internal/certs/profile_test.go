package certs

import (
	"crypto/tls"
	"io"
	"net"
	"testing"
	"time"

	"depot/internal/certs/certstest"
)

// serveTLS accepts connections on a loopback listener with cfg, writes
// one byte on each (so that TLS 1.3 tickets reach the client) and closes.
func serveTLS(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				c.Write([]byte{'x'})
				io.Copy(io.Discard, c)
			}()
		}
	}()
	return ln.Addr().String()
}

func dial(addr string, cfg *tls.Config) (tls.ConnectionState, error) {
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer c.Close()
	var b [1]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		return tls.ConnectionState{}, err
	}
	return c.ConnectionState(), nil
}

func testServer(t *testing.T) (*tls.Config, *certstest.Cert) {
	t.Helper()
	cert := certstest.Write(t, t.TempDir(), "srv", certstest.Options{})
	f, err := OpenFile(cert.CertFile, cert.KeyFile, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return ServerConfig(f.GetCertificate, false), cert
}

func TestProfileIsMozillaIntermediate(t *testing.T) {
	cfg, cert := testServer(t)
	addr := serveTLS(t, cfg)
	tests := []struct {
		name   string
		client *tls.Config
		ok     bool
	}{
		{"TLS 1.3", &tls.Config{MinVersion: tls.VersionTLS13}, true},
		{"TLS 1.2 AES-GCM", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}}, true},
		{"TLS 1.2 ChaCha20", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}}, true},
		{"TLS 1.2 CBC only (LUCKY13)", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256}}, false},
		{"TLS 1.1", &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.client
			c.RootCAs = cert.Pool
			c.ServerName = "localhost"
			_, err := dial(addr, c)
			if tt.ok && err != nil {
				t.Errorf("got %v, want a handshake", err)
			}
			if !tt.ok && err == nil {
				t.Errorf("got a handshake, want it refused")
			}
		})
	}
	st, err := dial(addr, &tls.Config{RootCAs: cert.Pool, ServerName: "localhost", NextProtos: []string{"h2", "http/1.1"}})
	if err != nil || st.NegotiatedProtocol != "h2" {
		t.Errorf("ALPN: got %q, %v; want h2", st.NegotiatedProtocol, err)
	}
}

func TestTicketsResumeForTwoRotationsAtMost(t *testing.T) {
	for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(version), func(t *testing.T) {
			cfg, cert := testServer(t)
			var tickets Tickets
			tickets.Enable(cfg)
			addr := serveTLS(t, cfg)
			client := &tls.Config{RootCAs: cert.Pool, ServerName: "localhost", MaxVersion: version,
				ClientSessionCache: tls.NewLRUClientSessionCache(4)}
			resumed := func() bool {
				t.Helper()
				st, err := dial(addr, client)
				if err != nil {
					t.Fatal(err)
				}
				return st.DidResume
			}
			if resumed() {
				t.Fatal("first connection resumed a session")
			}
			tickets.Rotate()
			if !resumed() {
				t.Error("a ticket of the previous key did not resume")
			}
			// The ticket now held is of the current key; two rotations on
			// it is dropped.
			tickets.Rotate()
			tickets.Rotate()
			if resumed() {
				t.Error("a ticket two rotations old resumed the session")
			}
		})
	}
}

func TestTicketsOffNeverResume(t *testing.T) {
	cfg, cert := testServer(t) // ServerConfig starts with tickets off
	addr := serveTLS(t, cfg)
	client := &tls.Config{RootCAs: cert.Pool, ServerName: "localhost", ClientSessionCache: tls.NewLRUClientSessionCache(4)}
	for i := range 3 {
		st, err := dial(addr, client)
		if err != nil {
			t.Fatal(err)
		}
		if st.DidResume {
			t.Fatalf("connection %d resumed a session with tickets off", i+1)
		}
	}
}

package certs

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"sync"
	"time"

	"golang.org/x/crypto/acme"
)

// cipherSuites are the TLS 1.2 suites of Mozilla's "intermediate" profile
// that Go implements: ECDHE key exchange with AES-GCM or ChaCha20-Poly1305.
// All are AEAD; no CBC suite is offered (testssl.sh flags those as
// LUCKY13). TLS 1.3's suites are all AEAD and Go does not let them be
// chosen.
var cipherSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// ServerConfig is the TLS configuration of one listener, Mozilla's
// "intermediate" profile: TLS 1.2 with cipherSuites and TLS 1.3, HTTP/2
// and HTTP/1.1, certificates from get. With acmeALPN the listener also
// answers ACME TLS-ALPN-01 challenges (RFC 8737). Session tickets are off
// until a Tickets takes the configuration over.
func ServerConfig(get func(*tls.ClientHelloInfo) (*tls.Certificate, error), acmeALPN bool) *tls.Config {
	cfg := &tls.Config{
		MinVersion:             tls.VersionTLS12,
		CipherSuites:           cipherSuites,
		GetCertificate:         get,
		NextProtos:             []string{"h2", "http/1.1"},
		SessionTicketsDisabled: true,
	}
	if acmeALPN {
		cfg.NextProtos = append(cfg.NextProtos, acme.ALPNProto)
	}
	return cfg
}

// TicketRotation is how often session-ticket keys are replaced. The key
// before the current one still decrypts, so a ticket resumes a session for
// at most two rotations (24 hours), after which the visitor's next
// connection cannot be linked to the earlier ones by it.
const TicketRotation = 12 * time.Hour

// Tickets holds the session-ticket keys of TLS configurations and rotates
// them. Go's own rotation keeps a key for seven days; this one for one.
type Tickets struct {
	mu      sync.Mutex
	configs []*tls.Config
	keys    [][32]byte // newest first, at most two
}

// Enable turns session tickets on for cfg with the current keys.
func (t *Tickets) Enable(cfg *tls.Config) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.keys == nil {
		t.rotateLocked()
	}
	cfg.SessionTicketsDisabled = false
	cfg.SetSessionTicketKeys(t.keys)
	t.configs = append(t.configs, cfg)
}

// Rotate makes a new key the one that encrypts tickets, keeps the one
// before it for decrypting, and drops the older one.
func (t *Tickets) Rotate() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rotateLocked()
}

func (t *Tickets) rotateLocked() {
	var k [32]byte
	rand.Read(k[:]) // never fails (Go 1.24+)
	keys := [][32]byte{k}
	if len(t.keys) > 0 {
		keys = append(keys, t.keys[0])
	}
	t.keys = keys
	for _, c := range t.configs {
		c.SetSessionTicketKeys(keys)
	}
}

// Run rotates the keys every TicketRotation until ctx is done.
func (t *Tickets) Run(ctx context.Context) {
	tick := time.NewTicker(TicketRotation)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			t.Rotate()
		}
	}
}

// Package certs provides what depot's TLS listeners present: the TLS
// profile (Mozilla's "intermediate": TLS 1.2 with AEAD suites and TLS 1.3,
// session-ticket keys rotated twice a day), certificates read from PEM
// files that a reload reads again, and certificates obtained and renewed
// by ACME.
//
// It never contacts anyone unless an ACME manager is built and run, and
// then only the configured CA, through the one HTTP client of client.go
// (internal/outbound, purpose "acme"); a TLS handshake never makes it
// contact the CA.
package certs

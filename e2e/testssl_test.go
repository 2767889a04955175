package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"depot/internal/certs/certstest"
	"depot/internal/server/servertest"
	"depot/internal/testtool"
)

// testsslFinding is one entry of testssl.sh's flat JSON output.
type testsslFinding struct {
	ID, Severity, Finding string
}

// certFindings are the findings a self-signed test certificate causes:
// no chain to a trusted root, no CRL or OCSP URI.
var certFindings = map[string]bool{
	"cert_chain_of_trust": true,
	"cert_revocation":     true,
}

// TestTestsslFindsNothingButTheTestCertificate runs Debian's testssl.sh
// against a depot TLS listener with the default TLS settings and fails on
// any finding (LOW and above) other than those of the self-signed test
// certificate, and on any check that did not run.
//
// Checks run (one invocation, to pay testssl's start-up once): -p
// protocols, -s cipher categories, -f forward secrecy, -S server defaults
// (certificate, session tickets and resumption), -h HTTP headers (HSTS),
// -U every vulnerability check (LUCKY13, BEAST, SWEET32, ROBOT, ...). Left
// out for time: -e (each cipher one by one: -s and -U cover the classes)
// and -c (client simulations, which say nothing about the server's
// configuration that -p and -s do not).
func TestTestsslFindsNothingButTheTestCertificate(t *testing.T) {
	testtool.Need(t, "testssl")
	dir := t.TempDir()
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "index.html"), []byte("<!DOCTYPE html><title>depot</title>"))
	// 200 days: neither close to expiry nor longer than the 398 days
	// browsers accept.
	cert := certstest.Write(t, dir, "cert", certstest.Options{NotAfter: time.Now().Add(200 * 24 * time.Hour)})
	addr := startDepot(t, tlsServeConfig(t, root, &servertest.Cert{CertFile: cert.CertFile, KeyFile: cert.KeyFile}, "", "")).Addr

	jsonFile := filepath.Join(dir, "testssl.json")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "testssl", "--quiet", "--color", "0", "--warnings", "off", "--nodns", "none",
		"--connect-timeout", "10", "--openssl-timeout", "10",
		"-p", "-s", "-f", "-S", "-h", "-U", "--jsonfile", jsonFile, addr)
	cmd.Env = clientEnv()
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("testssl did not finish within 20 minutes; output:\n%s", out)
	}
	b, rerr := os.ReadFile(jsonFile)
	if rerr != nil {
		t.Fatalf("testssl wrote no JSON (%v, exit %v); output:\n%s", rerr, err, out)
	}
	var findings []testsslFinding
	if err := json.Unmarshal(b, &findings); err != nil {
		t.Fatalf("testssl's JSON: %v", err)
	}

	seen := map[string]testsslFinding{}
	for _, f := range findings {
		seen[f.ID] = f
		switch f.Severity {
		case "OK", "INFO", "DEBUG":
			continue
		case "WARN":
			// The scanner's own limits (its OpenSSL lacks RC4 or an
			// engine); any other warning means a check did not run.
			if f.ID == "engine_problem" || strings.Contains(f.Finding, "local OpenSSL") {
				continue
			}
		case "LOW":
			// Go's crypto/tls announces a ticket lifetime of 604800 s, the
			// RFC 8446 maximum, and cannot be told otherwise; depot's
			// ticket keys stop decrypting after 24 hours at most (see
			// certs.TestTicketsResumeForTwoRotationsAtMost), so a ticket
			// never resumes a session for longer than a day.
			if f.ID == "TLS_session_ticket" && f.Finding == "valid for 604800 seconds (>daily)" {
				continue
			}
		}
		if certFindings[f.ID] {
			continue
		}
		t.Errorf("testssl: %s %s: %s", f.Severity, f.ID, f.Finding)
	}
	// The checks that prove the profile must have run and passed.
	for id, want := range map[string]string{
		"TLS1": "not offered", "TLS1_1": "not offered", "TLS1_2": "offered", "TLS1_3": "offered",
		"cipherlist_AVERAGE": "not offered", // the CBC suites
		"LUCKY13":            "not vulnerable",
		"HSTS_time":          "730 days",
	} {
		if f, ok := seen[id]; !ok || !strings.HasPrefix(f.Finding, want) {
			t.Errorf("testssl %s: got %q (ran: %v), want %q", id, f.Finding, ok, want)
		}
	}
	if t.Failed() {
		t.Logf("testssl output:\n%s", out)
	}
}

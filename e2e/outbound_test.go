package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	outboundpkg "depot/internal/outbound"
	"depot/internal/testtool"
)

// The privacy policy promises that the server makes no connection of its
// own that the operator did not configure. These tests run depot under
// strace, which records every connect() and every datagram sent to an
// address, and fail on any that reaches an IPv4 or IPv6 address.

// traceNetwork returns the strace command that records depot's network
// system calls into file.
func traceNetwork(t *testing.T, file string) []string {
	t.Helper()
	testtool.Need(t, "strace")
	return []string{"strace", "-f", "-qq", "-e", "trace=connect,sendto,sendmsg", "-o", file}
}

// outbound returns the traced calls that address an internet socket.
func outbound(t *testing.T, file string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var calls []string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, "AF_INET") {
			calls = append(calls, line)
		}
	}
	return calls
}

func TestServeOpensNoOutboundConnection(t *testing.T) {
	trace := filepath.Join(t.TempDir(), "trace")
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "index.html"), []byte("home"))
	d := startDepotWrapped(t, serveConfig(t, root), traceNetwork(t, trace))
	onion := unixClient(d.Config.Listen[1].SocketPath())
	for _, p := range []string{"/", "/missing", "/.git/config"} {
		get(t, http.DefaultClient, d.URL(p))
		get(t, onion, d.URL(p))
	}
	d.Stop(t)
	if calls := outbound(t, trace); len(calls) > 0 {
		t.Errorf("depot serve, configured with no mirror and no fetch, reached out:\n%s", strings.Join(calls, "\n"))
	}
	// The record for the audit exists and says the same: nobody.
	rec, err := outboundpkg.ReadRecord(outboundpkg.Path(d.Config.DataDir))
	if err != nil {
		t.Errorf("depot serve kept no outbound record: %v", err)
	} else if len(rec.Destinations) != 0 || rec.Resolver != outboundpkg.ResolverNone {
		t.Errorf("outbound.json: %+v, want no destination and resolver none", rec)
	}
	if b, _ := os.ReadFile(trace); len(b) == 0 {
		// The stale-socket check dials the onion socket path, so an empty
		// trace means strace recorded nothing and the test proves nothing.
		t.Fatal("strace recorded no call at all; is tracing working?")
	}
}

func TestStatsUpdateWithoutFetchStaysOffline(t *testing.T) {
	abs, err := filepath.Abs(sharedCase)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	trace := filepath.Join(dir, "trace")
	if err := os.Mkdir(filepath.Join(dir, "no-lists-here"), 0o755); err != nil {
		t.Fatal(err)
	}
	args := append(traceNetwork(t, trace), depotBin, "stats", "update",
		"--logs", filepath.Join(abs, "logs", "access.log*"), "--exit-lists", filepath.Join(dir, "no-lists-here"),
		"--data", filepath.Join(dir, "stats.json"), "--month", "2026-10")
	runOK(t, dir, args[0], args[1:]...)
	if calls := outbound(t, trace); len(calls) > 0 {
		t.Errorf("depot stats update without --fetch reached out:\n%s", strings.Join(calls, "\n"))
	}
}

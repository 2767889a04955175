package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"depot/internal/certs/certstest"
	outboundpkg "depot/internal/outbound"
	"depot/internal/testtool"
)

// pebbleCA is Debian's pebble (an RFC 8555 test CA) with
// pebble-challtestsrv as its DNS server, which answers 127.0.0.1 for every
// name: pebble validates challenges on depot's listeners.
type pebbleCA struct {
	DirURL string // the ACME directory
	CARoot string // PEM file trusting pebble's own HTTPS (for [acme] ca_root)
	mgmt   string // management interface host:port
	client *http.Client
	cmd    *exec.Cmd
	out    *lockedBuffer
	exited chan struct{}
}

// startPebble runs pebble and its DNS server until the test ends. Pebble
// validates HTTP-01 on httpPort and TLS-ALPN-01 on tlsPort of 127.0.0.1,
// and issues certificates valid for validity.
func startPebble(t *testing.T, httpPort, tlsPort string, validity time.Duration) *pebbleCA {
	t.Helper()
	testtool.Need(t, "pebble", "pebble-challtestsrv")
	dir := t.TempDir()
	dns, dnsMgmt := freeAddr(t), freeAddr(t)
	_, dnsOut, _ := runBackground(t, "pebble-challtestsrv", "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "",
		"-dns01", dns, "-http01", "", "-https01", "", "-tlsalpn01", "", "-management", dnsMgmt)
	waitFor(t, 30*time.Second, "pebble-challtestsrv", func() bool {
		c, err := net.DialTimeout("tcp", dnsMgmt, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	}, dnsOut)

	tlsCert := certstest.Write(t, dir, "pebble-https", certstest.Options{Names: []string{"127.0.0.1", "localhost"}})
	listen, mgmt := freeAddr(t), freeAddr(t)
	hp, _ := strconv.Atoi(httpPort)
	tp, _ := strconv.Atoi(tlsPort)
	cfg, _ := json.Marshal(map[string]any{"pebble": map[string]any{
		"listenAddress": listen, "managementListenAddress": mgmt,
		"certificate": tlsCert.CertFile, "privateKey": tlsCert.KeyFile,
		"httpPort": hp, "tlsPort": tp, "ocspResponderURL": "",
		"externalAccountBindingRequired": false,
		"certificateValidityPeriod":      int(validity / time.Second),
	}})
	cfgFile := filepath.Join(dir, "pebble.json")
	writeFile(t, cfgFile, cfg)
	p := &pebbleCA{DirURL: "https://" + listen + "/dir", CARoot: tlsCert.CertFile, mgmt: mgmt,
		client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil, TLSClientConfig: &tls.Config{RootCAs: tlsCert.Pool}}}}
	p.cmd, p.out, p.exited = runBackground(t, "pebble", "-config", cfgFile, "-dnsserver", dns)
	waitFor(t, 30*time.Second, "pebble's directory", func() bool {
		resp, err := p.client.Get(p.DirURL)
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	}, p.out)
	return p
}

// runBackground starts a tool that runs until the test ends (then it is
// killed) and returns it with its output.
func runBackground(t *testing.T, name string, args ...string) (*exec.Cmd, *lockedBuffer, chan struct{}) {
	t.Helper()
	out := &lockedBuffer{}
	cmd := exec.Command(name, args...)
	cmd.Env = append(clientEnv(), "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_AUTHZREUSE=0")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	return cmd, out, exited
}

// Stop ends pebble: the CA is down.
func (p *pebbleCA) Stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Kill()
	<-p.exited
}

// Roots is the pool of pebble's root, from its management interface (a
// new root every time pebble starts).
func (p *pebbleCA) Roots(t *testing.T) *x509.CertPool {
	t.Helper()
	resp, err := p.client.Get("https://" + p.mgmt + "/roots/0")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		t.Fatalf("pebble's /roots/0 is no PEM certificate: %q", b)
	}
	return pool
}

// outputs shows several processes' output one after the other.
type outputs []fmt.Stringer

func (o outputs) String() string {
	var b strings.Builder
	for _, s := range o {
		b.WriteString(s.String())
		b.WriteString("\n---\n")
	}
	return b.String()
}

// waitFor polls cond until it holds, failing the test after limit with
// what out holds.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool, out fmt.Stringer) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s; output:\n%s", what, limit, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// acmeConfig is a depot configuration with the listeners given, one site
// for host, and pebble as its CA.
func acmeConfig(t *testing.T, listeners, host, root string, p *pebbleCA) string {
	t.Helper()
	data := t.TempDir()
	return fmt.Sprintf(`log_dir = %q
data_dir = %q
%s
[[site]]
hosts = [%q]
root = %q

[acme]
ca = %q
ca_root = %q
email = "ops@depot.test"
`, data, data, listeners, host, root, p.DirURL, p.CARoot)
}

// served is the certificate chain depot presents for name on addr, or
// an error (no certificate yet).
func served(addr, name string) ([]*x509.Certificate, error) {
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, &tls.Config{ServerName: name, InsecureSkipVerify: true})
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates, nil
}

// verifiedGet fetches https://name/ from addr, verifying the chain and
// the name against roots as of the certificate's first second (pebble's
// test certificates may be short-lived), and returns the body and the leaf.
func verifiedGet(t *testing.T, addr, name string, roots *x509.CertPool) (string, *x509.Certificate) {
	t.Helper()
	var leaf *x509.Certificate
	verify := func(cs tls.ConnectionState) error {
		leaf = cs.PeerCertificates[0]
		inter := x509.NewCertPool()
		for _, c := range cs.PeerCertificates[1:] {
			inter.AddCert(c)
		}
		_, err := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: roots, Intermediates: inter, CurrentTime: leaf.NotBefore.Add(time.Second)})
		return err
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		},
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true, VerifyConnection: verify}, // verify does it
	}}
	code, body := get(t, client, "https://"+name+"/")
	if code != 200 {
		t.Fatalf("GET https://%s/: %d", name, code)
	}
	return body, leaf
}

// checkStorage checks that depot keeps the account key and the
// certificate under <data_dir>/acme/ with modes 0700 and 0600.
func checkStorage(t *testing.T, d *Depot, host string) {
	t.Helper()
	dir := d.Config.ACMEDir()
	for _, p := range []string{filepath.Dir(dir), dir, filepath.Join(dir, "acme_account+key"), filepath.Join(dir, host)} {
		st, err := os.Stat(p)
		if err != nil {
			t.Errorf("ACME storage: %v", err)
			continue
		}
		want := os.FileMode(0o600)
		if st.IsDir() {
			want = 0o700
		}
		if st.Mode().Perm() != want {
			t.Errorf("%s has mode %v, want %v", p, st.Mode().Perm(), want)
		}
	}
}

// closedPort is a port of 127.0.0.1 where nothing listens.
func closedPort(t *testing.T) string {
	_, port, _ := net.SplitHostPort(freeAddr(t))
	return port
}

// TestACMETLSALPN01RenewsAndOutlivesTheCA: depot has only a TLS listener,
// so the CA can validate nothing but TLS-ALPN-01 on it. Pebble issues
// 30-second certificates: each is near expiry (a third of its life left)
// 20 seconds after it is issued, and depot must renew it; then the CA
// goes down, depot's next renewal fails, and it keeps serving the
// certificate it has.
func TestACMETLSALPN01RenewsAndOutlivesTheCA(t *testing.T) {
	const host = "alpn.depot.test"
	addr := freeAddr(t)
	_, tlsPort, _ := net.SplitHostPort(addr)
	p := startPebble(t, closedPort(t), tlsPort, 30*time.Second)
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "index.html"), []byte("alpn"))
	d := startDepot(t, acmeConfig(t, fmt.Sprintf("[[listen]]\naddress = %q\nacme = true\n", addr), host, root, p))

	var first []*x509.Certificate
	waitFor(t, 2*time.Minute, "certificate for "+host, func() bool {
		var err error
		first, err = served(addr, host)
		return err == nil
	}, d.out)
	roots := p.Roots(t)
	if body, leaf := verifiedGet(t, addr, host, roots); body != "alpn" || !leaf.Equal(first[0]) {
		t.Fatalf("verified GET: %q, leaf serial %x; want \"alpn\" and serial %x", body, leaf.SerialNumber, first[0].SerialNumber)
	}
	checkStorage(t, d, host)

	var renewed []*x509.Certificate
	waitFor(t, 2*time.Minute, "renewed certificate", func() bool {
		var err error
		renewed, err = served(addr, host)
		return err == nil && !renewed[0].Equal(first[0])
	}, d.out)
	if _, leaf := verifiedGet(t, addr, host, roots); !leaf.Equal(renewed[0]) {
		t.Fatalf("the renewed certificate does not verify")
	}
	if !strings.Contains(d.Output(), "acme: "+host+": serving") {
		t.Errorf("depot did not say it serves the renewed certificate; output:\n%s", d.Output())
	}

	p.Stop(t)
	failures := strings.Count(d.Output(), "connection refused")
	waitFor(t, 2*time.Minute, "failed renewal reported", func() bool {
		return strings.Count(d.Output(), "connection refused") > failures
	}, d.out)
	now, err := served(addr, host)
	if err != nil {
		t.Fatalf("with the CA down: %v", err)
	}
	if !now[0].Equal(renewed[0]) {
		t.Errorf("with the CA down depot serves serial %x, want the last obtained %x", now[0].SerialNumber, renewed[0].SerialNumber)
	}
}

// TestACMEHTTP01 has pebble's TLS-ALPN-01 port closed, so the one
// validation that can succeed is HTTP-01 on depot's plain listener, which
// redirects everything else to HTTPS.
func TestACMEHTTP01(t *testing.T) {
	const host = "http.depot.test"
	plainAddr, tlsAddr := freeAddr(t), freeAddr(t)
	_, httpPort, _ := net.SplitHostPort(plainAddr)
	p := startPebble(t, httpPort, closedPort(t), time.Hour)
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "index.html"), []byte("http"))
	d := startDepot(t, acmeConfig(t, fmt.Sprintf("[[listen]]\naddress = %q\nredirect_https = true\n[[listen]]\naddress = %q\nacme = true\n", plainAddr, tlsAddr), host, root, p))

	waitFor(t, 2*time.Minute, "certificate for "+host, func() bool {
		_, err := served(tlsAddr, host)
		return err == nil
	}, outputs{d.out, p.out})
	if body, _ := verifiedGet(t, tlsAddr, host, p.Roots(t)); body != "http" {
		t.Fatalf("verified GET: %q, want \"http\"", body)
	}
	checkStorage(t, d, host)
	waitForLog(t, d.AccessLog(), "pebble's HTTP-01 request", func(l logLine) bool {
		return strings.HasPrefix(l.Request, "GET /.well-known/acme-challenge/") && l.Status == "200"
	})

	// Everything else on the plain listener is redirected, and logged.
	noRedirect := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("GET", "http://"+plainAddr+"/docs/?q=1", nil)
	req.Host = host
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	_, tlsPort, _ := net.SplitHostPort(tlsAddr)
	if want := "https://" + host + ":" + tlsPort + "/docs/?q=1"; resp.StatusCode != 301 || resp.Header.Get("Location") != want {
		t.Errorf("plain GET: %d Location %q, want 301 %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}
	waitForLog(t, d.AccessLog(), "the redirect", func(l logLine) bool { return l.Request == "GET /docs/?q=1 HTTP/1.1" && l.Status == "301" })

	// The CA is recorded for depot audit, with its purpose.
	d.Stop(t)
	f, err := outboundpkg.ReadRecord(outboundpkg.Path(d.Config.DataDir))
	if err != nil {
		t.Fatal(err)
	}
	_, caPort, _ := net.SplitHostPort(strings.TrimPrefix(strings.TrimSuffix(p.DirURL, "/dir"), "https://"))
	if len(f.Destinations) != 1 || f.Destinations[0].Host != "127.0.0.1" || f.Destinations[0].Port != caPort || f.Destinations[0].Purpose != outboundpkg.ACME {
		t.Errorf("outbound.json holds %+v, want only 127.0.0.1:%s for acme", f.Destinations, caPort)
	}
}

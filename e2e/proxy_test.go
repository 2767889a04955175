package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"depot/internal/config"
	"depot/internal/demo"
	outboundpkg "depot/internal/outbound"
	"depot/internal/proxy/proxytest"
	"depot/internal/testtool"
)

// startProxy runs `depot proxy` with a [proxy] table on a free loopback
// port that allows allow, logging to its own log_dir, and returns the
// proxy's address and log file.
func startProxy(t testing.TB, allow ...string) (addr, logFile string) {
	t.Helper()
	_, addr, logFile = startProxyWrapped(t, "", nil, allow...)
	return addr, logFile
}

// startProxyWrapped is startProxy with more [proxy] keys (extra) and depot
// run by the command wrap.
func startProxyWrapped(t testing.TB, extra string, wrap []string, allow ...string) (d *Depot, addr, logFile string) {
	t.Helper()
	return startProxyLogged(t, true, extra, wrap, allow...)
}

// startProxyLogged is startProxyWrapped with log = true or false.
func startProxyLogged(t testing.TB, log bool, extra string, wrap []string, allow ...string) (d *Depot, addr, logFile string) {
	t.Helper()
	dir := t.TempDir()
	addr = freeAddr(t)
	quoted := make([]string, len(allow))
	for i, a := range allow {
		quoted[i] = fmt.Sprintf("%q", a)
	}
	toml := fmt.Sprintf("log_dir = %q\ndata_dir = %q\n\n[proxy]\nlisten = %q\nallow = [%s]\nlog = %t\n%s", dir, dir, addr, strings.Join(quoted, ", "), log, extra)
	file := filepath.Join(dir, "proxy.toml")
	writeFile(t, file, []byte(toml))
	// start waits for every listener of Config: here, the proxy's.
	d = &Depot{Dir: dir, Config: &config.Config{DataDir: dir, Listen: []config.Listen{{Address: addr}}}, wrap: wrap}
	d.start(t, dir, "proxy", "--config", file)
	return d, addr, filepath.Join(dir, "proxy.log")
}

// TestProxyCurl fetches a file from a depot server through depot proxy with
// curl, and is refused a destination that is not allowed.
func TestProxyCurl(t *testing.T) {
	testtool.Need(t, "curl")
	www := t.TempDir()
	writeFile(t, filepath.Join(www, "repo", "file.txt"), []byte("through the proxy\n"))
	d := startDepot(t, serveConfig(t, www))
	port := d.Addr[strings.LastIndexByte(d.Addr, ':')+1:]
	proxyAddr, logFile := startProxy(t, "localhost:"+port)

	out := runOK(t, www, "curl", "-sS", "--fail", "-x", "http://"+proxyAddr, "http://localhost:"+port+"/repo/file.txt")
	if out != "through the proxy\n" {
		t.Errorf("curl through the proxy got %q, want the file", out)
	}
	// 127.0.0.1 is the same server, but not the name the allowlist holds.
	out = runOK(t, www, "curl", "-sS", "-o", "/dev/stderr", "-w", "%{http_code}", "-x", "http://"+proxyAddr, "http://127.0.0.1:"+port+"/repo/file.txt")
	if !strings.HasSuffix(out, "403") || !strings.Contains(out, "127.0.0.1:"+port+" is not allowed") || !strings.Contains(out, "[proxy]") {
		t.Errorf("curl to an unlisted destination got %q, want 403 naming it and the [proxy] table", out)
	}
	// CONNECT to a port the allowlist does not name.
	out, err := runErr(www, "curl", "-sS", "-p", "-x", "http://"+proxyAddr, "http://localhost:22/")
	if err == nil || !strings.Contains(out, "403") {
		t.Errorf("curl CONNECT to localhost:22 got %v %q, want the tunnel refused with 403", err, out)
	}
	waitForProxyLog(t, logFile, `"GET http://localhost:`+port+`/repo/file.txt HTTP/1.1" 200 18`)
	assertNoClientInProxyLog(t, logFile)
	// The served file was fetched by the proxy, from loopback.
	waitForLog(t, d.AccessLog(), "the proxied GET", func(l logLine) bool {
		return l.Request == "GET /repo/file.txt HTTP/1.1" && l.Status == "200"
	})
}

// TestProxyApt runs apt-get update and download from the demo's signed apt
// tree served by depot, with apt's HTTP proxy set to depot proxy.
func TestProxyApt(t *testing.T) {
	testtool.Need(t, "apt-get")
	root, err := demo.Extract(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	d := startDepot(t, serveConfig(t, root))
	port := d.Addr[strings.LastIndexByte(d.Addr, ':')+1:]
	proxyAddr, logFile := startProxy(t, "localhost:"+port)
	repo := "http://localhost:" + port + "/deb/r4.2/vm"
	dir, apt := apt(t, "deb [signed-by="+filepath.Join(root, "KEY.asc")+"] "+repo+" bookworm main")
	viaProxy := []string{"-o", "Acquire::http::Proxy=http://" + proxyAddr}
	if out := apt("apt-get", append(viaProxy, "update")...); !strings.Contains(out, "bookworm InRelease") {
		t.Errorf("apt-get update did not fetch InRelease:\n%s", out)
	}
	apt("apt-get", append(viaProxy, "download", "depot-demo-hello")...)
	assertSameFile(t, filepath.Join(dir, filepath.Base(demoDeb)), demoFile(demoDeb))
	waitForProxyLog(t, logFile, `"GET `+repo+`/dists/bookworm/InRelease HTTP/1.1" 200 `)
	waitForProxyLog(t, logFile, `"GET `+repo+`/pool/main/d/depot-demo-hello/`+filepath.Base(demoDeb)+` HTTP/1.1" 200 `)
	assertNoClientInProxyLog(t, logFile)

}

// TestProxyOverTorLeaksNoDNS runs depot proxy under strace with a SOCKS5
// upstream (a fake tor that joins every stream to a local depot server)
// and fetches http://repo.example.org/ through it with curl: the SOCKS
// server must be asked for the name, and depot's only connections to an
// internet address must be to the SOCKS port: no DNS query, no direct
// connection to the destination.
func TestProxyOverTorLeaksNoDNS(t *testing.T) {
	testtool.Need(t, "curl")
	trace := filepath.Join(t.TempDir(), "trace")
	tracer := traceNetwork(t, trace)
	www := t.TempDir()
	writeFile(t, filepath.Join(www, "repo", "repomd.xml"), []byte("<repomd/>\n"))
	origin := startDepot(t, serveConfig(t, www))
	tor := proxytest.NewSOCKS5(t, origin.Addr)
	d, proxyAddr, _ := startProxyWrapped(t, fmt.Sprintf("upstream = \"socks5://%s\"\n", tor.Addr), tracer, "repo.example.org")

	out := runOK(t, www, "curl", "-sS", "--fail", "-x", "http://"+proxyAddr, "http://repo.example.org/repo/repomd.xml")
	if out != "<repomd/>\n" {
		t.Errorf("curl through the proxy and the SOCKS server got %q, want the file", out)
	}
	reqs := tor.Requests()
	if len(reqs) != 1 || reqs[0].AddrType != proxytest.ATypDomain || reqs[0].Host != "repo.example.org" || reqs[0].Port != 80 {
		t.Errorf("SOCKS server got %v, want one CONNECT to the domain name repo.example.org:80", reqs)
	}
	d.Stop(t)
	_, torPort, _ := strings.Cut(tor.Addr, ":")
	calls := outbound(t, trace)
	if len(calls) == 0 {
		t.Fatal("strace recorded no connection at all; is tracing working?")
	}
	for _, c := range calls {
		if !strings.Contains(c, "sin_port=htons("+torPort+")") {
			t.Errorf("depot proxy reached something other than its SOCKS upstream (:%s):\n%s", torPort, c)
		}
	}
	// The record for the audit says the same: the SOCKS port, no DNS.
	rec, err := outboundpkg.ReadRecord(outboundpkg.Path(d.Config.DataDir))
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Destinations) != 1 || rec.Resolver != outboundpkg.ResolverNone {
		t.Fatalf("outbound.json: %+v, want the SOCKS server alone and resolver none", rec)
	}
	if u := rec.Destinations[0]; u.Host != "127.0.0.1" || u.Port != torPort || u.Purpose != outboundpkg.ProxyUpstream {
		t.Errorf("outbound.json lists %+v, want 127.0.0.1:%s for proxy-upstream", u, torPort)
	}
}

// waitForProxyLog waits for proxy.log to hold a line containing want
// (lines reach the file within logsink.FlushInterval).
func waitForProxyLog(t testing.TB, path, want string) {
	t.Helper()
	waitForLogWhile(t, path, want, func() {}, func(l logLine) bool { return strings.Contains(l.Raw, want) })
}

// assertNoClientInProxyLog checks that every proxy.log line has "-" for
// the client address, the referer and the user agent.
func assertNoClientInProxyLog(t testing.TB, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if !strings.HasPrefix(line, "- - - [") || !strings.HasSuffix(line, `"-" "-"`) {
			t.Errorf("proxy.log line names its client or client software:\n%s", line)
		}
	}
}

// TestServeRunsTheProxy: with a [proxy] table, depot serve runs the updates
// proxy beside its listeners, and SIGTERM stops both.
func TestServeRunsTheProxy(t *testing.T) {
	testtool.Need(t, "curl")
	www := t.TempDir()
	writeFile(t, filepath.Join(www, "repo", "file.txt"), []byte("served and proxied\n"))
	proxyAddr := freeAddr(t)
	cfg := serveConfig(t, www)
	addr := strings.SplitN(strings.SplitN(cfg, "[[listen]]\naddress = \"", 2)[1], "\"", 2)[0]
	port := addr[strings.LastIndexByte(addr, ':')+1:]
	d := startDepot(t, cfg+"\n[proxy]\nlisten = \""+proxyAddr+"\"\nallow = [\"localhost:"+port+"\"]\n")
	if !strings.Contains(d.Output(), proxyAddr) {
		t.Errorf("depot serve does not say where the proxy listens:\n%s", d.Output())
	}
	out := runOK(t, www, "curl", "-sS", "--fail", "-x", "http://"+proxyAddr, "http://localhost:"+port+"/repo/file.txt")
	if out != "served and proxied\n" {
		t.Errorf("curl through serve's proxy got %q", out)
	}
	d.Stop(t)
	if _, err := runErr(www, "curl", "-sS", "--max-time", "2", "-x", "http://"+proxyAddr, "http://localhost:"+port+"/repo/file.txt"); err == nil {
		t.Error("the proxy still answers after SIGTERM")
	}
}

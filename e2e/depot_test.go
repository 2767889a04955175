package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"depot/internal/config"
)

// depotBin is the depot binary TestMain builds.
var depotBin string

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

// buildAndRun builds depot, or takes DEPOT_BIN when set: a build of
// another commit, to see a test fail before a fix.
func buildAndRun(m *testing.M) int {
	if bin := os.Getenv("DEPOT_BIN"); bin != "" {
		depotBin = bin
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "depot-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	depotBin = filepath.Join(dir, "depot")
	build := exec.Command("go", "build", "-o", depotBin, "./cmd/depot")
	build.Dir = ".." // the module root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %s: %v\n%s", strings.Join(build.Args, " "), err, out)
		return 1
	}
	return m.Run()
}

// Depot is one running `depot serve`.
type Depot struct {
	Dir    string // temporary directory holding the configuration
	Config *config.Config
	// Addr is the first clearnet TCP listener's host:port.
	Addr string

	// wrap, if set, is a command that runs depot (e.g. strace ...);
	// signals then go to depot itself, the wrapper's child.
	wrap    []string
	cmd     *exec.Cmd
	out     *lockedBuffer
	exited  chan struct{}
	waitErr error
	stopped bool
	// ns, if set, is the network namespace depot runs in; the test's own
	// connections to it must then be made with ns.DialContext.
	ns *netns
}

// lockedBuffer collects the child's output while tests read it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startDepot writes configTOML to a file and runs `depot serve --config`
// on it until every listener accepts connections. The server is stopped
// with SIGTERM at cleanup (and must then exit 0) unless the test did so.
func startDepot(t testing.TB, configTOML string) *Depot {
	t.Helper()
	return startDepotWrapped(t, configTOML, nil)
}

// startDepotWrapped is startDepot with depot run by the command wrap
// (e.g. strace with its options).
func startDepotWrapped(t testing.TB, configTOML string, wrap []string) *Depot {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "depot.toml")
	if err := os.WriteFile(file, []byte(configTOML), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := config.Parse(file, []byte(configTOML))
	if err != nil {
		t.Fatalf("the test's own configuration does not parse: %v\n%s", err, configTOML)
	}
	d := &Depot{Dir: dir, Config: c, wrap: wrap}
	for _, l := range c.Listen {
		if !l.IsUnix() && !l.Onion && d.Addr == "" {
			d.Addr = l.Address
		}
	}
	d.start(t, dir, "serve", "--config", file)
	return d
}

// start runs depot with args in workDir and waits for its listeners.
func (d *Depot) start(t testing.TB, workDir string, args ...string) {
	t.Helper()
	d.out = &lockedBuffer{}
	d.cmd = exec.Command(depotBin, args...)
	if len(d.wrap) > 0 {
		d.cmd = exec.Command(d.wrap[0], append(append(d.wrap[1:], depotBin), args...)...)
	}
	d.cmd.Dir = workDir
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	startCmd, dial := d.cmd.Start, net.DialTimeout
	if d.ns != nil {
		startCmd = func() error { return d.ns.Start(d.cmd) }
		dial = func(network, addr string, timeout time.Duration) (net.Conn, error) {
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			return d.ns.DialContext(ctx, network, addr)
		}
	}
	if err := startCmd(); err != nil {
		t.Fatal(err)
	}
	d.exited = make(chan struct{})
	go func() { d.waitErr = d.cmd.Wait(); close(d.exited) }()
	t.Cleanup(func() {
		if !d.stopped {
			d.Stop(t)
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for _, l := range d.Config.Listen {
		network, addr := "tcp", l.Address
		if l.IsUnix() {
			network, addr = "unix", l.SocketPath()
		}
		for {
			conn, err := dial(network, addr, time.Second)
			if err == nil {
				conn.Close()
				break
			}
			select {
			case <-d.exited:
				t.Fatalf("%s exited before %s answered: %v\noutput:\n%s", d.command(), l.Address, d.waitErr, d.out)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %s did not accept connections within 15s (%v)\noutput:\n%s", d.command(), l.Address, err, d.out)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// A listener accepts connections (into the kernel's queue) as soon as
	// it is bound, a moment before depot says what it serves: wait for
	// that line too, so that tests may read it.
	ready := map[string]string{"serve": "depot: serving", "proxy": "depot: updates proxy on"}[args[0]]
	for ready != "" && !strings.Contains(d.out.String(), ready) {
		select {
		case <-d.exited:
			t.Fatalf("%s exited before saying %q: %v\noutput:\n%s", d.command(), ready, d.waitErr, d.out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not say %q within 15s\noutput:\n%s", d.command(), ready, d.out)
		}
		time.Sleep(10 * time.Millisecond) // poll interval, not an outcome
	}
}

func (d *Depot) command() string {
	return "depot " + strings.Join(d.cmd.Args[1:], " ")
}

// Output is what depot has printed so far, stdout and stderr together.
func (d *Depot) Output() string { return d.out.String() }

// Stop sends SIGTERM and fails the test unless depot exits 0 within 10s.
func (d *Depot) Stop(t testing.TB) {
	t.Helper()
	d.stopped = true
	if err := d.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("SIGTERM: %v", err)
	}
	select {
	case <-d.exited:
	case <-time.After(10 * time.Second):
		d.cmd.Process.Kill()
		<-d.exited
		t.Errorf("%s did not exit within 10s of SIGTERM\noutput:\n%s", d.command(), d.out)
		return
	}
	if d.waitErr != nil {
		t.Errorf("%s after SIGTERM: %v, want exit status 0\noutput:\n%s", d.command(), d.waitErr, d.out)
	}
}

// Signal sends sig to depot (not to a wrapper around it).
func (d *Depot) Signal(sig syscall.Signal) error {
	if len(d.wrap) == 0 {
		return d.cmd.Process.Signal(sig)
	}
	pid := d.cmd.Process.Pid
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return err
	}
	child, err := strconv.Atoi(strings.TrimSpace(strings.Fields(string(b) + " 0")[0]))
	if err != nil || child == 0 {
		return fmt.Errorf("%s has no child process to signal", d.wrap[0])
	}
	return syscall.Kill(child, sig)
}

// URL is the clearnet address of path.
func (d *Depot) URL(path string) string { return "http://" + d.Addr + path }

// AccessLog is the path of the clearnet access log.
func (d *Depot) AccessLog() string { return filepath.Join(d.Config.LogDir, "access.log") }

// freeAddr returns a loopback host:port that was free a moment ago.
//
// The port lies below the kernel's ephemeral range
// (net.ipv4.ip_local_port_range), which is where the kernel picks the source
// port of every outgoing connection and the port of every listen on port 0:
// a port taken from that range and released could be reused by any of them
// before depot binds it ("address already in use"). Below it, only another
// freeAddr could choose it, and freeAddr never chooses a port twice.
func freeAddr(t testing.TB) string {
	t.Helper()
	low := ephemeralLow()
	for range 1000 {
		port := nextPort.Add(1)%int64(low-freePortMin) + freePortMin
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue // taken by something else: the next one
		}
		addr := l.Addr().String()
		l.Close()
		return addr
	}
	t.Fatalf("no free port in %d-%d", freePortMin, low-1)
	return ""
}

// freePortMin is the lowest port freeAddr chooses.
const freePortMin = 10000

// nextPort starts at a port that depends on the process, so that two e2e
// runs at once (a developer's and CI's) start far apart.
var nextPort = func() *atomic.Int64 {
	var n atomic.Int64
	n.Store(int64(os.Getpid()) * 7919)
	return &n
}()

// ephemeralLow is the first port of the kernel's ephemeral range (32768 when
// it cannot be read).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 32768
	}
	n, err := strconv.Atoi(f[0])
	if err != nil || n <= freePortMin+1000 {
		return 32768
	}
	return n
}

// socketDir returns a short directory for unix sockets, whose paths are
// limited to about 100 bytes.
func socketDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "depot-sock-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// runOK runs a client command in dir and returns its combined output. A
// failure prints the command and everything it printed.
func runOK(t testing.TB, dir string, name string, args ...string) string {
	t.Helper()
	out, err := runErr(dir, name, args...)
	if err != nil {
		t.Fatalf("%s\n%v; output:\n%s", cmdline(dir, name, args), err, out)
	}
	return out
}

func runErr(dir string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = clientEnv()
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// runStdout runs a client command in dir and returns what it wrote to
// standard output alone: for tools whose stdout is a document (JSON) and
// whose stderr carries progress. A failure prints both.
func runStdout(t testing.TB, dir string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = clientEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s\n%v; stdout:\n%s\nstderr:\n%s", cmdline(dir, name, args), err, out, stderr.Bytes())
	}
	return string(out)
}

func cmdline(dir, name string, args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = a
		if strings.ContainsAny(a, " *'\"$") {
			q[i] = "'" + a + "'"
		}
	}
	return fmt.Sprintf("(cd %s && %s %s)", dir, name, strings.Join(q, " "))
}

// clientEnv is the environment without proxy settings, so that clients
// talk to the loopback depot directly.
func clientEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch strings.ToLower(k) {
		case "http_proxy", "https_proxy", "all_proxy", "no_proxy":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "LC_ALL=C")
}

// combined matches one nginx "combined" line, capturing the fields.
var combined = regexp.MustCompile(`^(\S+) - (\S+) \[(\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4})\] "((?:[^"\\]|\\x[0-9A-F]{2})*)" (\d{3}) (\d+|-) "((?:[^"\\]|\\x[0-9A-F]{2})*)" "((?:[^"\\]|\\x[0-9A-F]{2})*)"$`)

// logLine is one parsed access-log line.
type logLine struct {
	Raw, Addr, Request, Status, Size, UserAgent string
}

// waitForLog polls the access log (lines reach it within a second) until
// a line satisfies match, and fails the test after logWait. Every line must be
// in combined format.
func waitForLog(t testing.TB, path string, what string, match func(logLine) bool) logLine {
	t.Helper()
	return waitForLogWhile(t, path, what, func() {}, match)
}

// logWait bounds the wait for a log line. Lines are flushed once a second;
// the rest is room for a loaded CI machine (TestDNFDemoSigned once waited
// more than 5 s). Only a failing test waits this long.
const logWait = 20 * time.Second

// waitForLogWhile is waitForLog that calls poke before each look.
func waitForLogWhile(t testing.TB, path string, what string, poke func(), match func(logLine) bool) logLine {
	t.Helper()
	deadline := time.Now().Add(logWait)
	for {
		poke()
		lines := readLog(t, path)
		for _, l := range lines {
			if match(l) {
				return l
			}
		}
		if time.Now().After(deadline) {
			var raw []string
			for _, l := range lines {
				raw = append(raw, l.Raw)
			}
			t.Fatalf("%s has no line for %s within %v; it holds:\n%s", path, what, logWait, strings.Join(raw, "\n"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// readLog parses every line of an access log, failing on any line that
// is not in combined format. A missing file has no lines.
func readLog(t testing.TB, path string) []logLine {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var lines []logLine
	for _, raw := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if raw == "" {
			continue
		}
		m := combined.FindStringSubmatch(raw)
		if m == nil {
			t.Fatalf("%s: line is not in nginx combined format:\n%s", path, raw)
		}
		lines = append(lines, logLine{Raw: raw, Addr: m[1], Request: m[4], Status: m[5], Size: m[6], UserAgent: m[8]})
	}
	return lines
}

// get fetches url with client and returns the status and body.
func get(t testing.TB, client *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

// unixClient is an HTTP client that reaches every host through the unix
// socket at path, as tor does for an onion service.
func unixClient(path string) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}}
}

// copyFile copies the file at src to dst, creating dst's directory.
func copyFile(t testing.TB, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dst, b)
}

func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// serveConfig is a configuration with a logged clearnet listener on a free
// port, an onion listener on a unix socket and one site for any host.
func serveConfig(t testing.TB, root string) string {
	t.Helper()
	logs := t.TempDir()
	sock := filepath.Join(socketDir(t), "onion.sock")
	return fmt.Sprintf(`log_dir = %q
data_dir = %q

[[listen]]
address = %q

[[listen]]
address = "unix:%s"
onion = true

[[site]]
hosts = ["*"]
root = %q
autoindex = true
`, logs, logs, freeAddr(t), sock, root)
}

// demoFile is the path of a file of the embedded demo tree in the source.
func demoFile(rel string) string {
	return filepath.Join("..", "internal", "demo", "tree", filepath.FromSlash(rel))
}

const (
	demoRPM = "yum/r4.2/current/host/fc37/rpm/depot-demo-hello-1.0-1.noarch.rpm"
	demoDeb = "deb/r4.2/vm/pool/main/d/depot-demo-hello/depot-demo-hello_1.0-1_all.deb"
)

package e2e

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"depot/internal/config"
)

// TestServeNotifiesSystemd runs `depot serve` as systemd runs a
// Type=notify unit, with NOTIFY_SOCKET naming a real unixgram socket:
// READY=1 comes only once every listener accepts connections, SIGHUP is
// bracketed by RELOADING=1 (with MONOTONIC_USEC) and READY=1, and SIGTERM
// brings STOPPING=1 before depot exits 0.
func TestServeNotifiesSystemd(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "index.html"), []byte("hello"))
	cfgText := serveConfig(t, root) + `
[proxy]
listen = "` + freeAddr(t) + `"
allow = ["deb.debian.org"]
`
	dir := t.TempDir()
	file := filepath.Join(dir, "depot.toml")
	writeFile(t, file, []byte(cfgText))
	cfg, err := config.Parse(file, []byte(cfgText))
	if err != nil {
		t.Fatal(err)
	}

	sockPath := filepath.Join(socketDir(t), "notify")
	sock, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sockPath, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()

	out := &lockedBuffer{}
	cmd := exec.Command(depotBin, "serve", "--config", file)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+sockPath)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-exited
		}
	}()

	next := func(what string) string {
		t.Helper()
		sock.SetReadDeadline(time.Now().Add(15 * time.Second))
		buf := make([]byte, 4096)
		n, err := sock.Read(buf)
		if err != nil {
			t.Fatalf("waiting for %s: %v\noutput:\n%s", what, err, out)
		}
		return string(buf[:n])
	}

	if msg := next("READY=1"); !strings.HasPrefix(msg, "READY=1") {
		t.Fatalf("first notification %q, want READY=1", msg)
	}
	// READY=1 means bound: every listener accepts at once, with no retry.
	addrs := []string{"tcp " + cfg.Proxy.Listen}
	for _, l := range cfg.Listen {
		if l.IsUnix() {
			addrs = append(addrs, "unix "+l.SocketPath())
		} else {
			addrs = append(addrs, "tcp "+l.Address)
		}
	}
	for _, a := range addrs {
		network, addr, _ := strings.Cut(a, " ")
		c, err := net.DialTimeout(network, addr, 5*time.Second)
		if err != nil {
			t.Fatalf("after READY=1, %s %s does not accept: %v", network, addr, err)
		}
		c.Close()
	}

	cmd.Process.Signal(syscall.SIGHUP)
	msg := next("RELOADING=1")
	lines := strings.Split(msg, "\n")
	if len(lines) != 2 || lines[0] != "RELOADING=1" || !strings.HasPrefix(lines[1], "MONOTONIC_USEC=") {
		t.Fatalf("on SIGHUP: %q, want RELOADING=1 and MONOTONIC_USEC=… in one datagram", msg)
	}
	if msg := next("READY=1 after the reload"); !strings.HasPrefix(msg, "READY=1\nSTATUS=") || !strings.Contains(msg, "reloaded") {
		t.Fatalf("after the reload: %q, want READY=1 with a STATUS saying it reloaded", msg)
	}

	// A broken configuration: still READY=1 (the old one serves), and the
	// status says so.
	writeFile(t, file, []byte(cfgText+"\nbogus = 1\n"))
	cmd.Process.Signal(syscall.SIGHUP)
	next("RELOADING=1")
	if msg := next("READY=1 after a failed reload"); !strings.Contains(msg, "reload failed") {
		t.Errorf("after a failed reload: %q, want a STATUS saying it failed", msg)
	}

	cmd.Process.Signal(syscall.SIGTERM)
	if msg := next("STOPPING=1"); msg != "STOPPING=1" {
		t.Errorf("on SIGTERM: %q, want STOPPING=1", msg)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("depot serve after SIGTERM: %v, want exit 0\noutput:\n%s", err, out)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("depot serve did not exit within 15s of SIGTERM\noutput:\n%s", out)
	}
}

package sdnotify

import (
	"context"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// listen opens a real unixgram socket, as systemd's notify socket is.
func listen(t *testing.T, name string) *net.UnixConn {
	t.Helper()
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// notifier is a Notifier for a fresh socket at a path, and that socket.
func notifier(t *testing.T) (*Notifier, *net.UnixConn) {
	t.Helper()
	name := filepath.Join(t.TempDir(), "notify")
	sock := listen(t, name)
	n, err := New(name)
	if err != nil {
		t.Fatal(err)
	}
	return n, sock
}

// receive reads one datagram, failing after a generous deadline.
func receive(t *testing.T, c *net.UnixConn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("no datagram: %v", err)
	}
	return string(buf[:n])
}

func TestStatesReachTheSocket(t *testing.T) {
	for _, tc := range []struct{ name, socket string }{
		{"path", filepath.Join(t.TempDir(), "notify")},
		{"abstract", "@depot-sdnotify-test-" + strconv.FormatInt(time.Now().UnixNano(), 36)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sock := listen(t, tc.socket)
			n, err := New(tc.socket)
			if err != nil {
				t.Fatal(err)
			}
			if err := n.Ready(""); err != nil {
				t.Fatal(err)
			}
			if got := receive(t, sock); got != "READY=1" {
				t.Errorf("Ready: got %q, want %q", got, "READY=1")
			}
			if err := n.Ready("serving 2 listeners\nsecond line"); err != nil {
				t.Fatal(err)
			}
			if got, want := receive(t, sock), "READY=1\nSTATUS=serving 2 listeners second line"; got != want {
				t.Errorf("Ready with status: got %q, want %q", got, want)
			}
			if err := n.Stopping(); err != nil {
				t.Fatal(err)
			}
			if got := receive(t, sock); got != "STOPPING=1" {
				t.Errorf("Stopping: got %q, want %q", got, "STOPPING=1")
			}
		})
	}
}

// TestReloadingCarriesMonotonicTime checks MONOTONIC_USEC against the
// clock read just before and just after: systemd ≥ 253 matches it with the
// reload it started.
func TestReloadingCarriesMonotonicTime(t *testing.T) {
	n, sock := notifier(t)
	before := monotonicUsec()
	if err := n.Reloading(); err != nil {
		t.Fatal(err)
	}
	after := monotonicUsec()
	got := receive(t, sock)
	lines := strings.Split(got, "\n")
	if len(lines) != 2 || lines[0] != "RELOADING=1" || !strings.HasPrefix(lines[1], "MONOTONIC_USEC=") {
		t.Fatalf("Reloading sent %q, want RELOADING=1 and MONOTONIC_USEC=… in one datagram", got)
	}
	usec, err := strconv.ParseUint(strings.TrimPrefix(lines[1], "MONOTONIC_USEC="), 10, 64)
	if err != nil {
		t.Fatalf("MONOTONIC_USEC: %v", err)
	}
	if usec < before || usec > after {
		t.Errorf("MONOTONIC_USEC=%d, want between %d and %d", usec, before, after)
	}
}

// TestStoppingIsSentBeforeFinishReturns is the shutdown of depot serve:
// the context ends, shutdown completes at once, and the process exits right
// after finish. STOPPING=1 must be in the socket by then; checked with a
// read that does not wait, many times over, since a lost datagram depends
// on how goroutines are scheduled.
func TestStoppingIsSentBeforeFinishReturns(t *testing.T) {
	n, sock := notifier(t)
	buf := make([]byte, 64)
	for i := range 500 {
		ctx, cancel := context.WithCancel(context.Background())
		finish := n.StoppingWhenDone(ctx, func(err error) {
			if err != nil {
				t.Error(err)
			}
		})
		cancel()
		finish()
		m, err := readNow(sock, buf) // whatever is not there now is lost
		if err != nil {
			t.Fatalf("shutdown %d: STOPPING=1 not sent when finish returned: %v", i, err)
		}
		if got := string(buf[:m]); got != "STOPPING=1" {
			t.Fatalf("shutdown %d: got %q, want STOPPING=1", i, got)
		}
	}
}

// readNow reads a datagram already in sock's queue, without waiting.
func readNow(sock *net.UnixConn, buf []byte) (int, error) {
	raw, err := sock.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n int
	var rerr error
	if err := raw.Read(func(fd uintptr) bool {
		n, _, rerr = unix.Recvfrom(int(fd), buf, unix.MSG_DONTWAIT)
		return true // one try: EAGAIN is the answer, not a reason to wait
	}); err != nil {
		return 0, err
	}
	return n, rerr
}

// TestNoStoppingWithoutShutdown: finish before the context ends (serve
// failed) sends nothing, then or later.
func TestNoStoppingWithoutShutdown(t *testing.T) {
	n, sock := notifier(t)
	ctx, cancel := context.WithCancel(context.Background())
	n.StoppingWhenDone(ctx, func(err error) { t.Error(err) })()
	cancel()
	if err := n.Ready("marker"); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, sock); got != "READY=1\nSTATUS=marker" {
		t.Errorf("after finish and then cancel: got %q, want only the marker", got)
	}
}

func TestNoSocketSendsNothing(t *testing.T) {
	n, err := New("")
	if err != nil || n != nil {
		t.Fatalf("New(\"\") = %v, %v; want nil, nil", n, err)
	}
	for _, send := range []func() error{func() error { return n.Ready("x") }, n.Reloading, n.Stopping} {
		if err := send(); err != nil {
			t.Errorf("nil Notifier: %v", err)
		}
	}
}

func TestBadSocket(t *testing.T) {
	for _, s := range []string{"relative/notify", "@", "notify"} {
		if _, err := New(s); err == nil || !strings.Contains(err.Error(), "NOTIFY_SOCKET") {
			t.Errorf("New(%q): %v, want an error naming NOTIFY_SOCKET", s, err)
		}
	}
	// A socket nobody listens on is an error to report, not a crash.
	n, err := New(filepath.Join(t.TempDir(), "gone"))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Ready(""); err == nil {
		t.Error("Ready to a missing socket: no error")
	}
}

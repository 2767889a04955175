package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// netns is a private network namespace with its own loopback interface, for
// tests of depot's fixed addresses (the demo's 127.0.0.1:8080): nothing
// else on the machine can hold those ports there. One goroutine, locked to
// a thread that entered the namespace, creates every socket and starts
// every process that must live in it; the thread is never returned to the
// Go scheduler, so no other goroutine ever runs in the namespace.
type netns struct {
	do   chan func()
	done chan struct{}
}

// newNetns enters a fresh network namespace with loopback up. It needs
// CAP_SYS_ADMIN (root, as CI runs); without it the error says why.
func newNetns(t testing.TB) (*netns, error) {
	t.Helper()
	ns := &netns{do: make(chan func()), done: make(chan struct{})}
	ready := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// No UnlockOSThread: the thread is in another namespace and dies
		// with this goroutine.
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			ready <- fmt.Errorf("unshare(CLONE_NEWNET): %w", err)
			return
		}
		if err := loopbackUp(); err != nil {
			ready <- err
			return
		}
		ready <- nil
		for {
			select {
			case f := <-ns.do:
				f()
			case <-ns.done:
				return
			}
		}
	}()
	if err := <-ready; err != nil {
		return nil, err
	}
	t.Cleanup(func() { close(ns.done) })
	return ns, nil
}

// loopbackUp sets the calling thread's "lo" up, which gives it 127.0.0.1.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("SIOCGIFFLAGS lo: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("SIOCSIFFLAGS lo up: %w", err)
	}
	return nil
}

// run calls f on the namespace's thread and waits for it.
func (ns *netns) run(f func()) {
	finished := make(chan struct{})
	ns.do <- func() { defer close(finished); f() }
	<-finished
}

// Start starts cmd inside the namespace (a child inherits the namespace of
// the thread that forks it).
func (ns *netns) Start(cmd *exec.Cmd) (err error) {
	ns.run(func() { err = cmd.Start() })
	return err
}

// DialContext connects from inside the namespace. The socket belongs to
// the namespace it was created in, so the connection may then be used from
// any goroutine.
func (ns *netns) DialContext(ctx context.Context, network, addr string) (c net.Conn, err error) {
	ns.run(func() {
		var d net.Dialer
		c, err = d.DialContext(ctx, network, addr)
	})
	return c, err
}

// Client is an HTTP client whose connections are made inside the namespace.
func (ns *netns) Client() *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: ns.DialContext, Proxy: nil}}
}

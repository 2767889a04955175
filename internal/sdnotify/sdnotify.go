// Package sdnotify tells systemd what depot is doing, as sd_notify(3)
// does: ready, reloading, stopping. It writes one datagram per state to the
// unix socket named by $NOTIFY_SOCKET, without cgo or libsystemd.
//
// It never reads from the socket, never sends anything about a request,
// and does nothing at all when the service manager gave no socket.
package sdnotify

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Notifier sends state changes to the service manager. A nil *Notifier is
// valid and sends nothing: that is depot outside systemd.
type Notifier struct {
	addr *unix.SockaddrUnix
}

// New returns the Notifier for socket, the value of $NOTIFY_SOCKET: an
// absolute path, or "@name" for a socket in the abstract namespace. An
// empty socket gives a nil Notifier; any other value is an error, since
// systemd would then wait for a READY=1 that cannot arrive.
func New(socket string) (*Notifier, error) {
	switch {
	case socket == "":
		return nil, nil
	case strings.HasPrefix(socket, "/"), strings.HasPrefix(socket, "@") && len(socket) > 1:
		// x/sys/unix maps a leading '@' to the abstract namespace's
		// leading NUL byte, as systemd does.
		return &Notifier{addr: &unix.SockaddrUnix{Name: socket}}, nil
	default:
		return nil, fmt.Errorf("NOTIFY_SOCKET=%q is neither an absolute path nor an abstract socket name starting with '@'", socket)
	}
}

// Send writes state, newline-separated VARIABLE=value assignments, as one
// datagram, sent (as sd_notify does) from an unconnected socket: nothing
// is dialled.
func (n *Notifier) Send(state string) error {
	if n == nil {
		return nil
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("sd_notify: socket: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.Sendto(fd, []byte(state), 0, n.addr); err != nil {
		return fmt.Errorf("sd_notify to %s: %w", n.addr.Name, err)
	}
	return nil
}

// Ready says that start-up (every listener bound) or a reload is complete.
// status, if not empty, is shown by systemctl status.
func (n *Notifier) Ready(status string) error {
	return n.Send("READY=1" + statusLine(status))
}

// Reloading says that a reload began. It carries the CLOCK_MONOTONIC time
// in microseconds, which systemd 253 and later require with RELOADING=1 to
// match it to the reload job of a Type=notify-reload unit; older versions
// ignore the field. Ready must follow when the reload is done.
func (n *Notifier) Reloading() error {
	if n == nil {
		return nil
	}
	return n.Send("RELOADING=1\nMONOTONIC_USEC=" + strconv.FormatUint(monotonicUsec(), 10))
}

// Stopping says that shutdown began.
func (n *Notifier) Stopping() error {
	return n.Send("STOPPING=1")
}

// StoppingWhenDone sends STOPPING=1 as soon as ctx is done, and reports
// a failure to send by report. The returned finish must be called before
// the process exits: if ctx ended, it returns only once STOPPING=1 is
// sent, so that an exit right after shutdown does not lose it; if ctx did
// not end, nothing is sent.
func (n *Notifier) StoppingWhenDone(ctx context.Context, report func(error)) (finish func()) {
	sent := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(sent)
		report(n.Stopping())
	})
	return func() {
		// stop is false once ctx ended and the send began (in its own
		// goroutine): wait for it.
		if !stop() {
			<-sent
		}
	}
}

func statusLine(status string) string {
	if status == "" {
		return ""
	}
	// One assignment per line: a newline in status would start another.
	return "\nSTATUS=" + strings.ReplaceAll(status, "\n", " ")
}

// monotonicUsec is CLOCK_MONOTONIC in microseconds, the clock systemd
// compares MONOTONIC_USEC with.
func monotonicUsec() uint64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0
	}
	return uint64(ts.Sec)*1e6 + uint64(ts.Nsec)/1e3
}

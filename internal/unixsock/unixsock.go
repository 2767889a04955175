// Package unixsock binds depot's unix-socket listeners (the updates
// proxy's, the admin listener's): a socket left behind by a previous run
// that died is replaced, a live one is not, and any other file at the path
// is an error.
//
// It never removes a file that is not a socket, and never one that a
// running process still listens on.
package unixsock

import (
	"context"
	"fmt"
	"net"
	"os"

	"depot/internal/outbound"
)

// Listen listens on the unix socket path, made mode (0 leaves the umask's
// mode).
func Listen(path string, mode os.FileMode) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("%s exists and is not a socket", path)
		}
		if c, err := outbound.DialSelf(context.Background(), "unix", path); err == nil {
			c.Close()
			return nil, fmt.Errorf("%s is in use by another process", path)
		}
		os.Remove(path) // left by a run that died
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if mode != 0 {
		if err := os.Chmod(path, mode); err != nil {
			ln.Close()
			return nil, err
		}
	}
	return ln, nil
}

package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"depot/internal/unixsock"
)

// Admin is the bound admin listener ([admin] address): loopback TCP or a
// unix socket, validated so by config. Its requests are not logged.
type Admin struct {
	ln   net.Listener
	srv  *http.Server
	sock string // unix socket path, removed on Close
}

// Listen binds address ("IP:port" or "unix:/path") for h. A unix socket
// left by a dead previous run is replaced; any other file at its path is
// an error. The socket is made 0660: the depot group's members (a
// monitoring agent) may scrape it, nobody else.
func Listen(address string, h http.Handler) (*Admin, error) {
	a := &Admin{srv: &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       75 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          log.New(io.Discard, "", 0),
	}}
	var err error
	if path, ok := strings.CutPrefix(address, "unix:"); ok {
		a.sock = path
		a.ln, err = unixsock.Listen(path, 0o660)
	} else {
		a.ln, err = net.Listen("tcp", address)
	}
	if err != nil {
		return nil, fmt.Errorf("admin.address %s: %w", address, err)
	}
	return a, nil
}

// Addr is the bound address.
func (a *Admin) Addr() net.Addr { return a.ln.Addr() }

// Serve serves until ctx is done, then closes the listener; scrapes in
// flight get a moment to finish.
func (a *Admin) Serve(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- a.srv.Serve(a.ln) }()
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if serr := a.srv.Shutdown(sctx); serr != nil {
		a.srv.Close()
	}
	if a.sock != "" {
		os.Remove(a.sock)
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// Close releases the listener when Serve will not run (another listener
// failed to bind: start all or nothing). A nil Admin (no [admin]) has
// nothing to close.
func (a *Admin) Close() error {
	if a == nil {
		return nil
	}
	err := a.ln.Close()
	if a.sock != "" {
		os.Remove(a.sock)
	}
	return err
}

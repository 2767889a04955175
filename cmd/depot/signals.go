package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"depot/internal/logsink"
)

// withSignals returns a context that SIGTERM or SIGINT cancels, and calls
// onHUP for every SIGHUP until then. release undoes both.
func withSignals(ctx context.Context, onHUP func()) (_ context.Context, release func()) {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				onHUP()
			}
		}
	}()
	return ctx, func() {
		signal.Stop(hup)
		stop()
	}
}

// reopenLog reopens f (nil: nothing to do) after an external rotation and
// says so on stderr if it cannot.
func reopenLog(stderr io.Writer, f *logsink.File) {
	if f == nil {
		return
	}
	if err := f.Reopen(); err != nil {
		fmt.Fprintf(stderr, "depot: reopening %s: %v\n", f.Path(), err)
	}
}

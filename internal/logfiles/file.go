package logfiles

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// FlushInterval bounds how long a written line may stay in memory.
const FlushInterval = time.Second

// File is an append-only log file that takes whole lines. Lines are
// buffered and reach the file within FlushInterval, on Flush, on Reopen and
// on Close. It is safe for concurrent use; each Write call's bytes stay
// together in the file.
type File struct {
	path string

	mu     sync.Mutex
	f      *os.File
	w      *bufio.Writer
	closed bool

	// For monitoring: lines accepted, lines that could not be written,
	// and the last failed write or flush (guarded by mu).
	written, lost atomic.Uint64
	errAt         time.Time
	err           error

	stop chan struct{}
	done chan struct{}
}

// Open opens (creating if needed, mode 0640) the log file at path for
// appending and starts its flusher.
func Open(path string) (*File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("creating log directory: %w", err)
	}
	f, err := openAppend(path)
	if err != nil {
		return nil, err
	}
	lf := &File{path: path, f: f, w: bufio.NewWriterSize(f, 64<<10), stop: make(chan struct{}), done: make(chan struct{})}
	go lf.flusher()
	return lf, nil
}

func openAppend(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("opening log file: %w", err)
	}
	return f, nil
}

// Path is the file's path.
func (lf *File) Path() string { return lf.path }

// Write appends p, which should be one or more whole lines.
func (lf *File) Write(p []byte) (int, error) {
	lf.mu.Lock()
	defer lf.mu.Unlock()
	if lf.closed {
		return 0, os.ErrClosed
	}
	n, err := lf.w.Write(p)
	lines := uint64(bytes.Count(p, []byte{'\n'}))
	if err != nil {
		lf.lost.Add(lines)
		lf.failed(err)
		return n, err
	}
	lf.written.Add(lines)
	return n, nil
}

// failed records a write or flush error. Called with mu held.
func (lf *File) failed(err error) {
	lf.errAt, lf.err = time.Now(), err
}

// Written is the number of lines accepted for writing since Open.
func (lf *File) Written() uint64 { return lf.written.Load() }

// Lost is the number of lines that could not be written since Open.
func (lf *File) Lost() uint64 { return lf.lost.Load() }

// LastError is the time and error of the last failed write or flush, or
// the zero time and nil.
func (lf *File) LastError() (time.Time, error) {
	lf.mu.Lock()
	defer lf.mu.Unlock()
	return lf.errAt, lf.err
}

// Flush writes buffered lines to the file.
func (lf *File) Flush() error {
	lf.mu.Lock()
	defer lf.mu.Unlock()
	if lf.closed {
		return nil
	}
	err := lf.w.Flush()
	if err != nil {
		lf.failed(err)
	}
	return err
}

// Reopen flushes, closes and opens the path again, so that a file moved
// away by an external logrotate stops receiving lines. No line is lost: all
// writers wait while it runs.
func (lf *File) Reopen() error {
	return lf.swap(nil, nil)
}

// swap flushes the current file, runs between (if non-nil) while no write
// can happen, then opens the path afresh. If the path cannot be opened,
// undo (if non-nil) runs so that the old descriptor, which keeps receiving
// lines, is back at the path.
func (lf *File) swap(between, undo func() error) error {
	lf.mu.Lock()
	defer lf.mu.Unlock()
	if lf.closed {
		return os.ErrClosed
	}
	if err := lf.w.Flush(); err != nil {
		return err
	}
	if between != nil {
		if err := between(); err != nil {
			return err
		}
	}
	f, err := openAppend(lf.path)
	if err != nil {
		if undo != nil {
			if uerr := undo(); uerr != nil {
				err = fmt.Errorf("%w; and undoing: %v", err, uerr)
			}
		}
		return err // keep writing to the old descriptor rather than lose lines
	}
	old := lf.f
	lf.f = f
	lf.w.Reset(f)
	return old.Close()
}

// Close flushes and closes the file and stops the flusher.
func (lf *File) Close() error {
	lf.mu.Lock()
	if lf.closed {
		lf.mu.Unlock()
		return nil
	}
	lf.closed = true
	err := lf.w.Flush()
	if cerr := lf.f.Close(); err == nil {
		err = cerr
	}
	lf.mu.Unlock()
	close(lf.stop)
	<-lf.done
	return err
}

func (lf *File) flusher() {
	defer close(lf.done)
	t := time.NewTicker(FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-lf.stop:
			return
		case <-t.C:
			_ = lf.Flush()
		}
	}
}

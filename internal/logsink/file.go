package logsink

import (
	"bytes"
	"fmt"
	"os"
	"sync"
	"time"

	"depot/internal/atomicfile"
)

// FlushInterval bounds how long a written line may stay in memory, and is
// how often a File that cannot write tries again.
const FlushInterval = time.Second

// bufferSize is how many bytes of lines a File holds in memory: between
// flushes, and while it cannot write (a full disk) before it starts
// dropping lines.
const bufferSize = 64 << 10

// File is an append-only log file that takes whole lines. Lines are
// buffered and reach the file within FlushInterval, on Flush, on Reopen and
// on Close. It is safe for concurrent use; each Write call's bytes stay
// together in the file.
//
// When the file cannot be written (a full disk, an I/O error), the File
// keeps what it buffered (up to bufferSize), drops and counts the lines
// that do not fit, tries again every FlushInterval, and resumes by itself
// when a write succeeds. A line is never torn: the unwritten rest of a
// short write is written first when writing resumes. Each such incident
// is reported twice through FileOptions.Report, when it starts and when it
// ends, with the number of lines lost.
type File struct {
	path string
	opts FileOptions

	mu       sync.Mutex
	f        *os.File
	buf      []byte
	closed   bool
	incident *Incident // the write failure in progress, or nil
	lost     int64     // lines dropped since Open
	written  int64     // lines taken into the buffer since Open, for monitoring
	lastErr  error     // the most recent write error
	errAt    time.Time // when lastErr happened
	reports  []Incident

	kick chan struct{} // wakes the flusher to deliver reports
	stop chan struct{}
	done chan struct{}
}

// FileOptions are a File's optional hooks.
type FileOptions struct {
	// Report receives each write-failure incident twice: when writing
	// first fails (End is zero) and when a write succeeds again (End and
	// the final Lost are set). Reports come one at a time, in order, from
	// the File's own goroutine with no lock held, so Report may write to
	// this File or another. nil ignores them.
	Report func(Incident)
	// Now is the clock of incidents; nil means time.Now.
	Now func() time.Time
}

// Incident is a time during which a File could not write.
type Incident struct {
	Path  string
	Start time.Time // the first failed write
	End   time.Time // the first successful write after it; zero while it lasts
	Err   error     // the first error
	Lost  int64     // lines dropped during it
}

// String describes the incident for an operator.
func (in Incident) String() string {
	if in.End.IsZero() {
		return fmt.Sprintf("%s: cannot write (%v); holding up to %d KiB of lines in memory, then dropping and counting them until writing works again",
			in.Path, in.Err, bufferSize>>10)
	}
	took := in.End.Sub(in.Start).Round(time.Second)
	if in.Lost == 0 {
		return fmt.Sprintf("%s: writing again after %v without writing (%v); no line was lost", in.Path, took, in.Err)
	}
	return fmt.Sprintf("%s: writing again after %v without writing (%v); %d lines from %s to %s were lost",
		in.Path, took, in.Err, in.Lost, in.Start.UTC().Format(time.RFC3339), in.End.UTC().Format(time.RFC3339))
}

// Open opens (creating if needed, mode 0640) the log file at path for
// appending and starts its flusher. The directory must exist.
func Open(path string) (*File, error) {
	return OpenWith(path, FileOptions{})
}

// OpenWith is Open with options.
func OpenWith(path string, opts FileOptions) (*File, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	f, err := openAppend(path)
	if err != nil {
		return nil, err
	}
	lf := &File{
		path: path, opts: opts, f: f, buf: make([]byte, 0, bufferSize),
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}
	go lf.flusher()
	return lf, nil
}

// openAppend opens the log file without following a symbolic link: a link
// planted in the log directory is refused, never written through.
func openAppend(path string) (*os.File, error) {
	f, err := atomicfile.OpenAppend(path, 0o640)
	if err != nil {
		return nil, fmt.Errorf("opening log file: %w", err)
	}
	return f, nil
}

// Path is the file's path.
func (lf *File) Path() string { return lf.path }

// Write appends p, which should be one or more whole lines. While the file
// cannot be written and the buffer is full, p is dropped and counted, and
// Write returns 0 and the write error.
func (lf *File) Write(p []byte) (int, error) {
	lf.mu.Lock()
	defer lf.mu.Unlock()
	if lf.closed {
		return 0, os.ErrClosed
	}
	if len(lf.buf) > 0 && len(lf.buf)+len(p) > bufferSize {
		_ = lf.flushLocked()
	}
	// An empty buffer takes any line, however long.
	if len(lf.buf) > 0 && len(lf.buf)+len(p) > bufferSize {
		lf.dropLocked(p)
		return 0, fmt.Errorf("log line dropped: %w", lf.lastErr)
	}
	lf.buf = append(lf.buf, p...)
	lf.written += countLines(p)
	if len(lf.buf) >= bufferSize {
		_ = lf.flushLocked()
	}
	return len(p), nil
}

// Flush writes buffered lines to the file.
func (lf *File) Flush() error {
	lf.mu.Lock()
	defer lf.mu.Unlock()
	if lf.closed {
		return nil
	}
	return lf.flushLocked()
}

// LostLines is how many lines were dropped because the file could not be
// written, since Open.
func (lf *File) LostLines() int64 {
	lf.mu.Lock()
	defer lf.mu.Unlock()
	return lf.lost
}

// LastWriteError is the most recent error writing the file (nil if every
// write succeeded), kept after writing resumes.
func (lf *File) LastWriteError() error {
	lf.mu.Lock()
	defer lf.mu.Unlock()
	return lf.lastErr
}

// Written is how many lines Write took since Open (lines lost later, at
// Close, are counted by LostLines too).
func (lf *File) Written() int64 {
	lf.mu.Lock()
	defer lf.mu.Unlock()
	return lf.written
}

// LastWriteErrorAt is when LastWriteError happened (the zero time if no
// write ever failed).
func (lf *File) LastWriteErrorAt() time.Time {
	lf.mu.Lock()
	defer lf.mu.Unlock()
	return lf.errAt
}

// Failing reports whether the file cannot be written now: the last write
// failed and none has succeeded since.
func (lf *File) Failing() bool {
	lf.mu.Lock()
	defer lf.mu.Unlock()
	return lf.incident != nil
}

// flushLocked writes the buffer. After a short write the rest stays at the
// start of the buffer, so the line it belongs to is completed first.
func (lf *File) flushLocked() error {
	if len(lf.buf) > 0 {
		n, err := lf.f.Write(lf.buf)
		lf.buf = lf.buf[:copy(lf.buf, lf.buf[n:])]
		if err != nil {
			lf.failLocked(err)
			return err
		}
	}
	if lf.incident != nil {
		lf.incident.End = lf.opts.Now()
		lf.queueLocked(*lf.incident)
		lf.incident = nil
	}
	return nil
}

func (lf *File) failLocked(err error) {
	lf.lastErr, lf.errAt = err, lf.opts.Now()
	if lf.incident == nil {
		lf.incident = &Incident{Path: lf.path, Start: lf.opts.Now(), Err: err}
		lf.queueLocked(*lf.incident)
	}
}

// dropLocked counts the lines of p as lost (a last line without "\n"
// counts too).
func (lf *File) dropLocked(p []byte) {
	n := countLines(p)
	lf.lost += n
	if lf.incident == nil { // cannot happen: the buffer is full only while failing
		lf.failLocked(lf.lastErr)
	}
	lf.incident.Lost += n
}

func countLines(p []byte) int64 {
	n := int64(bytes.Count(p, []byte{'\n'}))
	if len(p) > 0 && p[len(p)-1] != '\n' {
		n++
	}
	return n
}

func (lf *File) queueLocked(in Incident) {
	if lf.opts.Report == nil {
		return
	}
	lf.reports = append(lf.reports, in)
	select {
	case lf.kick <- struct{}{}:
	default:
	}
}

// deliver passes queued reports to Report, in order, with no lock held.
func (lf *File) deliver() {
	lf.mu.Lock()
	reports := lf.reports
	lf.reports = nil
	lf.mu.Unlock()
	for _, in := range reports {
		lf.opts.Report(in)
	}
}

// Reopen flushes, closes and opens the path again, so that a file moved
// away by an external logrotate stops receiving lines. No line is lost: all
// writers wait while it runs.
func (lf *File) Reopen() error {
	return lf.Swap(nil, nil)
}

// Swap flushes the current file, runs between (if non-nil) while no write
// can happen, then opens the path afresh: what rotation renames the file
// with. If the path cannot be opened, undo (if non-nil) runs so that the
// old descriptor, which keeps receiving lines, is back at the path.
func (lf *File) Swap(between, undo func() error) error {
	lf.mu.Lock()
	defer lf.mu.Unlock()
	if lf.closed {
		return os.ErrClosed
	}
	if err := lf.flushLocked(); err != nil {
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
	return old.Close()
}

// Close flushes and closes the file and stops the flusher. Lines that
// cannot be written then are lost, and the error says how many.
func (lf *File) Close() error {
	lf.mu.Lock()
	if lf.closed {
		lf.mu.Unlock()
		return nil
	}
	lf.closed = true
	err := lf.flushLocked()
	if err != nil {
		n := countLines(lf.buf)
		lf.lost += n
		lf.incident.Lost += n
		lf.buf = lf.buf[:0]
		err = fmt.Errorf("%s: %d lines lost at close (%d since the file could not be written): %w", lf.path, n, lf.incident.Lost, err)
	}
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
			lf.deliver()
			return
		case <-lf.kick:
		case <-t.C:
			_ = lf.Flush()
		}
		lf.deliver()
	}
}

package mirrors

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sync/singleflight"
)

// Hashing an origin file (a whole ISO for FILE.meta4) is the most costly
// thing a request can cause, and onion clients cause it unlogged. So a
// file version is hashed once whatever the number of requests asking for
// it at the same time, its hash is kept until the file changes, and few
// files are hashed at once.

// DefaultHashWait is how long a request waits for a hashing slot before it
// is answered 503 with Retry-After.
const DefaultHashWait = 30 * time.Second

// DefaultMaxHashes is how many files are hashed at once: half the CPUs,
// at least one.
func DefaultMaxHashes() int { return max(1, runtime.GOMAXPROCS(0)/2) }

// errBusy says every hashing slot stayed taken for the wait: the
// responders answer 503 with Retry-After.
var errBusy = errors.New("every hashing slot is taken; try again shortly")

// hashes runs hashing jobs: one at a time per key (the callers with the
// same key share the first one's result), at most cap(slots) at once.
type hashes struct {
	group singleflight.Group
	slots chan struct{}
	wait  time.Duration
	runs  atomic.Int64 // jobs run, for tests
}

func newHashes(n int, wait time.Duration) *hashes {
	return &hashes{slots: make(chan struct{}, n), wait: wait}
}

// do runs fn under key unless a run under key is in progress, whose
// result it then shares. fn waits at most h.wait for a slot, else the
// result is errBusy. fn hashes and stores the result where callers look
// first (the state, the sums cache), so a caller arriving after the run
// finds it there rather than starting another.
func (h *hashes) do(key string, fn func() error) error {
	_, err, _ := h.group.Do(key, func() (any, error) {
		t := time.NewTimer(h.wait)
		defer t.Stop()
		select {
		case h.slots <- struct{}{}:
		case <-t.C:
			return nil, errBusy
		}
		defer func() { <-h.slots }()
		h.runs.Add(1)
		return nil, fn()
	})
	return err
}

// versionKey names one version of a file: size, mtime and inode (a file
// replaced by a rename, as rsync does, is a new version even with the
// same size and mtime).
func versionKey(root, name string, fi os.FileInfo) string {
	return fmt.Sprintf("%s\x00%s\x00%d\x00%d\x00%d", root, name, fi.Size(), fi.ModTime().UnixNano(), inode(fi))
}

// inode is the file's inode number, or 0 where the system has none.
func inode(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Ino
	}
	return 0
}

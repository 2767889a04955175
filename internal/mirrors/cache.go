package mirrors

import (
	"sync"
	"time"
)

// maxCacheEntries bounds each cache; when full it is emptied, which costs
// one rebuild per entry and cannot grow memory.
const maxCacheEntries = 4096

// cacheTTL bounds how long a built response is served: alternates age out
// of the window with time alone, without any file or state change.
const cacheTTL = time.Minute

// statTTL is how long a cached response is served without looking at the
// file again (as nginx's open_file_cache_valid): a changed file is seen
// within this time. The mirror state is checked on every request.
const statTTL = time.Second

// entry is one built response and what it was built from.
type entry struct {
	gen     uint64    // Service.gen when built
	modTime time.Time // of the origin file
	size    int64
	inode   uint64
	built   time.Time
	statted time.Time // when the file was last seen unchanged
	body    []byte
}

// sum is the SHA-256 of an untracked file, for Metalink 4.
type sum struct {
	modTime time.Time
	size    int64
	inode   uint64
	sha256  string
}

type cacheSet struct {
	mu    sync.Mutex
	resp  map[string]*entry
	sums  map[string]sum
	built int // responses built, not served from cache (for tests)
}

func (c *cacheSet) init() {
	c.resp = map[string]*entry{}
	c.sums = map[string]sum{}
}

// get returns the body cached under key if it is still valid.
func (c *cacheSet) get(key string, gen uint64, modTime time.Time, size int64, inode uint64, now time.Time) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.resp[key]
	if e == nil || e.gen != gen || e.size != size || !e.modTime.Equal(modTime) || e.inode != inode || now.Sub(e.built) > cacheTTL {
		return nil
	}
	e.statted = now
	return e.body
}

// recent returns the body cached under key if the state did not change
// and the file was seen unchanged within statTTL, so that it need not be
// looked at again.
func (c *cacheSet) recent(key string, gen uint64, now time.Time) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.resp[key]
	if e == nil || e.gen != gen || now.Sub(e.statted) > statTTL || now.Sub(e.built) > cacheTTL {
		return nil
	}
	return e.body
}

func (c *cacheSet) put(key string, e *entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.resp) >= maxCacheEntries {
		clear(c.resp)
	}
	c.resp[key] = e
	c.built++
}

func (c *cacheSet) getSum(key string, modTime time.Time, size int64, inode uint64) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.sums[key]
	return s.sha256, ok && s.size == size && s.modTime.Equal(modTime) && s.inode == inode
}

func (c *cacheSet) putSum(key string, s sum) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.sums) >= maxCacheEntries {
		clear(c.sums)
	}
	c.sums[key] = s
}

// builds is how many responses were built (not served from cache).
func (c *cacheSet) builds() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.built
}

package server

import "depot/internal/docroot"

// The file cache also remembers names found missing, so that a flood of
// requests for one missing name (a client's misconfigured repository, a
// scanner's favourite path) is answered without a system call, as cached
// files are: the 404 and its error-log detail are built once.
//
// Freshness: a miss is recorded only after the failed open was followed by
// a look at the root's path that found the same tree (docroot.Root.Moved),
// it answers only while its tree is the root's current one, and for
// docroot.Interval at most; a file created under a missing name is served
// within a second. A name deleted from a tree being swapped out is never a
// recorded miss: it was present in that tree until the swap, and the look
// after its failed open finds the new tree.
//
// Memory: misses have their own share of the cache (maxSize/missShare),
// first in, first out, and names longer than maxMissPath are not kept.
// Privacy: only clearnet requests record misses, and their names are in
// the access log already; onion requests read them but never add one, so
// the cache holds nothing about an onion request.

const (
	// missShare: misses get 1/missShare of the cache's max_size.
	missShare = 64
	// maxMissPath is the longest URL path whose miss is kept.
	maxMissPath = 512
	// missOverhead is what a miss costs beyond its strings.
	missOverhead = 160
)

// miss is one name found missing from tree.
type miss struct {
	key     cacheKey
	tree    *docroot.Tree
	checked int64      // when (ns since the cache's epoch) it was found missing
	err     *fileError // the 404 and its error-log detail
	cost    int64
}

// misses is a FIFO of misses, oldest first; fileCache.mu guards it.
type misses struct {
	m       map[cacheKey]*miss
	queue   []*miss
	head    int // queue[head:] are live
	size    int64
	maxSize int64
}

// fresh returns the 404 of ms if it answers for tree now: the root's
// current tree is the one the name was missing from, and for less than
// docroot.Interval.
func (c *fileCache) fresh(ms *miss, tree *docroot.Tree) *fileError {
	if ms == nil || ms.tree != tree {
		return nil
	}
	if age := c.since() - ms.checked; age < 0 || age >= int64(docroot.Interval) {
		return nil // the queue drops it in time
	}
	return ms.err
}

// putMiss records that path under root was found missing from tree at the
// time checked, with the error fe (a 404).
func (c *fileCache) putMiss(root *docroot.Root, path string, tree *docroot.Tree, checked int64, fe *fileError) {
	if c.maxFile.Load() == 0 || len(path) > maxMissPath {
		return
	}
	ms := &miss{key: cacheKey{root, path}, tree: tree, checked: checked, err: fe,
		cost: int64(len(path)+len(fe.detail)) + missOverhead}
	c.mu.Lock()
	defer c.mu.Unlock()
	q := &c.misses
	if ms.cost > q.maxSize {
		return
	}
	// The oldest leave first: those no longer fresh, then as many as the
	// new one needs room.
	for q.head < len(q.queue) {
		old := q.queue[q.head]
		if checked-old.checked < int64(docroot.Interval) && q.size+ms.cost <= q.maxSize {
			break
		}
		q.pop()
	}
	q.m[ms.key] = ms // a miss it replaces keeps its queue slot until popped
	q.queue = append(q.queue, ms)
	q.size += ms.cost
}

// pop drops the oldest miss.
func (q *misses) pop() {
	old := q.queue[q.head]
	q.queue[q.head] = nil
	q.head++
	q.size -= old.cost
	if q.m[old.key] == old {
		delete(q.m, old.key)
	}
	if q.head > len(q.queue)/2 {
		// Reuse the front of the slice rather than let it grow.
		n := copy(q.queue, q.queue[q.head:])
		clear(q.queue[n:])
		q.queue, q.head = q.queue[:n], 0
	}
}

// dropMisses forgets every miss under root; c.mu is held.
func (c *fileCache) dropMisses(root *docroot.Root) {
	for k := range c.misses.m {
		if k.root == root {
			delete(c.misses.m, k) // its queue slot counts until popped, and answers nothing
		}
	}
}

// setMissLimit sets the misses' share of maxSize; c.mu is held.
func (c *fileCache) setMissLimit(maxSize int64) {
	q := &c.misses
	q.maxSize = maxSize / missShare
	if c.maxFile.Load() == 0 {
		q.maxSize = 0
	}
	for q.head < len(q.queue) && q.size > q.maxSize {
		q.pop()
	}
}

// forgetMiss drops the miss of key, if any (its name was found after all);
// c.mu is held.
func (c *fileCache) forgetMiss(key cacheKey) {
	delete(c.misses.m, key)
}

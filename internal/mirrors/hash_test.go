package mirrors

import (
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// bigFile creates a sparse file of size bytes at tree path name.
func bigFile(t testing.TB, root, name string, size int64) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// TestMeta4HashesOncePerVersion reproduces the report: concurrent first
// requests of FILE.meta4 each hashed the whole file (16 requests for a
// 300 MB ISO cost 4.1 s of CPU). Now one hash serves them all, for an
// image (kept in the mirror state) and for any other file, and a new
// version of the file (new size, mtime or inode) is hashed once again.
func TestMeta4HashesOncePerVersion(t *testing.T) {
	const n = 16
	fx := newFixture(t, originFiles())
	for _, name := range []string{"iso/big.iso", "img/big.img"} {
		t.Run(name, func(t *testing.T) {
			bigFile(t, fx.root, name, 64<<20)
			before := fx.svc.hashes.runs.Load()
			get := func() {
				var wg sync.WaitGroup
				start := make(chan struct{})
				codes := make([]int, n)
				for i := range n {
					wg.Go(func() {
						<-start
						codes[i] = fx.get(t, "/"+name+".meta4", "").Code
					})
				}
				close(start)
				wg.Wait()
				for i, c := range codes {
					if c != http.StatusOK {
						t.Fatalf("request %d: %d, want 200", i, c)
					}
				}
			}
			get()
			if got := fx.svc.hashes.runs.Load() - before; got != 1 {
				t.Errorf("%d concurrent first requests hashed the file %d times, want once", n, got)
			}
			get()
			if got := fx.svc.hashes.runs.Load() - before; got != 1 {
				t.Errorf("requests for an unchanged file hashed it again (%d hashes)", got)
			}
			// A new file at the same path, same size and mtime (an rsync
			// that keeps times): a new inode, a new hash.
			p := filepath.Join(fx.root, filepath.FromSlash(name))
			fi, _ := os.Stat(p)
			bigFile(t, fx.root, name+".new", 64<<20)
			os.Chtimes(p+".new", fi.ModTime(), fi.ModTime())
			if err := os.Rename(p+".new", p); err != nil {
				t.Fatal(err)
			}
			get()
			if got := fx.svc.hashes.runs.Load() - before; got != 2 {
				t.Errorf("after the file was replaced: %d hashes in all, want 2", got)
			}
		})
	}
}

// TestHashingIsBounded: with every hashing slot taken, a request for
// another file waits at most HashWait, then gets 503 with Retry-After;
// once the slot frees the file is served.
func TestHashingIsBounded(t *testing.T) {
	fx := newFixture(t, originFiles())
	svc, err := New(fx.cfg, Options{Now: fx.clock.Now, MaxHashes: 1, HashWait: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	fx.svc = svc
	bigFile(t, fx.root, "img/a.img", 1<<20)
	bigFile(t, fx.root, "img/b.img", 1<<20)

	// The only slot is held (a long hash) while b is asked for.
	release := make(chan struct{})
	held := make(chan struct{})
	go svc.hashes.do("held", func() error { close(held); <-release; return nil })
	<-held
	rec := fx.get(t, "/img/b.img.meta4", "")
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("with the hashing slot taken: %d, want 503", rec.Code)
	}
	if ra, err := strconv.Atoi(rec.Header().Get("Retry-After")); err != nil || ra < 1 {
		t.Errorf("Retry-After %q, want seconds", rec.Header().Get("Retry-After"))
	}
	close(release)
	if rec := fx.get(t, "/img/b.img.meta4", ""); rec.Code != http.StatusOK {
		t.Errorf("after the slot freed: %d, want 200", rec.Code)
	}
}

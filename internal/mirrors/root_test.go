package mirrors

import (
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// swapTree replaces the fixture's root with a tree holding files the way
// depot site build does: one renameat2(RENAME_EXCHANGE), then the old tree
// removed unless keepOld.
func swapTree(t *testing.T, fx *fixture, files map[string]string, keepOld bool) {
	t.Helper()
	next := fx.root + ".new"
	write(t, next, files)
	if err := unix.Renameat2(unix.AT_FDCWD, next, unix.AT_FDCWD, fx.root, unix.RENAME_EXCHANGE); err != nil {
		t.Skipf("renameat2(RENAME_EXCHANGE): %v", err)
	}
	if !keepOld {
		if err := os.RemoveAll(next); err != nil {
			t.Fatal(err)
		}
	}
}

func metalinkTimestamp(t *testing.T, fx *fixture) int64 {
	t.Helper()
	rec := fx.get(t, "/"+repoPath+".metalink", "")
	if rec.Code != 200 {
		t.Fatalf("metalink: status %d, want 200", rec.Code)
	}
	return parseML3(t, rec.Body.String()).Files[0].Timestamp
}

// TestMetalinkFollowsSwappedRoot: after the site's tree is swapped and the
// old one deleted, metalinks describe the new repomd.xml within a second,
// instead of answering nothing from the deleted tree.
func TestMetalinkFollowsSwappedRoot(t *testing.T) {
	fx := newFixture(t, map[string]string{repoPath: repomd(1000)})
	if got := metalinkTimestamp(t, fx); got != 1000 {
		t.Fatalf("timestamp %d, want 1000", got)
	}
	swapTree(t, fx, map[string]string{repoPath: repomd(2000)}, false)
	fx.clock.Advance(statTTL + time.Millisecond)
	if got := metalinkTimestamp(t, fx); got != 2000 {
		t.Errorf("after the swap: timestamp %d, want 2000", got)
	}
}

// TestReloadDropsRoots: a reload opens the roots again from their paths,
// without waiting for the second within which a swapped tree is followed.
func TestReloadDropsRoots(t *testing.T) {
	fx := newFixture(t, map[string]string{repoPath: repomd(1000)})
	if got := metalinkTimestamp(t, fx); got != 1000 {
		t.Fatalf("timestamp %d, want 1000", got)
	}
	swapTree(t, fx, map[string]string{repoPath: repomd(2000)}, true)
	fx.svc.Reload(fx.cfg)
	if got := metalinkTimestamp(t, fx); got != 2000 {
		t.Errorf("after the swap and a reload, at once: timestamp %d, want 2000", got)
	}
}

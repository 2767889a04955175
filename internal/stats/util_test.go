package stats

import (
	"os"
	"sort"
	"testing"

	"golang.org/x/sys/unix"

	"depot/internal/month"
)

func sortStrings(s []string) { sort.Strings(s) }

// months parses "YYYY-MM" months.
func months(names ...string) []month.Month {
	var ms []month.Month
	for _, n := range names {
		ms = append(ms, month.MustParse(n))
	}
	return ms
}

// readOnlyDir makes dir refuse new files until the test ends, for root too:
// root ignores permission bits, so as root dir becomes a read-only bind
// mount of itself (EROFS); otherwise its mode becomes 0555 (EACCES).
func readOnlyDir(t *testing.T, dir string) {
	t.Helper()
	if os.Geteuid() != 0 {
		if err := os.Chmod(dir, 0o555); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(dir, 0o755) })
		return
	}
	if err := unix.Mount(dir, dir, "", unix.MS_BIND, ""); err != nil {
		t.Fatalf("bind-mounting %s onto itself (root, to make it read-only): %v", dir, err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			t.Errorf("unmounting %s: %v", dir, err)
		}
	})
	if err := unix.Mount("", dir, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
		t.Fatalf("remounting %s read-only: %v", dir, err)
	}
	if f, err := os.CreateTemp(dir, "probe"); err == nil {
		f.Close()
		os.Remove(f.Name())
		t.Fatalf("%s still accepts new files after the read-only remount", dir)
	}
}

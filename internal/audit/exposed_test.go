package audit

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestExposedByIdentity: the logs reach a site root by a way no path
// comparison sees, a bind mount of log_dir or a hard link to a log file,
// and the site serves them to anyone. The audit fails on both.
func TestExposedByIdentity(t *testing.T) {
	t.Run("hard link to a log file", func(t *testing.T) {
		s := newSetup(t)
		writeFiles(t, s.cfg.LogDir, map[string]string{"access.log-20261101": accessLine("203.0.113.7", day("2026-11-01"))})
		if err := os.Link(filepath.Join(s.cfg.LogDir, "access.log-20261101"), filepath.Join(s.root, "notes.txt")); err != nil {
			t.Fatal(err)
		}
		expect(t, s.run(t), "logs-not-published", Fail, policyShare, filepath.Join(s.root, "notes.txt"), "access.log-20261101")
	})
	t.Run("bind mount of log_dir", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("a bind mount needs root (CI runs as root)")
		}
		s := newSetup(t)
		writeFiles(t, s.cfg.LogDir, map[string]string{"access.log": accessLine("203.0.113.7", day("2026-11-19"))})
		mnt := filepath.Join(s.root, "mnt")
		if err := os.Mkdir(mnt, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mount(s.cfg.LogDir, mnt, "", syscall.MS_BIND, ""); err != nil {
			t.Skipf("bind mount: %v", err)
		}
		t.Cleanup(func() { syscall.Unmount(mnt, 0) })
		expect(t, s.run(t), "logs-not-published", Fail, policyShare, mnt+" is log_dir")
	})
	t.Run("a hard link between two site files is fine", func(t *testing.T) {
		s := newSetup(t)
		writeFiles(t, s.cfg.LogDir, map[string]string{"access.log": accessLine("203.0.113.7", day("2026-11-19"))})
		if err := os.Link(filepath.Join(s.root, "index.html"), filepath.Join(s.root, "home.html")); err != nil {
			t.Fatal(err)
		}
		expect(t, s.run(t), "logs-not-published", Pass, policyShare)
	})
}

package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPermissionWarnings: each path someone other than root and depot's
// user could change (or, for a TLS key, read) gets one warning naming its
// key and what to do; a safe layout gets none.
func TestPermissionWarnings(t *testing.T) {
	euid := os.Geteuid()
	other := 12345 // a uid that is neither root nor euid
	if euid == other {
		other++
	}
	setup := func(t *testing.T) (*Config, string) {
		dir := t.TempDir()
		for _, d := range []string{"logs", "data", "www"} {
			if err := os.Mkdir(filepath.Join(dir, d), 0o750); err != nil {
				t.Fatal(err)
			}
		}
		for _, f := range []string{"depot.toml", "key.pem"} {
			if err := os.WriteFile(filepath.Join(dir, f), nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		c := &Config{
			Path: filepath.Join(dir, "depot.toml"), LogDir: filepath.Join(dir, "logs"), DataDir: filepath.Join(dir, "data"),
			Listen: []Listen{{Address: "127.0.0.1:443", TLSCert: filepath.Join(dir, "cert.pem"), TLSKey: filepath.Join(dir, "key.pem")}},
			Site:   []Site{{Hosts: []string{"*"}, Root: filepath.Join(dir, "www")}},
		}
		return c, dir
	}
	tests := []struct {
		name     string
		change   func(t *testing.T, c *Config, dir string)
		key      string
		problem  string
		rootOnly bool // needs chown
	}{
		{"world-writable config", func(t *testing.T, c *Config, dir string) { chmod(t, c.Path, 0o666) }, "config", "writable by every user", false},
		{"group-writable log_dir", func(t *testing.T, c *Config, dir string) { chmod(t, c.LogDir, 0o770) }, "log_dir", "writable by its group", false},
		{"world-writable data_dir", func(t *testing.T, c *Config, dir string) { chmod(t, c.DataDir, 0o777) }, "data_dir", "writable by every user", false},
		// The sticky bit keeps others from removing depot's files, not
		// from planting new ones (a symlink named like the next temp file).
		{"sticky world-writable log_dir", func(t *testing.T, c *Config, dir string) { chmod(t, c.LogDir, os.ModeSticky|0o777) }, "log_dir", "writable by every user", false},
		{"group-writable site root", func(t *testing.T, c *Config, dir string) { chmod(t, c.Site[0].Root, 0o775) }, "site[0].root", "writable by its group", false},
		{"world-readable TLS key", func(t *testing.T, c *Config, dir string) { chmod(t, c.Listen[0].TLSKey, 0o644) }, "listen[0].tls_key", "readable by every user", false},
		{"log_dir is a symlink", func(t *testing.T, c *Config, dir string) {
			link := filepath.Join(dir, "logs-link")
			if err := os.Symlink(c.LogDir, link); err != nil {
				t.Fatal(err)
			}
			c.LogDir = link
		}, "log_dir", "is a symlink", false},
		{"log_dir owned by another user", func(t *testing.T, c *Config, dir string) { chown(t, c.LogDir, other) }, "log_dir", "neither root nor the user depot runs as", true},
		{"config owned by another user", func(t *testing.T, c *Config, dir string) { chown(t, c.Path, other) }, "config", "neither root nor the user depot runs as", true},
	}
	t.Run("safe layout", func(t *testing.T) {
		c, _ := setup(t)
		if ws := c.PermissionWarnings(euid); len(ws) != 0 {
			t.Errorf("got %v, want no warning", ws)
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.rootOnly && euid != 0 {
				t.Skip("changing a file's owner needs root (CI runs as root)")
			}
			c, dir := setup(t)
			tt.change(t, c, dir)
			ws := c.PermissionWarnings(euid)
			if len(ws) != 1 || ws[0].Key != tt.key || !strings.Contains(ws[0].Problem, tt.problem) || ws[0].Fix == "" {
				t.Fatalf("got %q, want one warning for %s saying %q, with what to do", ws, tt.key, tt.problem)
			}
		})
	}
}

func chmod(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func chown(t *testing.T, path string, uid int) {
	t.Helper()
	if err := os.Lchown(path, uid, -1); err != nil {
		t.Fatal(err)
	}
}

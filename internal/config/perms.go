package config

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// Warning is a configuration that works but lets someone other than depot
// and root change what depot trusts, or read what only depot should.
type Warning struct {
	Key     string // the key at fault: "log_dir", "site[0].root", "listen[1].tls_key", "config"
	Path    string
	Problem string // what is wrong
	Fix     string // what to do
}

func (w Warning) String() string {
	return fmt.Sprintf("%s: %s %s; %s", w.Key, w.Path, w.Problem, w.Fix)
}

// PermissionWarnings checks who can change the configuration file, log_dir,
// data_dir and each site root, who can read each TLS key, and whether
// log_dir is a symlink. depot check, depot serve and depot audit print
// them; none stops depot. euid is the user depot runs as (os.Geteuid()):
// files it owns, or root owns, are its own.
//
// A path is at fault when a user other than its owner may write to it
// (group- or world-writable), or when it is owned by someone other than
// root and euid: that user can
// rewrite the configuration, plant symlinks where depot writes logs
// (issue 9), or change what is served. Only the path itself is checked,
// not its parents. Paths that do not exist are left to Validate.
func (c *Config) PermissionWarnings(euid int) []Warning {
	var ws []Warning
	add := func(key, path, problem, fix string) {
		ws = append(ws, Warning{Key: key, Path: path, Problem: problem, Fix: fix})
	}
	owned := func(key, path, what string) {
		st, ok := lstat(path)
		if !ok {
			return
		}
		if st.Mode&syscall.S_IFMT == syscall.S_IFLNK {
			if st, ok = stat(path); !ok {
				return
			}
		}
		mode := fs.FileMode(st.Mode & 0o7777)
		switch {
		case int(st.Uid) != 0 && int(st.Uid) != euid:
			add(key, path, fmt.Sprintf("is owned by uid %d, neither root nor the user depot runs as (uid %d): that user can change %s", st.Uid, euid, what),
				fmt.Sprintf("chown it to root or to depot's user (chown root %s)", path))
		case mode&0o002 != 0: // with the sticky bit too: others can still plant new names
			add(key, path, fmt.Sprintf("is writable by every user (mode %04o): anyone can change %s", mode&0o777, what),
				fmt.Sprintf("chmod o-w %s", path))
		case mode&0o020 != 0:
			add(key, path, fmt.Sprintf("is writable by its group (gid %d, mode %04o): every member can change %s", st.Gid, mode&0o777, what),
				fmt.Sprintf("chmod g-w %s, unless every member of that group is trusted as root is", path))
		}
	}
	if c.Path != "" {
		owned("config", c.Path, "depot's configuration")
	}
	if st, ok := lstat(c.LogDir); ok && st.Mode&syscall.S_IFMT == syscall.S_IFLNK {
		target, _ := os.Readlink(c.LogDir)
		add("log_dir", c.LogDir, fmt.Sprintf("is a symlink (to %s): whoever can change the link decides where depot writes and rotates logs", target),
			"set log_dir to the real directory")
	}
	owned("log_dir", c.LogDir, "the log files (and plant symlinks that depot would write through)")
	owned("data_dir", c.DataDir, "the statistics and mirror state")
	for i, s := range c.Site {
		owned(fmt.Sprintf("site[%d].root", i), s.Root, "what this site serves")
	}
	for i, l := range c.Listen {
		if l.TLSKey == "" {
			continue
		}
		if st, ok := stat(l.TLSKey); ok && st.Mode&0o004 != 0 {
			add(fmt.Sprintf("listen[%d].tls_key", i), l.TLSKey, fmt.Sprintf("is readable by every user (mode %04o): anyone can impersonate the site", st.Mode&0o777),
				fmt.Sprintf("chmod o-r %s (and keep it owned by root or depot's user)", l.TLSKey))
		}
	}
	return ws
}

func lstat(path string) (*syscall.Stat_t, bool) {
	var st syscall.Stat_t
	if path == "" || syscall.Lstat(path, &st) != nil {
		return nil, false
	}
	return &st, true
}

func stat(path string) (*syscall.Stat_t, bool) {
	var st syscall.Stat_t
	if path == "" || syscall.Stat(path, &st) != nil {
		return nil, false
	}
	return &st, true
}

package audit

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"depot/internal/config"
)

// fileID is a file's identity: its device and inode.
type fileID struct{ dev, ino uint64 }

func idOf(info fs.FileInfo) (fileID, uint64, bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, 0, false
	}
	return fileID{uint64(st.Dev), st.Ino}, uint64(st.Nlink), true
}

// exposedByIdentity finds the logs in a site root where no path
// comparison (config.Exposed) sees them: a directory that is log_dir,
// data_dir or a directory of [stats] logs (a bind mount), and a file that
// is one of the log files (a hard link). It walks every site root without
// following symbolic links (the server refuses those that lead out).
func exposedByIdentity(cfg *config.Config) []string {
	dirs := map[fileID]string{}
	addDir := func(key, p string) {
		if info, err := os.Stat(p); err == nil && info.IsDir() {
			if id, _, ok := idOf(info); ok && dirs[id] == "" {
				dirs[id] = key
			}
		}
	}
	addDir("log_dir", cfg.LogDir)
	addDir("data_dir", cfg.DataDir)
	files := map[fileID]string{}
	logs, _ := logPaths(cfg)
	for _, p := range logs {
		addDir("the directory of the log file "+p, filepath.Dir(p))
		if info, err := os.Stat(p); err == nil {
			if id, links, ok := idOf(info); ok && links > 1 {
				files[id] = p
			}
		}
	}
	var out []string
	for i, s := range cfg.Site {
		if s.Root == "" {
			continue
		}
		filepath.WalkDir(s.Root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if !d.IsDir() && (len(files) == 0 || !d.Type().IsRegular()) {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return nil
			}
			id, links, ok := idOf(info)
			if !ok {
				return nil
			}
			if d.IsDir() {
				if key, hit := dirs[id]; hit {
					out = append(out, fmt.Sprintf("%s is %s (the same directory: a bind mount?), inside site[%d].root %q, which serves it to anyone, onion visitors included; unmount or remove it", p, key, i, s.Root))
					return filepath.SkipDir
				}
				return nil
			}
			if log, hit := files[id]; hit && links > 1 {
				out = append(out, fmt.Sprintf("%s is a hard link to the log file %s, inside site[%d].root %q, which serves it to anyone, onion visitors included, and keeps it past retention; remove it (rm %s)", p, log, i, s.Root, p))
			}
			return nil
		})
	}
	return out
}

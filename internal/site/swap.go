package site

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"depot/internal/atomicfile"
)

// swapDir puts the directory tmp at dst. If dst exists, the two are
// exchanged in one renameat2(RENAME_EXCHANGE), so a reader always sees a
// whole site, and the old one is left at tmp for the caller to remove.
// Where the kernel or file system cannot exchange, dst is moved aside and
// tmp renamed over it: a moment without a site, never a half-written one.
func swapDir(tmp, dst string) error {
	defer atomicfile.SyncDir(filepath.Dir(dst))
	_, err := os.Lstat(dst)
	if errors.Is(err, fs.ErrNotExist) {
		return os.Rename(tmp, dst)
	}
	if err := unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, dst, unix.RENAME_EXCHANGE); err == nil {
		return nil
	}
	old := tmp + ".old"
	if err := os.Rename(dst, old); err != nil {
		return fmt.Errorf("moving the old site aside: %w", err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Rename(old, dst)
		return fmt.Errorf("putting the new site in place: %w", err)
	}
	return os.RemoveAll(old)
}

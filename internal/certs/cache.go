package certs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/acme/autocert"

	"depot/internal/atomicfile"
)

// diskCache is autocert's Cache in a directory that only depot's user can
// enter (0700): the account key, each certificate with its key, and the
// challenge tokens, in files of mode 0600 replaced atomically (temporary
// file, fsync, rename). onPut, if set, sees every stored entry.
type diskCache struct {
	dir   string
	onPut func(name string, data []byte)
}

// path is the file of an entry. Names come from autocert, and the token
// of an HTTP-01 challenge from the request path, so a name that is not a
// plain file name is refused.
func (c diskCache) path(name string) (string, error) {
	if name == "" || strings.HasPrefix(name, ".") || strings.ContainsAny(name, "/\\\x00") {
		return "", fmt.Errorf("certs: %q is not a cache entry name", name)
	}
	return filepath.Join(c.dir, name), nil
}

func (c diskCache) Get(_ context.Context, name string) ([]byte, error) {
	p, err := c.path(name)
	if err != nil {
		return nil, autocert.ErrCacheMiss
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, autocert.ErrCacheMiss
	}
	return b, err
}

func (c diskCache) Put(_ context.Context, name string, data []byte) error {
	p, err := c.path(name)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(p, 0o600, data); err != nil {
		return err
	}
	if c.onPut != nil {
		c.onPut(name, data)
	}
	return nil
}

func (c diskCache) Delete(_ context.Context, name string) error {
	p, err := c.path(name)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

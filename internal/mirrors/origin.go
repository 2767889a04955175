package mirrors

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"depot/internal/docroot"
	"depot/internal/metalink"
)

// Content kinds, as in config.Mirror.Content.
const (
	KindYum = "yum"
	KindDeb = "deb"
	KindISO = "iso"
)

// maxIndexSize bounds an index file (repomd.xml, InRelease), at the origin
// and from mirrors.
const maxIndexSize = 32 << 20

// kindOf says which kind of checked file a tree path is, or "" for files
// that are not checked: repository indexes and ISO images.
func kindOf(name string) string {
	dir, base := path.Split(name)
	switch {
	case base == "repomd.xml" && path.Base(strings.TrimSuffix(dir, "/")) == "repodata":
		return KindYum
	case base == "InRelease" && path.Base(path.Dir(strings.TrimSuffix(dir, "/"))) == "dists":
		return KindDeb
	case strings.HasSuffix(base, ".iso"):
		return KindISO
	}
	return ""
}

// scanned is one checked file found in a site root.
type scanned struct {
	name string // slash-separated path inside the tree
	root string
	kind string
}

// scanRoots walks the roots and returns every checked file, the first root
// winning when two hold the same path. It does not follow symbolic links
// and skips hidden entries, which are never served.
func scanRoots(roots []string) ([]scanned, error) {
	seen := map[string]bool{}
	var out []scanned
	for _, root := range roots {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if p == root {
					return err
				}
				return nil // an unreadable subdirectory is skipped, not fatal
			}
			if p != root && strings.HasPrefix(d.Name(), ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if !d.Type().IsRegular() {
				return nil
			}
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return nil
			}
			name := filepath.ToSlash(rel)
			if kind := kindOf(name); kind != "" && !seen[name] {
				seen[name] = true
				out = append(out, scanned{name: name, root: root, kind: kind})
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("scanning %s: %w", root, err)
		}
	}
	return out, nil
}

// hashFile reads a file through root and returns its version: all four
// hashes and the timestamp for index files, SHA-256 alone for images.
func hashFile(root *docroot.Root, name, kind string) (metalink.Version, os.FileInfo, error) {
	f, err := root.Open(name)
	if err != nil {
		return metalink.Version{}, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return metalink.Version{}, nil, err
	}
	if !fi.Mode().IsRegular() {
		return metalink.Version{}, nil, fmt.Errorf("%s is not a regular file", name)
	}
	var v metalink.Version
	if kind == KindISO || kind == "" && fi.Size() > maxIndexSize {
		v.Hashes.SHA256, v.Size, err = metalink.SumSHA256(f)
		return v, fi, err
	}
	if fi.Size() > maxIndexSize {
		return v, nil, fmt.Errorf("%s is %d bytes, more than an index file may be (%d)", name, fi.Size(), maxIndexSize)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxIndexSize+1))
	if err != nil {
		return v, nil, err
	}
	v.Hashes, v.Size, _ = metalink.Sum(bytes.NewReader(data))
	if kind == KindYum {
		// A repomd.xml without timestamps still gets a metalink; DNF then
		// relies on the hashes alone.
		v.Timestamp, _ = metalink.RepomdTimestamp(data)
	}
	return v, fi, nil
}

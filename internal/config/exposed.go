package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Exposed returns a problem for each of log_dir, data_dir and [stats] logs
// that lies inside a site root, with symlinks followed: a site would serve
// the logs (or the state beside them) to anyone, onion visitors included.
// Validate includes these problems; depot audit calls Exposed again, since
// a root can be symlinked into place after the server started.
func (c *Config) Exposed() []string {
	type private struct{ key, path string }
	paths := []private{{"log_dir", c.LogDir}, {"data_dir", c.DataDir}}
	for i, g := range c.Stats.Logs {
		key := fmt.Sprintf("stats.logs[%d]", i)
		paths = append(paths, private{key, GlobDir(g)})
		matches, _ := filepath.Glob(g)
		for _, m := range matches {
			paths = append(paths, private{key, m})
		}
	}
	var out []string
	seen := map[string]bool{}
	for j, s := range c.Site {
		if s.Root == "" {
			continue
		}
		root := Resolve(s.Root)
		for _, p := range paths {
			if p.path == "" || seen[p.key+"|"+s.Root] {
				continue
			}
			r := Resolve(p.path)
			if !Within(r, root) {
				continue
			}
			seen[p.key+"|"+s.Root] = true
			shown := fmt.Sprintf("%q", p.path)
			if r != filepath.Clean(p.path) || root != filepath.Clean(s.Root) {
				shown += fmt.Sprintf(" (%s after following symlinks)", r)
			}
			out = append(out, fmt.Sprintf("%s: %s is inside site[%d].root %q, which serves it to anyone, onion visitors included; move %s out of every site root",
				p.key, shown, j, s.Root, p.key))
		}
	}
	return out
}

// GlobDir is the directory part of a glob before its first pattern
// character: every file the glob can match lies below it.
func GlobDir(g string) string {
	dir := filepath.Dir(g)
	for strings.ContainsAny(dir, `*?[\`) {
		next := filepath.Dir(dir)
		if next == dir {
			break
		}
		dir = next
	}
	return dir
}

// Resolve returns the absolute, clean form of p with symlinks followed as
// far as it exists; a tail that does not exist yet is appended as written.
func Resolve(p string) string {
	p, err := filepath.Abs(p)
	if err != nil {
		return filepath.Clean(p)
	}
	rest := ""
	for {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Join(r, rest)
		} else if !os.IsNotExist(err) {
			// unreadable: compare the path as written
			return filepath.Join(p, rest)
		}
		parent := filepath.Dir(p)
		if parent == p {
			return filepath.Join(p, rest)
		}
		rest = filepath.Join(filepath.Base(p), rest)
		p = parent
	}
}

// Within reports whether path p is dir or below it; both must be clean
// and absolute.
func Within(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && filepath.IsLocal(rel)
}

// LoadForAudit is Load for depot audit: a configuration whose only
// problems are private paths inside a site root (see Exposed) is returned
// without error, so that the audit reports them as a broken promise with
// everything else it checks, rather than stopping at them.
func LoadForAudit(path string) (*Config, error) {
	c, err := readFile(path)
	if err != nil {
		return nil, err
	}
	err = c.Validate()
	if p, ok := err.(*Problems); ok && len(p.List) == len(c.Exposed()) {
		return c, nil
	}
	return c, err
}

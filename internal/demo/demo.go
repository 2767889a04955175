package demo

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/pelletier/go-toml/v2"

	"depot/internal/atomicfile"
	"depot/internal/config"
)

//go:embed tree
var embedded embed.FS

// Tree is the demo content, rooted at its top directory.
func Tree() fs.FS {
	sub, err := fs.Sub(embedded, "tree")
	if err != nil {
		panic(err) // "tree" is a valid path and is embedded: cannot happen
	}
	return sub
}

// dirName is the directory Extract creates under the directory it is given.
const dirName = "demo-root"

// Addresses of the demo listeners.
const (
	ClearnetAddress = "127.0.0.1:8080"
	OnionAddress    = "127.0.0.1:8081"
)

// Extract writes the demo tree to dir/demo-root and returns that path. It
// writes into a fresh temporary directory next to it and puts it in place
// with atomicfile.ReplaceDir, so a reader never sees a half-written tree
// (nor, where the file system can exchange two names, none); an older extraction
// that differs from the embedded tree is replaced, an identical one is left
// alone (a server reloading the demo keeps serving the same directory).
func Extract(dir string) (root string, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("demo: %w", err)
	}
	root = filepath.Join(dir, dirName)
	if sameTree(root) {
		return root, nil
	}
	tmp, err := os.MkdirTemp(dir, ".demo-new-")
	if err != nil {
		return "", fmt.Errorf("demo: %w", err)
	}
	defer os.RemoveAll(tmp) // after an exchange, the old extraction
	if err := os.CopyFS(tmp, Tree()); err != nil {
		return "", fmt.Errorf("demo: extracting into %s: %w", tmp, err)
	}
	// MkdirTemp made tmp 0o700; the tree is public content.
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", fmt.Errorf("demo: %w", err)
	}
	if err := atomicfile.ReplaceDir(tmp, root); err != nil {
		return "", fmt.Errorf("demo: %w", err)
	}
	return root, nil
}

// demoConfig is the subset of the configuration file the demo sets.
type demoConfig struct {
	LogDir  string       `toml:"log_dir"`
	DataDir string       `toml:"data_dir"`
	Listen  []demoListen `toml:"listen"`
	Site    []demoSite   `toml:"site"`
}

type demoListen struct {
	Address string `toml:"address"`
	Onion   bool   `toml:"onion,omitempty"`
}

type demoSite struct {
	Hosts     []string `toml:"hosts"`
	Root      string   `toml:"root"`
	Autoindex bool     `toml:"autoindex"`
}

// TOML returns the demo configuration as a configuration file would hold
// it: logs and data under dataDir, the site rooted at root.
func TOML(dataDir, root string) []byte {
	b, err := toml.Marshal(demoConfig{
		LogDir:  dataDir,
		DataDir: dataDir,
		Listen: []demoListen{
			{Address: ClearnetAddress},
			{Address: OnionAddress, Onion: true},
		},
		Site: []demoSite{{Hosts: []string{"*"}, Root: root, Autoindex: true}},
	})
	if err != nil {
		panic(err) // plain strings and bools always marshal
	}
	return b
}

// Config extracts the demo tree under dataDir, which must be absolute, and
// returns the validated demo configuration: logs and data in dataDir, a
// logged clearnet listener on 127.0.0.1:8080, an unlogged onion listener on
// 127.0.0.1:8081 and one site for any host with directory listings.
func Config(dataDir string) (*config.Config, error) {
	if !filepath.IsAbs(dataDir) {
		return nil, fmt.Errorf("demo: data directory %q must be absolute", dataDir)
	}
	root, err := Extract(dataDir)
	if err != nil {
		return nil, err
	}
	// Parsing the file form applies the defaults in config's one place.
	c, err := config.Parse("", TOML(dataDir, root))
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	return c, nil
}

// ConfigAt returns the demo configuration over dataDir as Config does,
// without extracting anything: for depot audit, which must change nothing
// on disk. It is not validated (the tree may not be there yet).
func ConfigAt(dataDir string) (*config.Config, error) {
	if !filepath.IsAbs(dataDir) {
		return nil, fmt.Errorf("demo: data directory %q must be absolute", dataDir)
	}
	c, err := config.Parse("", TOML(dataDir, filepath.Join(dataDir, dirName)))
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	return c, nil
}

// sameTree reports whether root holds exactly the embedded tree.
func sameTree(root string) bool {
	want := 0
	err := fs.WalkDir(Tree(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		want++
		b, err := fs.ReadFile(Tree(), p)
		if err != nil {
			return err
		}
		got, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(p)))
		if err != nil || !bytes.Equal(got, b) {
			return errDiffers
		}
		return nil
	})
	if err != nil {
		return false
	}
	have := 0
	err = filepath.WalkDir(root, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			have++
		}
		return err
	})
	return err == nil && have == want
}

var errDiffers = errors.New("differs")

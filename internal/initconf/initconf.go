// Package initconf writes a new depot configuration: the example
// (examples/depot.toml) with the operator's host names and onion address
// filled in.
//
// It never overwrites a file, and writes nothing but that one file.
package initconf

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"depot/examples"
	"depot/internal/atomicfile"
)

// Names are what the operator fills in. Empty fields keep the example's.
type Names struct {
	// Domain replaces example.org: www.<domain> and <domain> for the
	// website, yum.<domain>, deb.<domain>.
	Domain string
	// WWW, Yum and Deb override a site's main host name.
	WWW, Yum, Deb string
	// Onion is the website's onion address ("<56 characters>.onion", with
	// or without http://): it turns on Onion-Location and adds the name to
	// the website's hosts.
	Onion string
}

// The example's names that Render replaces.
const (
	exampleDomain = "example.org"
	exampleOnion  = "xnanzbi7p2pzgljjh6scfjonod2lsyr2givyy37tluonahh3we26ygad.onion"
)

var (
	hostName = regexp.MustCompile(`^(?i)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$`)
	onionV3  = regexp.MustCompile(`^[a-z2-7]{55}d\.onion$`)
)

// Render returns the example configuration with n filled in, or an error
// naming the flag whose value is not a host name or onion address.
func Render(n Names) (string, error) {
	domain := n.Domain
	if domain == "" {
		domain = exampleDomain
	}
	hosts := []struct{ flag, value, def string }{
		{"--domain", domain, ""},
		{"--www", n.WWW, "www." + domain},
		{"--yum", n.Yum, "yum." + domain},
		{"--deb", n.Deb, "deb." + domain},
	}
	var errs []error
	for i := range hosts {
		h := &hosts[i]
		if h.value == "" {
			h.value = h.def
		}
		h.value = strings.ToLower(strings.TrimSuffix(h.value, "."))
		if !hostName.MatchString(h.value) || len(h.value) > 253 || strings.HasSuffix(h.value, ".onion") {
			errs = append(errs, fmt.Errorf("%s %q is not a host name (e.g. example.com, www.example.com)", h.flag, h.value))
		}
	}
	onion := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(strings.ToLower(n.Onion), "http://"), "https://"), "/")
	if onion != "" && !onionV3.MatchString(onion) {
		errs = append(errs, fmt.Errorf("--onion %q is not a v3 onion address (56 characters, then .onion; tor writes it to hostname in the HiddenServiceDir)", n.Onion))
	}
	if len(errs) > 0 {
		return "", errors.Join(errs...)
	}

	// Placeholders first, so that a name that contains another (yum.x.org
	// and x.org) is replaced once.
	text := examples.DepotTOML
	old := []string{"www." + exampleDomain, "yum." + exampleDomain, "deb." + exampleDomain}
	for i, o := range old {
		text = strings.ReplaceAll(text, o, fmt.Sprintf("\x00%d\x00", i+1))
	}
	text = strings.ReplaceAll(text, exampleDomain, "\x000\x00")
	for i, h := range hosts {
		text = strings.ReplaceAll(text, fmt.Sprintf("\x00%d\x00", i), h.value)
	}
	if onion != "" {
		for _, r := range [][2]string{
			{`#"` + exampleOnion + `",`, `  "` + onion + `",`},
			{`#onion_location = "http://` + exampleOnion + `"`, `onion_location = "http://` + onion + `"`},
		} {
			if !strings.Contains(text, r[0]) {
				return "", fmt.Errorf("the example configuration has no line %q to fill in", r[0])
			}
			text = strings.Replace(text, r[0], r[1], 1)
		}
	}
	return text, nil
}

// Placeholders lists the lines of text that are in effect (not comments)
// and still name the example's hosts (example.org, example.net): the
// settings the operator must edit before starting depot.
func Placeholders(text string) []string {
	var out []string
	for i, line := range strings.Split(text, "\n") {
		active, _, _ := strings.Cut(line, "#")
		if strings.Contains(active, "example.org") || strings.Contains(active, "example.net") {
			out = append(out, fmt.Sprintf("%d: %s", i+1, strings.TrimSpace(active)))
		}
	}
	return out
}

// FileName is the name Write gives the configuration in its directory.
const FileName = "depot.toml"

// Write creates dir/depot.toml holding text, readable by all (it holds no
// secret), and returns its path. An existing file is never replaced: the
// new file is written and synced under a temporary name, then linked to
// its name, which fails if the name exists.
func Write(dir, text string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, FileName)
	if _, err := os.Lstat(path); err == nil {
		return "", fmt.Errorf("%s exists; depot init never overwrites a file: edit it, or move it aside first", path)
	}
	f, err := atomicfile.Create(path, 0o644)
	if err != nil {
		return "", err
	}
	defer f.Abort()
	if _, err := f.WriteString(text); err != nil {
		return "", err
	}
	if err := f.CommitNew(); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("%s exists; depot init never overwrites a file: edit it, or move it aside first", path)
		}
		return "", err
	}
	return path, nil
}

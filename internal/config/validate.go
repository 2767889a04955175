package config

import (
	"bytes"
	"crypto/sha3"
	"encoding/base32"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Problems is every validation problem of one configuration, each with its
// key path ("site[2].root: ...").
type Problems struct {
	File string
	List []string
}

func (p *Problems) Error() string {
	prefix := p.File
	if prefix == "" {
		prefix = "configuration"
	}
	if len(p.List) == 1 {
		return prefix + ": " + p.List[0]
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d problems:", prefix, len(p.List))
	for _, s := range p.List {
		b.WriteString("\n  ")
		b.WriteString(s)
	}
	return b.String()
}

func (p *Problems) add(key, format string, args ...any) {
	p.List = append(p.List, key+": "+fmt.Sprintf(format, args...))
}

// Validate checks the whole configuration and returns every problem at
// once as *Problems, or nil. It reads files (certificates, roots) but opens
// no socket and writes nothing. Commands that only read (logs search,
// stats show) use it.
func (c *Config) Validate() error {
	return c.problems(false).orNil()
}

// ValidateServe is Validate and everything else depot serve needs of this
// machine before it binds, for the user that calls it: each site root can
// be read, each unix socket's directory written and its socket_group
// exists, log_dir and data_dir exist and can be written or can be created
// as the last element of their path. depot serve and depot check run it;
// like Validate, it writes nothing.
func (c *Config) ValidateServe() error {
	return c.problems(true).orNil()
}

func (p *Problems) orNil() error {
	if len(p.List) > 0 {
		return p
	}
	return nil
}

func (c *Config) problems(serve bool) *Problems {
	p := &Problems{File: c.Path}
	if got := c.RetentionMonths; got < 1 || c.retentionZero {
		if c.retentionZero {
			got = 0
		}
		p.add("retention_months", "must be at least 1 (the current month alone), got %d; leave it out for the default, 3 (the current month and the two before)", got)
	}
	if c.Pseudonymise && len(c.Stats.Nodes) > 0 {
		p.add("pseudonymise", "not with [stats] nodes yet: a month's pseudonyms must come from one key over every node's logs, and the pull of the nodes' logs (docs/nodes.md) would put their real addresses back; see docs/pseudonyms.md, \"Several nodes\"")
	}
	if c.PseudonymiseAfter != 0 && c.PseudonymiseAfter < Duration(24*time.Hour) {
		p.add("pseudonymise_after", "%s is less than 24h; the exit lists of a month's last day are published up to a day after it ends", time.Duration(c.PseudonymiseAfter))
	}
	if c.ErrorLogDetail != "" && c.ErrorLogDetail != ErrorLogFull && c.ErrorLogDetail != ErrorLogMinimal {
		p.add("error_log_detail", "%q is neither \"full\" nor \"minimal\"", c.ErrorLogDetail)
	}
	if c.LogRotation != RotationDaily && c.LogRotation != RotationExternal {
		p.add("log_rotation", "%q is neither \"daily\" nor \"external\"", c.LogRotation)
	}
	if got := c.SendTimeout; got < Duration(time.Second) || c.sendTimeoutZero {
		if c.sendTimeoutZero {
			got = 0
		}
		p.add("send_timeout", "%s is less than a second; clients on slow links would be cut off (leave it out for the default, 60s)", time.Duration(got))
	}
	if got := c.MaxResponses; got < 1 || c.maxResponsesZero {
		if c.maxResponsesZero {
			got = 0
		}
		p.add("max_responses", "must be at least 1, got %d (leave it out for the default, %d)", got, DefaultMaxResponses)
	}
	if len(c.Listen) == 0 {
		p.add("listen", "no [[listen]] table; add one with address = \"127.0.0.1:8080\"")
	}
	seen := map[string]int{}
	for i, l := range c.Listen {
		key := fmt.Sprintf("listen[%d]", i)
		if j, dup := seen[l.Address]; dup {
			p.add(key+".address", "%q is also listen[%d]'s address", l.Address, j)
		}
		seen[l.Address] = i
		validateListen(p, key, l)
	}
	if len(c.Site) == 0 {
		p.add("site", "no [[site]] table; add one with hosts = [\"*\"] and root = \"/srv/www\"")
	}
	hosts := map[string]int{}
	for i, s := range c.Site {
		key := fmt.Sprintf("site[%d]", i)
		for _, h := range s.Hosts {
			h = strings.ToLower(h)
			if j, dup := hosts[h]; dup {
				p.add(key+".hosts", "%q is also a host of site[%d]; each host belongs to one site", h, j)
			}
			hosts[h] = i
		}
		validateSite(p, key, s)
	}
	for _, e := range c.Exposed() {
		p.List = append(p.List, e)
	}
	c.validateOnion(p)
	c.validateMirrors(p)
	c.Stats.validate(p, c)
	c.Proxy.validate(p)
	c.validateACME(p)
	c.validateRedirects(p)
	c.FileCache.validate(p)
	c.validateAdmin(p)
	if serve {
		c.preflight(p)
	}
	return p
}

// preflight adds what ValidateServe checks beyond Validate.
func (c *Config) preflight(p *Problems) {
	for i, l := range c.Listen {
		key := fmt.Sprintf("listen[%d]", i)
		if !l.IsUnix() {
			continue
		}
		if dir := filepath.Dir(l.SocketPath()); isDir(dir) {
			if err := unix.Faccessat(unix.AT_FDCWD, dir, unix.W_OK|unix.X_OK, unix.AT_EACCESS); err != nil {
				p.add(key+".address", "cannot create a socket in %s (%v); make it writable by the user depot runs as", dir, err)
			}
		}
		if l.SocketGroup != "" {
			if _, err := LookupGroup(l.SocketGroup); err != nil {
				p.add(key+".socket_group", "%v", err)
			}
		}
	}
	for i, s := range c.Site {
		if !isDir(s.Root) {
			continue // Validate said so
		}
		if err := unix.Faccessat(unix.AT_FDCWD, s.Root, unix.R_OK|unix.X_OK, unix.AT_EACCESS); err != nil {
			p.add(fmt.Sprintf("site[%d].root", i), "%s cannot be read by this user (%v); depot serves it as the user it runs as", s.Root, err)
		}
	}
	c.validateDirs(p)
}

func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

// validateDirs checks that serve can create what it creates once its
// listeners are bound: log_dir for clearnet logs or proxy.log; data_dir,
// which always holds the record of outbound connections (and the mirror
// state); the statistics data file's directory. Each must exist and be
// writable, or be creatable as the last element of its path.
func (c *Config) validateDirs(p *Problems) {
	if slices.ContainsFunc(c.Listen, func(l Listen) bool { return !l.Onion }) || c.Proxy.Enabled() && c.Proxy.Log {
		checkWritableDir(p, "log_dir", c.LogDir)
	}
	checkWritableDir(p, "data_dir", c.DataDir)
	if len(c.Stats.Logs) > 0 && filepath.Dir(c.Stats.Data) != c.DataDir {
		checkWritableDir(p, "stats.data", filepath.Dir(c.Stats.Data))
	}
}

// checkWritableDir adds a problem unless dir is a directory this process
// can write in, or can be made by creating its last element.
func checkWritableDir(p *Problems, key, dir string) {
	st, err := os.Stat(dir)
	switch {
	case err == nil && !st.IsDir():
		p.add(key, "%s exists and is not a directory", dir)
	case err == nil:
		if err := unix.Faccessat(unix.AT_FDCWD, dir, unix.W_OK|unix.X_OK, unix.AT_EACCESS); err != nil {
			p.add(key, "%s is not writable by this user (%v); depot writes there as the user it runs as", dir, err)
		}
	case errors.Is(err, fs.ErrNotExist):
		parent := filepath.Dir(dir)
		if st, err := os.Stat(parent); err != nil || !st.IsDir() {
			p.add(key, "%s does not exist, and neither does its parent %s: depot creates only the last element of the path; create %s first, or fix the path", dir, parent, parent)
		} else if err := unix.Faccessat(unix.AT_FDCWD, parent, unix.W_OK|unix.X_OK, unix.AT_EACCESS); err != nil {
			p.add(key, "%s does not exist and cannot be created: %s is not writable by this user (%v); create it with the owner depot runs as", dir, parent, err)
		}
	default:
		p.add(key, "%v", unwrapPath(err))
	}
}

// LookupGroup returns the id of a group given by name or number.
func LookupGroup(name string) (int, error) {
	g, err := user.LookupGroup(name)
	if err != nil {
		if g, err = user.LookupGroupId(name); err != nil {
			return 0, fmt.Errorf("no group %q on this system", name)
		}
	}
	return strconv.Atoi(g.Gid)
}

// maxSocketPath is the longest unix socket path the kernel takes
// (sizeof(sun_path) less the terminating NUL).
const maxSocketPath = 107

func validateListen(p *Problems, key string, l Listen) {
	switch {
	case l.Address == "":
		p.add(key+".address", "missing; use \"host:port\" or \"unix:/path\"")
	case l.IsUnix():
		if path := l.SocketPath(); !filepath.IsAbs(path) {
			p.add(key+".address", "unix socket path %q must be absolute", path)
		} else if len(path) > maxSocketPath {
			p.add(key+".address", "unix socket path %q is %d bytes long; the kernel takes at most %d", path, len(path), maxSocketPath)
		} else if !isDir(filepath.Dir(path)) {
			p.add(key+".address", "directory of %q does not exist; create it first", path)
		}
	default:
		host, port, err := net.SplitHostPort(l.Address)
		if err != nil {
			p.add(key+".address", "%q is not host:port or unix:/path (%v)", l.Address, err)
			break
		}
		if port == "" {
			p.add(key+".address", "%q has no port", l.Address)
		} else if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			p.add(key+".address", "port %q of %q is not a number from 1 to 65535", port, l.Address)
		}
		if host != "" && host != "localhost" {
			if _, err := netip.ParseAddr(host); err != nil {
				p.add(key+".address", "host %q of %q is not an IP address; listen on an address (\"0.0.0.0\", \"::\", \"127.0.0.1\"): depot resolves no name to bind", host, l.Address)
			}
		}
		if l.Onion && !isLoopback(host) {
			p.add(key+".onion", "onion listener %q must be a unix socket or a loopback address, so that only the local tor can reach it", l.Address)
		}
		if l.SocketGroup != "" {
			p.add(key+".socket_group", "only a unix socket has a group; %q is a TCP address", l.Address)
		}
	}
	validateListenTLS(p, key, l)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

func validateSite(p *Problems, key string, s Site) {
	if len(s.Hosts) == 0 {
		p.add(key+".hosts", "missing; list the host names this site answers, or [\"*\"] for any")
	}
	for _, h := range s.Hosts {
		if h == "" || strings.ContainsAny(h, "/ \t") {
			p.add(key+".hosts", "%q is not a host name", h)
		}
	}
	if s.Root == "" {
		p.add(key+".root", "missing; set the directory to serve")
	} else if st, err := os.Stat(s.Root); err != nil {
		p.add(key+".root", "%v; create the directory or fix the path", unwrapPath(err))
	} else if !st.IsDir() {
		p.add(key+".root", "%q is not a directory", s.Root)
	}
	if s.OnionLocation != "" {
		u, err := url.Parse(s.OnionLocation)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Port() != "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			p.add(key+".onion_location", "%q must be http://<address>.onion with no path", s.OnionLocation)
		} else if err := checkOnionHost(u.Hostname()); err != nil {
			p.add(key+".onion_location", "%v", err)
		}
	}
	if s.BaseURL != "" {
		u, err := url.Parse(s.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			p.add(key+".base_url", "%q must be an absolute http or https URL", s.BaseURL)
		}
	}
	if s.Metalinks && s.BaseURL == "" {
		p.add(key+".base_url", "required with metalinks = true: it is the URL every metalink ends with")
	}
	if s.RedirectMinSize < 0 {
		p.add(key+".redirect_min_size", "must not be negative")
	}
	for _, kv := range [][2]string{{"stats_path", s.StatsPath}, {"mirror_status_path", s.MirrorStatusPath}} {
		if kv[1] != "" && (!strings.HasPrefix(kv[1], "/") || !strings.HasSuffix(kv[1], "/") || strings.HasPrefix(kv[1], "//")) {
			// "//host/" would make the redirect from the path without its
			// slash leave the site.
			p.add(key+"."+kv[0], "%q must start and end with a single /", kv[1])
		}
	}
}

// checkOnionHost checks a v3 onion service name: optional subdomains, then
// 56 base32 characters encoding the service's public key (32 bytes), a
// checksum (2) and the version (3), then ".onion" (Tor's rend-spec-v3,
// "Encoding onion addresses").
func checkOnionHost(host string) error {
	host = strings.ToLower(host)
	name, ok := strings.CutSuffix(host, ".onion")
	if !ok {
		return fmt.Errorf("%q is not an onion address (<56 characters>.onion)", host)
	}
	name = name[strings.LastIndexByte(name, '.')+1:]
	if len(name) != 56 {
		return fmt.Errorf("%q is %d characters before .onion; a v3 onion address has 56 (copy it whole from tor's hostname file)", host, len(name))
	}
	raw, err := base32.StdEncoding.DecodeString(strings.ToUpper(name))
	if err != nil || len(raw) != 35 {
		return fmt.Errorf("%q is not base32 (letters a-z and digits 2-7) before .onion", host)
	}
	pub, sum, version := raw[:32], raw[32:34], raw[34]
	h := sha3.New256()
	h.Write([]byte(".onion checksum"))
	h.Write(pub)
	h.Write([]byte{version})
	if version != 3 || !bytes.Equal(h.Sum(nil)[:2], sum) {
		return fmt.Errorf("%q is not a valid v3 onion address (its checksum does not match: a character is wrong); copy it whole from tor's hostname file", host)
	}
	return nil
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Path, pe.Err)
	}
	return err
}

// Package config reads depot's TOML configuration, applies its defaults in
// one place and validates all of it before anything is opened or bound.
//
// It never opens a socket, never writes a file and never starts anything:
// Load and Validate only read, so `depot check` can run them on a live
// configuration safely.
package config

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
)

// Config is the whole configuration. Each field's comment says what its zero
// value means after Load has applied defaults.
type Config struct {
	// LogDir holds access.log, error.log and their rotations.
	// Empty means /var/log/depot.
	LogDir string `toml:"log_dir" example:"/var/log/depot"`
	// DataDir holds state: the statistics data file, mirror state.
	// Empty means /var/lib/depot.
	DataDir string `toml:"data_dir" example:"/var/lib/depot"`
	// RetentionMonths is how many calendar months of logs are kept: the
	// current month and the ones before it up to this count. Absent (0)
	// means 3; written as 0 it is a problem (Validate), since no month
	// would be kept at all.
	RetentionMonths int `toml:"retention_months" example:"3"`
	// LogRotation is "daily" (depot rotates access.log and error.log at
	// 00:00 UTC and compresses them) or "external" (logrotate moves the
	// files and sends SIGHUP; depot only prunes). Empty means "daily".
	LogRotation string `toml:"log_rotation" example:"daily"`
	// Pseudonymise replaces the client address of every log line of a
	// settled month (ended, its statistics computed after it ended, and
	// PseudonymiseAfter passed) by a pseudonym that keeps the statistics
	// exact (docs/pseudonyms.md). false keeps real addresses until
	// retention deletes them.
	Pseudonymise bool `toml:"pseudonymise" example:"true"`
	// PseudonymiseAfter is how long after a month ends its real addresses
	// are kept, so that late exit lists still count. 0 means 168h (7 days);
	// at least 24h.
	PseudonymiseAfter Duration `toml:"pseudonymise_after" example:"168h"`
	// ErrorLogDetail is "full" (error lines name the request line and the
	// Host, as nginx's do) or "minimal" (time, level, client and the
	// reason only: the access log has the rest). Empty means "full".
	ErrorLogDetail string `toml:"error_log_detail" example:"minimal"`
	// SendTimeout is the most time a client may accept no byte of a
	// response (nginx's send_timeout): the HTTP/1 connection, or the
	// HTTP/2 stream, is then closed. A client that accepts bytes, however
	// slowly, is never cut off. Absent (0) means 60s; written, it must be
	// at least 1s.
	SendTimeout Duration `toml:"send_timeout" example:"60s"`
	// MaxResponses caps the responses in flight at once, over every
	// listener; each holds at most one open file. Past it a new request
	// gets 503 with Retry-After, and past half of it a connection that
	// already has a response in flight does (HTTP/2 multiplexes), so that
	// other clients still get through. Absent (0) means 1024; written, it
	// must be at least 1. It is never more than half the process's
	// open-file limit.
	MaxResponses int `toml:"max_responses" example:"1024"`
	// Torrc is tor's configuration file, read (never written) by depot
	// audit to check that every onion service points at an onion
	// listener. Empty means the audit reads it only when given --torrc.
	Torrc string `toml:"torrc" example:"/etc/tor/torrc"`

	Listen  []Listen     `toml:"listen"`
	Site    []Site       `toml:"site"`
	Mirror  []Mirror     `toml:"mirror"`
	Mirrors MirrorChecks `toml:"mirrors"`
	Stats   Stats        `toml:"stats"`
	Proxy   Proxy        `toml:"proxy"`
	ACME    ACME         `toml:"acme"`
	Admin   Admin        `toml:"admin"`

	FileCache FileCache `toml:"file_cache"`

	// Path is the file the configuration came from ("" for the embedded
	// demo). Relative paths inside the file are resolved against its
	// directory.
	Path string `toml:"-"`

	retentionZero    bool // retention_months = 0 was written
	maxResponsesZero bool // max_responses = 0 was written
	sendTimeoutZero  bool // send_timeout = "0s" was written
}

// Listen is one listener.
type Listen struct {
	// Address is "host:port" or "unix:/absolute/path".
	Address string `toml:"address" example:"0.0.0.0:443"`
	// TLSCert and TLSKey are PEM files; set both for HTTPS (with HTTP/2) or
	// neither for plain HTTP. SIGHUP reads them again.
	TLSCert string `toml:"tls_cert" example:"/etc/depot/cert.pem"`
	TLSKey  string `toml:"tls_key" example:"/etc/depot/key.pem"`
	// ACME makes the listener serve HTTPS with certificates obtained and
	// renewed by ACME (see [acme]) for the host names of every site, instead
	// of files. false (the default) never contacts a CA.
	ACME bool `toml:"acme" example:"true"`
	// RedirectHTTPS, on a plain clearnet listener, answers every request
	// with a 301 to the same URL over HTTPS, except ACME HTTP-01 challenges.
	RedirectHTTPS bool `toml:"redirect_https" example:"true"`
	// HSTSMaxAge is the max-age, in seconds, of the Strict-Transport-Security
	// header on every response of a TLS listener. Unset means 63072000 (two
	// years); 0 sends max-age=0, which tells browsers to forget the policy
	// (RFC 6797, section 6.1.1).
	HSTSMaxAge *int64 `toml:"hsts_max_age" example:"63072000"`
	// SessionTickets, on a TLS listener, lets clients resume sessions with
	// tickets whose keys are rotated every 12 hours. Unset means true; false
	// turns resumption off, so that no two connections of a visitor can be
	// linked by it (Tor Browser refuses resumption for the same reason).
	// (Unlike depot's other booleans it defaults to true: the key is named
	// for what operators turn off.)
	SessionTickets *bool `toml:"session_tickets" example:"false"`
	// Onion marks a listener that Tor's onion service forwards to. Nothing
	// about its requests is ever logged. It must be a unix socket or a
	// loopback address.
	Onion bool `toml:"onion" example:"true"`
	// SocketGroup is the group of a unix socket, whose mode is 0660: the
	// group that lets the local tor connect (e.g. "debian-tor"; depot's
	// user must be a member). Empty means depot's own group.
	SocketGroup string `toml:"socket_group" example:"debian-tor"`
}

// IsUnix reports whether the listener is a unix socket.
func (l Listen) IsUnix() bool { return strings.HasPrefix(l.Address, "unix:") }

// SocketPath is the unix socket path of a unix listener.
func (l Listen) SocketPath() string { return strings.TrimPrefix(l.Address, "unix:") }

// TLS reports whether the listener serves HTTPS.
func (l Listen) TLS() bool { return l.TLSCert != "" || l.ACME }

// HSTS is the Strict-Transport-Security value of a TLS listener's
// responses ("" for a plain listener).
func (l Listen) HSTS() string {
	if !l.TLS() {
		return ""
	}
	age := DefaultHSTSMaxAge
	if l.HSTSMaxAge != nil {
		age = *l.HSTSMaxAge
	}
	return "max-age=" + strconv.FormatInt(age, 10)
}

// Tickets reports whether a TLS listener issues session tickets.
func (l Listen) Tickets() bool { return l.SessionTickets == nil || *l.SessionTickets }

// Equal reports whether l and o are the same listener with the same
// settings (comparing what the pointers point to).
func (l Listen) Equal(o Listen) bool {
	return l.Address == o.Address && l.TLSCert == o.TLSCert && l.TLSKey == o.TLSKey &&
		l.ACME == o.ACME && l.RedirectHTTPS == o.RedirectHTTPS && l.Onion == o.Onion &&
		l.HSTS() == o.HSTS() && l.Tickets() == o.Tickets()
}

// Site is one virtual host.
type Site struct {
	// Hosts are the Host header values this site answers; "*" matches any.
	Hosts []string `toml:"hosts" example:"www.example.org"`
	// Root is the directory served. Nothing outside it is ever served.
	Root string `toml:"root" example:"/srv/www"`
	// OnionLocation is the site's onion address ("http://<56>.onion"); when
	// set, clearnet HTML responses carry an Onion-Location header.
	OnionLocation string `toml:"onion_location" example:"http://2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion"`
	// Autoindex serves an HTML listing (no JavaScript) for directories
	// without index.html.
	Autoindex bool `toml:"autoindex" example:"true"`
	// BaseURL is the site's public address, the last resort of metalinks.
	BaseURL string `toml:"base_url" example:"https://yum.example.org/"`
	// OnionBaseURL is the site's address on its onion service
	// ("http://<56>.onion/repo/"), the last resort of metalinks answered
	// on onion listeners. Empty means onion answers have no last resort:
	// they never name a clearnet address.
	OnionBaseURL string `toml:"onion_base_url" example:"http://2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion/"`
	// Metalinks serves repomd.xml.metalink next to every repodata/repomd.xml.
	Metalinks bool `toml:"metalinks" example:"true"`
	// Redirect sends files of at least RedirectMinSize to a mirror verified
	// to hold them.
	Redirect        bool `toml:"redirect" example:"true"`
	RedirectMinSize Size `toml:"redirect_min_size" example:"1MiB"`
	// StatsPath, when set, publishes the statistics page, data file and
	// chart under this URL path of the site (e.g. "/statistics/").
	StatsPath string `toml:"stats_path" example:"/statistics/"`
	// MirrorStatusPath, when set, publishes the mirror status page and its
	// JSON under this URL path of the site (e.g. "/mirrors/").
	MirrorStatusPath string `toml:"mirror_status_path" example:"/mirrors/"`
	// ACME gets the site's host names certificates by ACME (see [acme]) on
	// every TLS listener, including those with certificate files, which
	// keep serving their file to other names. false (the default) never
	// contacts a CA for this site.
	ACME bool `toml:"acme" example:"true"`
	// LogNotFound writes an error-log line for each request answered 404,
	// as nginx's log_not_found does. Unset means true; false leaves 404s
	// to the access log. (Unlike depot's other booleans it defaults to
	// true: the key is nginx's, named for what operators turn off.)
	LogNotFound *bool `toml:"log_not_found" example:"false"`
}

// Defaults.
const (
	DefaultLogDir          = "/var/log/depot"
	DefaultDataDir         = "/var/lib/depot"
	DefaultRetentionMonths = 3
	DefaultRedirectMinSize = Size(1 << 20)
	DefaultHSTSMaxAge      = int64(63072000) // two years, as Mozilla's profiles set it
	DefaultSendTimeout     = Duration(60 * time.Second)
	DefaultMaxResponses    = 1024
	// DefaultPseudonymiseAfter is 7 days.
	DefaultPseudonymiseAfter = Duration(7 * 24 * time.Hour)

	RotationDaily    = "daily"
	RotationExternal = "external"

	ErrorLogFull    = "full"
	ErrorLogMinimal = "minimal"
)

// Load reads, decodes strictly and validates the file at path. The error
// names the file, the key and what to do; it lists every problem found.
func Load(path string) (*Config, error) {
	c, err := readFile(path)
	if err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// LoadServe is Load with ValidateServe: for depot serve, which also needs
// this machine to let it read the roots and create its directories.
func LoadServe(path string) (*Config, error) {
	c, err := readFile(path)
	if err != nil {
		return nil, err
	}
	if err := c.ValidateServe(); err != nil {
		return nil, err
	}
	return c, nil
}

// LoadProxy is Load with ValidateProxy: for depot proxy, whose file needs
// only a [proxy] table.
func LoadProxy(path string) (*Config, error) {
	c, err := readFile(path)
	if err != nil {
		return nil, err
	}
	if err := c.ValidateProxy(); err != nil {
		return nil, err
	}
	return c, nil
}

// LoadCheck validates the file at path as depot check does: as depot
// serve reads it (LoadServe) or, when it holds a [proxy] table and no
// [[listen]] or [[site]], as depot proxy reads it (LoadProxy, and
// proxyOnly is true).
func LoadCheck(path string) (c *Config, proxyOnly bool, err error) {
	if c, err = readFile(path); err != nil {
		return nil, false, err
	}
	proxyOnly = len(c.Listen) == 0 && len(c.Site) == 0 && c.Proxy.Enabled()
	if proxyOnly {
		err = c.ValidateProxy()
	} else {
		err = c.ValidateServe()
	}
	if err != nil {
		return nil, false, err
	}
	return c, proxyOnly, nil
}

// readFile reads and parses the file at path, without validating it.
func readFile(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading configuration: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes data strictly (unknown keys are errors), resolves relative
// paths against path's directory and applies defaults. It does not validate.
func Parse(path string, data []byte) (*Config, error) {
	var c Config
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, decodeError(path, err)
	}
	// The same document as maps, for what the struct cannot tell: a
	// duration written as a number, a key set to its zero value.
	var raw map[string]any
	if err := toml.Unmarshal(data, &raw); err != nil {
		return nil, decodeError(path, err)
	}
	if err := checkDurations(path, raw); err != nil {
		return nil, err
	}
	if v, ok := raw["retention_months"]; ok && v == int64(0) {
		c.retentionZero = true
	}
	if v, ok := raw["max_responses"]; ok && v == int64(0) {
		c.maxResponsesZero = true
	}
	if _, ok := raw["send_timeout"]; ok && c.SendTimeout == 0 {
		c.sendTimeoutZero = true
	}
	c.Path = path
	c.resolvePaths(filepath.Dir(path))
	c.applyDefaults()
	return &c, nil
}

func (c *Config) resolvePaths(dir string) {
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	abs(&c.LogDir)
	abs(&c.DataDir)
	abs(&c.Torrc)
	for i := range c.Listen {
		abs(&c.Listen[i].TLSCert)
		abs(&c.Listen[i].TLSKey)
	}
	for i := range c.Site {
		abs(&c.Site[i].Root)
	}
	c.Stats.resolvePaths(abs)
	abs(&c.ACME.CARoot)
}

// applyDefaults is the one place where zero values get their meaning.
func (c *Config) applyDefaults() {
	if c.LogDir == "" {
		c.LogDir = DefaultLogDir
	}
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	}
	if c.RetentionMonths == 0 {
		c.RetentionMonths = DefaultRetentionMonths
	}
	if c.LogRotation == "" {
		c.LogRotation = RotationDaily
	}
	if c.SendTimeout == 0 {
		c.SendTimeout = DefaultSendTimeout
	}
	if c.MaxResponses == 0 {
		c.MaxResponses = DefaultMaxResponses
	}
	if c.ErrorLogDetail == "" {
		c.ErrorLogDetail = ErrorLogFull
	}
	if c.PseudonymiseAfter == 0 {
		c.PseudonymiseAfter = DefaultPseudonymiseAfter
	}
	for i := range c.Site {
		if c.Site[i].RedirectMinSize == 0 {
			c.Site[i].RedirectMinSize = DefaultRedirectMinSize
		}
	}
	c.normalizeMirrors()
	c.Stats.applyDefaults(c)
	c.Proxy.applyDefaults()
	c.ACME.applyDefaults()
	c.FileCache.applyDefaults()
}

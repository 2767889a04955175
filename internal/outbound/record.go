package outbound

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"depot/internal/atomicfile"
)

// Purpose says why depot connects somewhere. Every connection has one.
type Purpose string

// The purposes. DNS is never dialled by name: it is recorded for the
// system resolver whenever another purpose dials a host name directly.
const (
	MirrorCheck   Purpose = "mirror-check"   // [[mirror]] freshness checks
	MirrorState   Purpose = "mirror-state"   // [mirrors] state_from: the checking node's results
	ExitLists     Purpose = "exit-lists"     // stats --fetch from CollecTor
	ProxyUpstream Purpose = "proxy-upstream" // the updates proxy's SOCKS server (tor)
	ProxyDirect   Purpose = "proxy-direct"   // the updates proxy without upstream
	ACME          Purpose = "acme"           // certificate issuance
	DNS           Purpose = "dns"            // the system resolver, for the above
)

var purposes = []Purpose{MirrorCheck, MirrorState, ExitLists, ProxyUpstream, ProxyDirect, ACME, DNS}

// Valid reports whether p is one of the purposes above.
func (p Purpose) Valid() bool { return slices.Contains(purposes, p) }

// dayOnly are the purposes whose times are kept to the day: the updates
// proxy's, which must not say when its clients updated.
func (p Purpose) dayOnly() bool { return p == ProxyUpstream || p == ProxyDirect }

// FileName is the record's name in data_dir.
const FileName = "outbound.json"

// Path is the record file of a data directory.
func Path(dataDir string) string { return filepath.Join(dataDir, FileName) }

// Version is the record file format's version.
const Version = 1

// Resolver values of a File.
const (
	ResolverLocal = "local" // host names were resolved on this machine
	ResolverNone  = "none"  // no name was: only IP addresses, or names handed to a SOCKS server
)

// File is the content of outbound.json:
//
//	{"version":1,
//	 "destinations":[{"host":"mirror.example.net","port":"443","purpose":"mirror-check",
//	                  "first":"2026-11-01T00:00:00Z","last":"2026-11-29T06:15:00Z","count":12}],
//	 "resolver":"local"}
//
// Destinations are sorted by purpose, host and port. When Resolver is
// "local" the system resolvers (from /etc/resolv.conf) are destinations
// with purpose "dns" and port "53"; when it is "none" there are none.
type File struct {
	Version      int           `json:"version"`
	Destinations []Destination `json:"destinations"`
	Resolver     string        `json:"resolver"`
}

// Destination is one host, port and purpose that depot connected to.
// Host is a lower-case name or an IP address (IPv6 without brackets), as
// depot dialled it. Count is the number of connections opened (for "dns",
// of host names resolved). First and Last are UTC, to the second, or to
// the day for the updates proxy's purposes.
type Destination struct {
	Host    string    `json:"host"`
	Port    string    `json:"port"`
	Purpose Purpose   `json:"purpose"`
	First   time.Time `json:"first"`
	Last    time.Time `json:"last"`
	Count   int64     `json:"count"`
}

// Expiry is how long a destination stays in the file after it was last
// contacted: a mirror removed from the configuration leaves the record
// after this.
const Expiry = 90 * 24 * time.Hour

// maxFileSize bounds what ReadRecord accepts.
const maxFileSize = 16 << 20

// ReadRecord reads a record file. A missing file is an error for which
// errors.Is(err, fs.ErrNotExist) holds: depot serve has not run with this
// data_dir (it writes the file at start). The file is opened without
// following a symlink.
func ReadRecord(path string) (*File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, fmt.Errorf("outbound record: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("outbound record %s: %w", path, err)
	}
	if len(b) > maxFileSize {
		return nil, fmt.Errorf("outbound record %s: larger than %d bytes; it is not depot's", path, maxFileSize)
	}
	return parseFile(path, b)
}

func parseFile(path string, b []byte) (*File, error) {
	var out File
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("outbound record %s: %w (delete it; depot serve writes a new one)", path, err)
	}
	if out.Version != Version {
		return nil, fmt.Errorf("outbound record %s: version %d, this depot reads version %d", path, out.Version, Version)
	}
	if out.Resolver != ResolverLocal && out.Resolver != ResolverNone {
		return nil, fmt.Errorf("outbound record %s: resolver %q, want %q or %q", path, out.Resolver, ResolverLocal, ResolverNone)
	}
	return &out, nil
}

// RecordOptions are a Record's dependencies; the zero value is valid.
type RecordOptions struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// ResolvConf is read for the system resolvers when a host name is
	// dialled directly; "" means /etc/resolv.conf.
	ResolvConf string
}

// Record collects the destinations depot connects to and merges them into
// the record file. A nil *Record records nothing. Its methods are safe for
// concurrent use.
type Record struct {
	opts RecordOptions

	mu      sync.Mutex
	pending map[key]*Destination // since the last successful flush
	lastErr string               // what Keep reported last
}

type key struct {
	host, port string
	purpose    Purpose
}

// NewRecord returns an empty Record.
func NewRecord(opts RecordOptions) *Record {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ResolvConf == "" {
		opts.ResolvConf = "/etc/resolv.conf"
	}
	return &Record{opts: opts, pending: map[key]*Destination{}}
}

// note records a connection to host:port for p; named says that the
// host is a name this machine resolves, which records the system
// resolvers too.
func (r *Record) note(host, port string, p Purpose, named bool) {
	if r == nil {
		return
	}
	t := r.opts.Now().UTC().Truncate(time.Second)
	if p.dayOnly() {
		t = t.Truncate(24 * time.Hour)
	}
	var servers []string
	if named {
		servers = Resolvers(r.opts.ResolvConf)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.add(key{normalHost(host), port, p}, t)
	for _, s := range servers {
		r.add(key{s, "53", DNS}, t)
	}
}

func (r *Record) add(k key, t time.Time) {
	d := r.pending[k]
	if d == nil {
		d = &Destination{Host: k.host, Port: k.port, Purpose: k.purpose, First: t}
		r.pending[k] = d
	}
	d.First = minTime(d.First, t)
	d.Last = maxTime(d.Last, t)
	d.Count++
}

func normalHost(h string) string {
	h = strings.TrimSuffix(strings.ToLower(h), ".")
	if a, err := netip.ParseAddr(h); err == nil {
		return a.String()
	}
	return h
}

// Resolvers are the name servers of a resolv.conf, or Go's defaults
// (127.0.0.1 and ::1) when it names none: the addresses a lookup on this
// machine contacts, as a Destination's Host spells them.
func Resolvers(path string) []string {
	var out []string
	if f, err := os.Open(path); err == nil {
		sc := bufio.NewScanner(io.LimitReader(f, 1<<20))
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 2 || fields[0] != "nameserver" {
				continue
			}
			if a, err := netip.ParseAddr(fields[1]); err == nil {
				out = append(out, a.WithZone("").String())
			}
		}
		f.Close()
	}
	if len(out) == 0 {
		out = []string{"127.0.0.1", "::1"}
	}
	return out
}

// Pending returns what was recorded since the last successful flush, as
// it would be merged into the file.
func (r *Record) Pending() []Destination {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Destination, 0, len(r.pending))
	for _, d := range r.pending {
		out = append(out, *d)
	}
	sortDestinations(out)
	return out
}

// Flush merges what was recorded since the last flush into the record
// file at path (counts added, first and last widened), drops destinations
// not contacted for Expiry, and replaces the file atomically. It does
// nothing when nothing was recorded. Processes that flush into the same
// file at once (depot serve and a cron `depot stats update --fetch`) are
// serialised by a lock on its directory, so none loses the other's
// entries. On an error what was recorded is kept for the next Flush.
func (r *Record) Flush(path string) error {
	return r.flush(path, false)
}

func (r *Record) flush(path string, always bool) error {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	pending := r.pending
	r.pending = map[key]*Destination{}
	r.mu.Unlock()
	if len(pending) == 0 && !always {
		return nil
	}
	err := merge(path, pending, r.opts.Now())
	if err != nil && !errors.Is(err, errReplaced) {
		r.mu.Lock()
		for k, d := range pending {
			if cur := r.pending[k]; cur != nil {
				d.First, d.Last = minTime(d.First, cur.First), maxTime(d.Last, cur.Last)
				d.Count += cur.Count
			}
			r.pending[k] = d
		}
		r.mu.Unlock()
	}
	return err
}

// FlushEvery is how often Keep writes the record when it changed.
const FlushEvery = 5 * time.Second

// Keep writes the record file at path: at once if it does not exist yet
// (so that an empty record says depot ran and contacted nobody), then
// every interval (FlushEvery if 0) when something was recorded, and a last
// time when ctx is done. An error goes to report (when not nil) once, not
// again until it changes.
func (r *Record) Keep(ctx context.Context, path string, interval time.Duration, report func(error)) {
	if r == nil {
		return
	}
	if interval <= 0 {
		interval = FlushEvery
	}
	_, statErr := os.Lstat(path)
	r.reportOnce(report, r.flush(path, errors.Is(statErr, fs.ErrNotExist)))
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			r.reportOnce(report, r.Flush(path))
			return
		case <-t.C:
			r.reportOnce(report, r.Flush(path))
		}
	}
}

func (r *Record) reportOnce(report func(error), err error) {
	r.mu.Lock()
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	again := msg == r.lastErr
	r.lastErr = msg
	r.mu.Unlock()
	if err != nil && !again && report != nil {
		report(err)
	}
}

// errReplaced marks a flush that wrote the file after discarding an
// unreadable one: the pending entries are in it, the old ones are lost.
var errReplaced = errors.New("replaced")

// merge adds pending to the file at path under the directory's lock.
func merge(path string, pending map[key]*Destination, now time.Time) (err error) {
	dir := filepath.Dir(path)
	if err := atomicfile.MakeDir(dir, 0o755); err != nil { // data_dir: its last element only
		return fmt.Errorf("outbound record: %w", err)
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return fmt.Errorf("outbound record: locking %s: %w", dir, err)
	}
	defer unlock()

	var replaced error
	cur, rerr := ReadRecord(path)
	switch {
	case rerr == nil:
	case errors.Is(rerr, fs.ErrNotExist):
		cur = &File{Version: Version}
	default:
		replaced = fmt.Errorf("%w; it was %w by a new record: the destinations recorded before are lost", rerr, errReplaced)
		cur = &File{Version: Version}
	}
	byKey := make(map[key]*Destination, len(cur.Destinations)+len(pending))
	for i := range cur.Destinations {
		d := &cur.Destinations[i]
		byKey[key{d.Host, d.Port, d.Purpose}] = d
	}
	for k, p := range pending {
		if d := byKey[k]; d != nil {
			d.First, d.Last = minTime(d.First, p.First), maxTime(d.Last, p.Last)
			d.Count += p.Count
		} else {
			byKey[k] = p
		}
	}
	out := File{Version: Version, Destinations: []Destination{}, Resolver: ResolverNone}
	cutoff := now.Add(-Expiry)
	for _, d := range byKey {
		if d.Last.Before(cutoff) {
			continue
		}
		if d.Purpose == DNS {
			out.Resolver = ResolverLocal
		}
		out.Destinations = append(out.Destinations, *d)
	}
	sortDestinations(out.Destinations)
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(path, 0o644, append(b, '\n')); err != nil {
		return fmt.Errorf("outbound record: %w", err)
	}
	return replaced
}

// lockDir takes an exclusive flock on dir itself, so no lock file is ever
// left behind.
func lockDir(dir string) (func(), error) {
	d, err := os.OpenFile(dir, os.O_RDONLY|syscall.O_DIRECTORY, 0)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(d.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		d.Close()
		return nil, err
	}
	return func() {
		syscall.Flock(int(d.Fd()), syscall.LOCK_UN)
		d.Close()
	}, nil
}

func sortDestinations(ds []Destination) {
	slices.SortFunc(ds, func(a, b Destination) int {
		return cmp.Or(cmp.Compare(a.Purpose, b.Purpose), cmp.Compare(a.Host, b.Host), cmp.Compare(a.Port, b.Port))
	})
}

func minTime(a, b time.Time) time.Time {
	if a.IsZero() || !b.IsZero() && b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// splitHostPort splits a dialled address for the record.
func splitHostPort(address string) (host, port string, err error) {
	host, port, err = net.SplitHostPort(address)
	if err != nil {
		return "", "", fmt.Errorf("outbound: %q is not host:port: %w", address, err)
	}
	return host, port, nil
}

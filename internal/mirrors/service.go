package mirrors

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"depot/internal/config"
	"depot/internal/docroot"
	"depot/internal/outbound"
)

// Options tune a Service. Each zero value means the default named.
type Options struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Interval is the time between check rounds of Run; 0 means 15 minutes.
	Interval time.Duration
	// Timeout bounds one mirror's whole check (every file of it); all
	// mirrors are checked at once, so a round takes at most about this
	// long. 0 means 30 seconds.
	Timeout time.Duration
	// Window is how long a superseded version stays an alternate in
	// metalinks and makes a mirror that holds it "behind" rather than
	// "stale"; 0 means 48 hours.
	Window time.Duration
	// MaxVersions and MaxAge bound each file's history; 0 means 16
	// versions and 7 days (never less than Window).
	MaxVersions int
	MaxAge      time.Duration
	// Client makes the checks' requests; nil means outbound's client for
	// "mirror-check", which records each mirror contacted in Outbound,
	// uses no proxy and follows redirects only within a mirror's host.
	Client *http.Client
	// StateClient fetches [mirrors] state_from on a follower; nil means
	// outbound's client for "mirror-state" (through state_via when set),
	// which follows redirects only within the host.
	StateClient *http.Client
	// Outbound receives the default clients' destinations; nil records
	// nothing.
	Outbound *outbound.Record
	// Generator names depot in metalinks; "" means "depot".
	Generator string
	// MaxHashes is how many origin files are hashed at once; 0 means
	// DefaultMaxHashes(). HashWait is how long a request waits for a
	// hashing slot before it gets 503 with Retry-After; 0 means
	// DefaultHashWait.
	MaxHashes int
	HashWait  time.Duration
	// Warn is told of what goes wrong without stopping the Service: a
	// state file that cannot be decoded, moved aside so that the Service
	// starts from an empty state. nil discards such warnings.
	Warn func(error)
}

func (o *Options) applyDefaults() {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Interval == 0 {
		o.Interval = 15 * time.Minute
	}
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	if o.Window == 0 {
		o.Window = 48 * time.Hour
	}
	if o.MaxVersions == 0 {
		o.MaxVersions = 16
	}
	if o.MaxAge == 0 {
		o.MaxAge = 7 * 24 * time.Hour
	}
	o.MaxAge = max(o.MaxAge, o.Window)
	if o.Client == nil {
		o.Client = newClient(o.Timeout, o.Outbound)
	}
	if o.Generator == "" {
		o.Generator = "depot"
	}
	if o.MaxHashes <= 0 {
		o.MaxHashes = DefaultMaxHashes()
	}
	if o.HashWait <= 0 {
		o.HashWait = DefaultHashWait
	}
	if o.Warn == nil {
		o.Warn = func(error) {}
	}
}

// Service holds the mirror registry and state of one depot. Its methods
// are safe for concurrent use.
type Service struct {
	opts Options
	file string // state.json

	mu      sync.Mutex
	cfg     *config.Config
	state   *State
	dirty   bool                     // state changed since the last save
	roots   map[string]*docroot.Root // opened site roots, by path; followed when replaced
	round   sync.Mutex               // one check round at a time
	gen     atomic.Uint64            // bumped on every state change; caches key on it
	caches  cacheSet
	hashes  *hashes
	counter atomic.Uint64 // spreads redirects over equally good mirrors
	last    Round         // the last completed round, guarded by mu
	expires atomic.Int64  // Unix ns when a follower's results next age out; 0: never
}

// StateFile is where a configuration's mirror state lives.
func StateFile(cfg *config.Config) string {
	return filepath.Join(cfg.DataDir, "mirrors", "state.json")
}

// New loads the state of a validated configuration. It connects nowhere
// and starts nothing. An error (a state file that cannot be read) means no
// Service. A state file that is read but cannot be decoded is moved aside
// and reported to Options.Warn: New then returns a Service with an empty
// state, as on a first start.
func New(cfg *config.Config, opts Options) (*Service, error) {
	opts.applyDefaults()
	st, err := loadState(StateFile(cfg), opts.Warn)
	if err != nil {
		return nil, err
	}
	s := &Service{opts: opts, file: StateFile(cfg), cfg: cfg, roots: map[string]*docroot.Root{},
		hashes: newHashes(opts.MaxHashes, opts.HashWait), state: st}
	s.caches.init()
	s.expires.Store(s.nextExpiry(opts.Now()))
	return s, nil
}

// Reload switches to a new configuration's mirrors and sites. What the
// checks learned is kept for mirrors that stay at the same URL; a mirror
// whose URL changed is forgotten, so it is not used before it is checked.
func (s *Service) Reload(cfg *config.Config) {
	s.mu.Lock()
	urls := map[string]string{}
	for _, m := range s.cfg.Mirror {
		urls[m.Name] = m.URL
	}
	for _, m := range cfg.Mirror {
		if u, ok := urls[m.Name]; ok && u != m.URL {
			delete(s.state.Mirrors, m.Name)
			s.dirty = true
		}
	}
	s.cfg = cfg
	s.expires.Store(s.nextExpiry(s.opts.Now()))
	// The roots are opened again from the new configuration's paths; the
	// old ones stay open a while for requests in flight.
	old := s.roots
	s.roots = map[string]*docroot.Root{}
	s.mu.Unlock()
	s.changed()
	if len(old) > 0 {
		time.AfterFunc(rootGrace, func() {
			for _, r := range old {
				r.Close()
			}
		})
	}
}

// rootGrace is how long a root dropped on reload stays open for the
// requests that already hold it.
const rootGrace = 30 * time.Second

// changed invalidates every cached response.
func (s *Service) changed() { s.gen.Add(1) }

// Close saves the state if it changed and closes the opened roots.
func (s *Service) Close() error {
	err := s.Save()
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, r := range s.roots {
		r.Close()
		delete(s.roots, k)
	}
	return err
}

// Save writes the state if it changed since the last save.
func (s *Service) Save() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.dirty {
		return nil
	}
	if err := s.state.save(s.file); err != nil {
		return err
	}
	s.dirty = false
	return nil
}

// Run checks every mirror now and then every Interval (on a follower,
// fetches the checking node's results instead, timed by nextSync), and
// saves changes made between rounds (new origin versions seen by
// responders) every minute, until ctx is done. Errors go to report, which
// may be nil.
func (s *Service) Run(ctx context.Context, report func(error)) {
	if report == nil {
		report = func(error) {}
	}
	save := time.NewTicker(time.Minute)
	defer save.Stop()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			if err := s.Save(); err != nil {
				report(err)
			}
			return
		case <-save.C:
			if err := s.Save(); err != nil {
				report(err)
			}
		case <-timer.C:
			s.mu.Lock()
			checker := s.cfg.Mirrors.IsChecker()
			s.mu.Unlock()
			next := s.opts.Interval
			var err error
			if checker {
				_, err = s.Check(ctx)
			} else {
				var rd Round
				rd, err = s.Sync(ctx)
				next = nextSync(s.opts.Now(), rd.Ended, s.opts.Interval, s.opts.Timeout)
			}
			if err != nil && !errors.Is(err, context.Canceled) {
				report(err)
			}
			timer.Reset(next)
		}
	}
}

// root returns the opened root of a site directory. It follows the
// directory when it is replaced (a swapped tree, a flipped symlink).
func (s *Service) root(dir string) (*docroot.Root, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.roots[dir]; ok {
		return r, nil
	}
	r, err := docroot.Open(dir, s.opts.Now)
	if err != nil {
		return nil, err
	}
	s.roots[dir] = r
	return r, nil
}

// treeRoots are the site roots that make up the mirrored tree: those of
// sites with metalinks or redirects, or every site if none has them.
func treeRoots(cfg *config.Config) []string {
	var roots, all []string
	for _, site := range cfg.Site {
		all = append(all, site.Root)
		if site.Metalinks || site.Redirect {
			roots = append(roots, site.Root)
		}
	}
	if len(roots) == 0 {
		return all
	}
	return roots
}

// refresh makes sure the state holds the current version of tree path
// name found in root, hashing the file again only if its size, mtime or
// inode changed. Concurrent callers for the same version share one hash
// (see hashes), which runs outside the lock, so a large image does not
// stall other requests.
func (s *Service) refresh(root, name, kind string) (*OriginFile, error) {
	r, err := s.root(root)
	if err != nil {
		return nil, err
	}
	fi, err := r.Stat(filepath.FromSlash(name))
	if err != nil {
		return nil, err
	}
	if f := s.hashed(root, name, fi); f != nil {
		return f, nil
	}
	err = s.hashes.do(versionKey(root, name, fi), func() error {
		if s.hashed(root, name, fi) != nil {
			return nil // hashed by a run that ended as this one began
		}
		v, hfi, err := hashFile(r, name, kind)
		if err != nil {
			return err
		}
		now := s.opts.Now()
		s.mu.Lock()
		defer s.mu.Unlock()
		f := s.state.Files[name]
		if f == nil || f.Root != root {
			f = &OriginFile{Kind: kind, Root: root}
			s.state.Files[name] = f
		}
		f.ModTime, f.Size, f.Inode = hfi.ModTime(), hfi.Size(), inode(hfi)
		f.record(v, now, s.opts.MaxVersions, s.opts.MaxAge)
		s.dirty = true
		s.changed()
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.state.Files[name]
	if f == nil || len(f.Versions) == 0 {
		return nil, fmt.Errorf("%s: not hashed", name) // removed from the state meanwhile
	}
	return f, nil
}

// hashed returns the state's file if it holds the version fi describes.
func (s *Service) hashed(root, name string, fi os.FileInfo) *OriginFile {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.state.Files[name]
	if f != nil && f.Root == root && f.Size == fi.Size() && f.ModTime.Equal(fi.ModTime()) && f.Inode == inode(fi) && len(f.Versions) > 0 {
		return f
	}
	return nil
}

// Errors that are not a mirror's fault.
var errNoMirrors = errors.New("no [[mirror]] configured")

// Round is the outcome of one check round.
type Round struct {
	Started, Ended time.Time
	Files          int // origin files checked for
	Mirrors        int
	Failed         []string // mirrors with at least one failed check
}

// LastRound is the last completed check round (zero before the first).
func (s *Service) LastRound() Round {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// begin starts a round (Check or Sync, with s.round held): the
// configuration it uses and its record.
func (s *Service) begin() (*config.Config, Round) {
	s.mu.Lock()
	cfg := s.cfg
	s.mu.Unlock()
	return cfg, Round{Started: s.opts.Now(), Mirrors: len(cfg.Mirror)}
}

// Check runs one round: it scans the origin, hashes what changed, checks
// every mirror for every file it should hold, all mirrors at once and each
// within Timeout, then applies and saves the results. If ctx ends first,
// nothing of the round is applied: an incomplete round never makes a
// mirror trusted.
func (s *Service) Check(ctx context.Context) (Round, error) {
	s.round.Lock()
	defer s.round.Unlock()
	cfg, rd := s.begin()
	if len(cfg.Mirror) == 0 {
		return rd, errNoMirrors
	}
	if !cfg.Mirrors.IsChecker() {
		return rd, fmt.Errorf("this node takes the mirror state from %s (mirrors.checker = false); the checking node checks the mirrors", cfg.Mirrors.StateFrom)
	}
	jobs, errs, err := s.scanOrigin(cfg)
	if err != nil {
		return rd, err
	}
	rd.Files = len(jobs)

	results := make([]map[string]*Result, len(cfg.Mirror))
	var wg sync.WaitGroup
	for i, m := range cfg.Mirror {
		var mine []job
		for _, j := range jobs {
			if m.Carries(j.kind) && m.Holds(j.name) {
				mine = append(mine, j)
			}
		}
		wg.Go(func() {
			mctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
			defer cancel()
			results[i] = checkMirror(mctx, s.opts.Client, m, mine, s.opts.Now)
		})
	}
	wg.Wait()
	// Connections are not kept from one round to the next, minutes later.
	s.opts.Client.CloseIdleConnections()
	if err := ctx.Err(); err != nil {
		return rd, err
	}
	rd.Ended = s.opts.Now()

	s.mu.Lock()
	s.apply(cfg, jobs, results, rd.Ended, &rd)
	s.dirty = true
	s.last = rd
	s.mu.Unlock()
	s.changed()
	if err := s.Save(); err != nil {
		errs = append(errs, err)
	}
	return rd, errors.Join(errs...)
}

// scanOrigin scans the origin tree and hashes what changed, and returns a
// job per origin file, the files that could not be hashed, and an error
// if the tree could not be scanned at all.
func (s *Service) scanOrigin(cfg *config.Config) ([]job, []error, error) {
	found, err := scanRoots(treeRoots(cfg))
	if err != nil {
		return nil, nil, err
	}
	var jobs []job
	var errs []error
	for _, sc := range found {
		f, err := s.refresh(sc.root, sc.name, sc.kind)
		if err != nil {
			errs = append(errs, fmt.Errorf("origin file %s: %w", sc.name, err))
			continue
		}
		s.mu.Lock()
		j := job{name: sc.name, kind: sc.kind, want: f.Versions[0]}
		for _, v := range f.Versions {
			j.max = max(j.max, v.Size)
		}
		s.mu.Unlock()
		jobs = append(jobs, j)
	}
	return jobs, errs, nil
}

// keepFiles drops the state of origin files that are no longer present
// and returns the present ones by name. Called with s.mu held.
func (s *Service) keepFiles(jobs []job) map[string]job {
	present := make(map[string]job, len(jobs))
	for _, j := range jobs {
		present[j.name] = j
	}
	for name := range s.state.Files {
		if _, ok := present[name]; !ok {
			delete(s.state.Files, name)
		}
	}
	return present
}

// apply stores a completed round's results and prunes what is no longer
// configured or present. Called with s.mu held.
func (s *Service) apply(cfg *config.Config, jobs []job, results []map[string]*Result, end time.Time, rd *Round) {
	s.keepFiles(jobs)
	s.state.From = nil // these results are this node's own
	configured := map[string]bool{}
	for i, m := range cfg.Mirror {
		configured[m.Name] = true
		ms := s.state.Mirrors[m.Name]
		if ms == nil {
			ms = &MirrorState{}
			s.state.Mirrors[m.Name] = ms
		}
		old := ms.Files
		ms.Files = results[i]
		good := true
		for name, r := range ms.Files {
			if r.Down {
				good = false
				if prev := old[name]; prev != nil {
					r.OK = prev.OK // keep "last success" across failures
				}
			}
		}
		ms.LastRound = end
		ms.Trusted = good
		if good {
			ms.LastGood = end
		} else {
			rd.Failed = append(rd.Failed, m.Name)
		}
	}
	for name := range s.state.Mirrors {
		if !configured[name] {
			delete(s.state.Mirrors, name)
		}
	}
}

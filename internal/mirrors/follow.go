package mirrors

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"depot/internal/config"
	"depot/internal/outbound"
)

// A node with [mirrors] checker = false is a follower: it checks no mirror
// itself but takes the results of the checking node's last round from that
// node's status JSON (state_from), every check interval. It still hashes
// its own origin files, so that it only offers a mirror that holds a
// version its own metalinks list; and it uses the results only while they
// are younger than two check intervals (MaxStateAge), after which its
// metalinks list the site's base_url alone.

// Bounds on the checking node's report.
const (
	// maxStateSize bounds the status JSON a follower reads (a report of
	// a hundred mirrors and a thousand files is a few megabytes).
	maxStateSize = 32 << 20
	// maxClockAhead is how far in the future the checker's round may
	// have ended by this node's clock; beyond it the clocks disagree and
	// the results would never age, so the report is refused.
	maxClockAhead = time.Minute
	// syncMargin is how long after the checker's next round is due a
	// follower fetches (see nextSync).
	syncMargin = 5 * time.Second
	// lateRetry is how often a follower fetches while the checker's next
	// round is overdue, when that is sooner than the check interval.
	lateRetry = time.Minute
)

// MaxStateAge is how old the results of a round may be for a follower to
// offer mirrors from them: two check intervals.
func (s *Service) MaxStateAge() time.Duration { return 2 * s.opts.Interval }

// Sync is a follower's round: it scans and hashes the origin as Check
// does, fetches the checking node's status report from state_from, and
// adopts its results for the mirrors this node has too (same name and
// URL); the others are forgotten. When the fetch fails, the results held
// stay until they are older than MaxStateAge. Round.Ended is the end of
// the checker's newest round in what this node now holds (zero if none).
func (s *Service) Sync(ctx context.Context) (Round, error) {
	s.round.Lock()
	defer s.round.Unlock()
	cfg, rd := s.begin()
	if cfg.Mirrors.IsChecker() {
		return rd, errors.New("this node checks the mirrors itself (mirrors.checker is not false); it takes no state from another node")
	}
	if len(cfg.Mirror) == 0 {
		return rd, errNoMirrors
	}
	jobs, errs, err := s.scanOrigin(cfg)
	if err != nil {
		return rd, err
	}
	rd.Files = len(jobs)
	rep, ferr := s.fetchReport(ctx, cfg)
	now := s.opts.Now()

	s.mu.Lock()
	present := s.keepFiles(jobs)
	from := s.state.From
	if from == nil || from.URL != cfg.Mirrors.StateFrom {
		from = &Fetch{URL: cfg.Mirrors.StateFrom}
	}
	if ferr != nil {
		from.Error = ferr.Error()
		errs = append(errs, ferr)
	} else {
		from.Fetched, from.Error = now, ""
		s.adopt(cfg, rep, present, &rd)
	}
	s.state.From = from
	s.dirty = true
	for _, ms := range s.state.Mirrors {
		if ms.LastRound.After(rd.Ended) {
			rd.Ended = ms.LastRound
		}
	}
	s.expires.Store(s.nextExpiry(now))
	s.mu.Unlock()
	s.changed()
	if err := s.Save(); err != nil {
		errs = append(errs, err)
	}
	return rd, errors.Join(errs...)
}

// stateClient is the client that fetches state_from: outbound's, for
// "mirror-state", through state_via's SOCKS server when set (which then
// receives the host name: nothing is resolved here), following redirects
// only within the host.
func (s *Service) stateClient(cfg *config.Config) (*http.Client, error) {
	if s.opts.StateClient != nil {
		return s.opts.StateClient, nil
	}
	tr := outbound.NewTransport(outbound.MirrorState, s.opts.Outbound, s.opts.Timeout)
	tr.MaxResponseHeaderBytes = maxResponseHeader
	if cfg.Mirrors.StateVia != "" {
		addr, err := config.ParseUpstream(cfg.Mirrors.StateVia)
		if err != nil {
			return nil, err
		}
		d, err := outbound.SOCKS5(addr, &outbound.Dialer{Purpose: outbound.MirrorState, Record: s.opts.Outbound, Timeout: s.opts.Timeout})
		if err != nil {
			return nil, err
		}
		tr.DialContext = d.DialContext
	}
	return &http.Client{Transport: tr, CheckRedirect: checkRedirect}, nil
}

// fetchReport fetches and decodes the checking node's status report,
// within Timeout, and checks it (decodeReport).
func (s *Service) fetchReport(ctx context.Context, cfg *config.Config) (*Report, error) {
	src := cfg.Mirrors.StateFrom
	fail := func(format string, args ...any) (*Report, error) {
		return nil, fmt.Errorf("mirror state from %s: %s", src, fmt.Sprintf(format, args...))
	}
	client, err := s.stateClient(cfg)
	if err != nil {
		return fail("%v", err)
	}
	defer client.CloseIdleConnections() // the next fetch is an interval away
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
	if err != nil {
		return fail("%v", err)
	}
	req.Header.Set("User-Agent", "depot-mirror-state")
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return fail("%s", describe(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fail("HTTP %s; state_from must be the checking node's mirror_status_path followed by status.json", resp.Status)
	}
	if resp.ContentLength > maxStateSize {
		return fail("larger than %d bytes; it is not a mirror status report", maxStateSize)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxStateSize+1))
	if err != nil {
		return fail("reading: %s", describe(err))
	}
	if len(body) > maxStateSize {
		return fail("larger than %d bytes; it is not a mirror status report", maxStateSize)
	}
	rep, err := decodeReport(body, s.opts.Now())
	if err != nil {
		return fail("%v", err)
	}
	return rep, nil
}

// decodeReport decodes a status report and refuses one whose rounds ended
// in this node's future (now): their results would not age, and a checker
// that stopped would be trusted for as long as the clocks disagree.
func decodeReport(body []byte, now time.Time) (*Report, error) {
	var rep Report
	if err := json.Unmarshal(body, &rep); err != nil {
		return nil, fmt.Errorf("not a mirror status report: %v", err)
	}
	if rep.Generated.IsZero() {
		return nil, errors.New("not a mirror status report: no \"generated\" time")
	}
	for _, m := range rep.Mirrors {
		if ahead := m.LastCheck.Sub(now); ahead > maxClockAhead {
			return nil, fmt.Errorf("the checking node's round ended %s after this node's clock; synchronise the clocks (NTP)", ahead.Round(time.Second))
		}
	}
	return &rep, nil
}

// adopt replaces the mirror state with the checker's results for the
// mirrors configured here under the same name and URL, and for the
// origin files present here. Called with s.mu held.
func (s *Service) adopt(cfg *config.Config, rep *Report, present map[string]job, rd *Round) {
	theirs := make(map[string]*MirrorReport, len(rep.Mirrors))
	for i := range rep.Mirrors {
		theirs[rep.Mirrors[i].Name] = &rep.Mirrors[i]
	}
	clear(s.state.Mirrors)
	for _, m := range cfg.Mirror {
		mr := theirs[m.Name]
		if mr == nil || mr.URL != m.URL || mr.LastCheck.IsZero() {
			continue // unknown to the checker, or another mirror there
		}
		ms := &MirrorState{Files: map[string]*Result{}, LastRound: mr.LastCheck, LastGood: mr.LastGood, Trusted: mr.Trusted}
		for _, fc := range mr.Files {
			if j, ok := present[fc.Name]; ok {
				if r := adoptResult(fc, j.kind); r != nil {
					ms.Files[fc.Name] = r
				}
			}
		}
		if !ms.Trusted {
			rd.Failed = append(rd.Failed, m.Name)
		}
		s.state.Mirrors[m.Name] = ms
	}
}

// adoptResult turns one mirror × file of the checker's report back into
// what the mirror served, so that this node classifies it against its own
// versions of the file: a mirror fresh at the checker but holding a
// version this node does not know is not offered here. nil means no
// result (unchecked there).
func adoptResult(fc FileCheck, kind string) *Result {
	r := &Result{SHA256: fc.SHA256, Size: fc.Size, Checked: fc.Checked, OK: fc.OK, Latency: time.Duration(fc.LatencyMS) * time.Millisecond}
	switch fc.Status {
	case Fresh, Behind:
	case Stale:
		// An index file the checker hashed is compared here too; an
		// answer it could not hash, or an image of the wrong size,
		// stays stale with the checker's reason.
		if r.SHA256 == "" || kind == KindISO {
			r.Error = cmp.Or(fc.Error, "stale at the checking node")
		}
	case Down:
		r.Down, r.Error = true, cmp.Or(fc.Error, "down at the checking node")
	default:
		return nil
	}
	return r
}

// usable reports whether a mirror's results may be offered at now: always
// on the checking node, and on a follower while they are younger than
// MaxStateAge. Called with s.mu held.
func (s *Service) usable(ms *MirrorState, now time.Time) bool {
	return s.cfg.Mirrors.IsChecker() || now.Sub(ms.LastRound) <= s.MaxStateAge()
}

// nextExpiry is when the next mirror's results held by a follower pass
// MaxStateAge after now, in Unix nanoseconds, or 0 if none will. Called
// with s.mu held.
func (s *Service) nextExpiry(now time.Time) int64 {
	if s.cfg.Mirrors.IsChecker() {
		return 0
	}
	var next time.Time
	for _, ms := range s.state.Mirrors {
		if t := ms.LastRound.Add(s.MaxStateAge()); t.After(now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	if next.IsZero() {
		return 0
	}
	return next.UnixNano()
}

// expire invalidates every cached response once results held by a
// follower pass MaxStateAge: a metalink built from them must not outlive
// them, even within the cache's time.
func (s *Service) expire(now time.Time) {
	exp := s.expires.Load()
	if exp == 0 || now.UnixNano() <= exp || !s.expires.CompareAndSwap(exp, 0) {
		return
	}
	s.mu.Lock()
	s.expires.Store(s.nextExpiry(now))
	s.mu.Unlock()
	s.changed()
}

// nextSync is how long a follower waits before its next fetch, given the
// end of the checker's newest round it holds: until just after the
// checker's next round must have ended (one interval later, plus the
// longest a round takes, timeout), so that it fetches once per round of
// the checker and the results it holds stay younger than two intervals
// while the checker runs; every lateRetry (or interval, if shorter)
// while that round is overdue or nothing is held.
func nextSync(now, newest time.Time, interval, timeout time.Duration) time.Duration {
	due := newest.Add(interval + timeout + syncMargin).Sub(now)
	if newest.IsZero() || due <= 0 {
		return min(interval, lateRetry)
	}
	return max(due, syncMargin)
}

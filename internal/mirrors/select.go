package mirrors

import (
	"cmp"
	"slices"
	"time"

	"depot/internal/config"
	"depot/internal/metalink"
)

// Status is the state of one mirror × file.
type Status string

const (
	Fresh     Status = "fresh"     // holds the origin's current version
	Behind    Status = "behind"    // holds a version superseded within Window
	Stale     Status = "stale"     // answered, but with an older or unknown version
	Down      Status = "down"      // did not answer with the file
	Unchecked Status = "unchecked" // not checked yet (or the origin changed since)
)

// classify compares what a mirror served with the origin's versions. Images
// are compared by size (hashing gigabytes per mirror is not a check one
// can run every few minutes), index files by SHA-256.
func classify(f *OriginFile, r *Result, now time.Time, window time.Duration) Status {
	cur, ok := f.Current()
	switch {
	case r == nil || !ok:
		return Unchecked
	case r.Down:
		return Down
	case r.Error != "":
		return Stale
	case f.Kind == KindISO:
		if r.Size == cur.Size {
			return Fresh
		}
		return Stale
	case r.SHA256 == cur.Hashes.SHA256:
		return Fresh
	}
	for _, v := range f.Recent(now, window) {
		if r.SHA256 == v.Hashes.SHA256 {
			return Behind
		}
	}
	return Stale
}

// candidate is a mirror that may be offered for a file.
type candidate struct {
	m      config.Mirror
	status Status
	rank   [3]int // lower is better; equal ranks share a preference
}

// candidates are the trusted mirrors that hold name as fresh (or, with
// behind, as a recent version), best first: fresh before behind, then the
// client's country, then its continent, then configuration order. Called
// with s.mu held.
func (s *Service) candidates(name string, f *OriginFile, behind bool, country string) []candidate {
	now := s.opts.Now()
	continent := s.continentOf(country)
	var out []candidate
	for _, m := range s.cfg.Mirror {
		ms := s.state.Mirrors[m.Name]
		if ms == nil || !ms.Trusted || !s.usable(ms, now) || !m.Carries(f.Kind) || !m.Holds(name) {
			continue
		}
		st := classify(f, ms.Files[name], now, s.opts.Window)
		if st == Fresh || st == Behind && behind {
			out = append(out, candidate{m: m, status: st})
		}
	}
	rank := func(c candidate) [3]int {
		return [3]int{
			b2i(c.status != Fresh),
			b2i(country == "" || c.m.Country != country),
			b2i(continent == "" || c.m.Continent != continent),
		}
	}
	for i := range out {
		out[i].rank = rank(out[i])
	}
	slices.SortStableFunc(out, func(a, b candidate) int {
		for i := range a.rank {
			if c := cmp.Compare(a.rank[i], b.rank[i]); c != 0 {
				return c
			}
		}
		return 0
	})
	return out
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// continentOf is the continent of a country as the configured mirrors
// know it; depot has no geographic database.
func (s *Service) continentOf(country string) string {
	if country == "" {
		return ""
	}
	for _, m := range s.cfg.Mirror {
		if m.Country == country && m.Continent != "" {
			return m.Continent
		}
	}
	return ""
}

// knownCountry returns the upper-cased country if a configured mirror is
// in it, else "": responses only vary by countries that change them, which
// also bounds the caches.
func (s *Service) knownCountry(q string) string {
	if len(q) != 2 {
		return ""
	}
	c := string([]byte{upper(q[0]), upper(q[1])})
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.cfg.Mirror {
		if m.Country == c {
			return c
		}
	}
	return ""
}

func upper(b byte) byte {
	if b >= 'a' && b <= 'z' {
		return b - 'a' + 'A'
	}
	return b
}

// urls turns candidates into metalink URLs for tree path name, best first,
// with the site's own base URL last. For onion clients only onion
// addresses are listed: the mirrors' onion URLs and the site's
// onion_base_url, or no last resort at all; a client that came over Tor is
// never sent to the clearnet by depot.
func urls(cands []candidate, name string, site config.Site, onion bool) []metalink.URL {
	out := make([]metalink.URL, 0, len(cands)+1)
	pref := 100
	for i, c := range cands {
		if i > 0 && cands[i-1].rank != c.rank {
			pref = max(pref-10, 2)
		}
		base := c.m.URL
		if onion {
			if base = c.m.Onion; base == "" {
				continue
			}
		}
		out = append(out, metalink.URL{URL: mirrorURL(base, name), Location: c.m.Country, Preference: pref})
	}
	baseURL := site.BaseURL
	if onion {
		baseURL = site.OnionBaseURL
	}
	if baseURL != "" {
		out = append(out, metalink.URL{URL: mirrorURL(baseURL, name), Preference: 1})
	}
	return out
}

package stats

import (
	"bytes"

	"depot/internal/config"
)

// Rule decides whether a request path is a check for updates, and for
// which release. The path it sees has its query string removed and is
// percent-decoded.
//
// The zero Rule is stats-method.md's default (yum/DNF repository metadata),
// implemented without regular expressions and without allocating. A Rule
// made from a [[stats.rule]] matches its regular expression instead; its
// named capture "release" is the release, and the Exclude and
// ExcludeRelease expressions veto a match.
type Rule struct {
	config.CompiledRule
}

// AptRuleExample is a rule for an apt repository: clients fetch
// dists/<suite>/InRelease (or Release) once per update check.
const AptRuleExample = `^/(?:[^/]+/)*dists/(?P<release>[^/]+)/(?:InRelease|Release)$`

// NewRule makes the Rule of a configured [[stats.rule]], compiled by
// config (which also validates it).
func NewRule(r config.StatsRule) (Rule, error) {
	c, err := r.Compile()
	if err != nil {
		return Rule{}, err
	}
	return Rule{c}, nil
}

// Release returns the release that path checks for, or false when the
// path is not counted. The result aliases path.
func (r *Rule) Release(path []byte) ([]byte, bool) {
	if r.Path == nil {
		return defaultRelease(path)
	}
	// FindSubmatchIndex allocates its result: configured rules cost one
	// small allocation per candidate line, the default rule none.
	m := r.Path.FindSubmatchIndex(path)
	if m == nil || m[2*r.ReleaseCapture] < 0 {
		return nil, false
	}
	rel := path[m[2*r.ReleaseCapture]:m[2*r.ReleaseCapture+1]]
	if len(rel) == 0 {
		return nil, false
	}
	for _, x := range r.Exclude {
		if x.Match(path) {
			return nil, false
		}
	}
	for _, x := range r.ExcludeRelease {
		if x.Match(rel) {
			return nil, false
		}
	}
	return rel, true
}

var (
	suffixRepomd   = []byte("/repomd.xml")
	suffixMetalink = []byte("/repomd.xml.metalink")
	releasever     = []byte("$releasever")
	contrib        = []byte("contrib")
)

// defaultRelease is stats-method.md rules 4 to 6 on a decoded path.
func defaultRelease(p []byte) ([]byte, bool) {
	if !bytes.HasSuffix(p, suffixRepomd) && !bytes.HasSuffix(p, suffixMetalink) {
		return nil, false
	}
	if bytes.Contains(p, releasever) {
		return nil, false
	}
	for len(p) > 0 && p[0] == '/' {
		p = p[1:]
	}
	seg, rest, _ := bytes.Cut(p, []byte("/"))
	if len(seg) > 0 && seg[0] == '~' {
		return nil, false // a personal repository
	}
	for string(seg) == "repo" || string(seg) == "yum" {
		seg, rest, _ = bytes.Cut(rest, []byte("/"))
	}
	// The release must be a directory: in "/repomd.xml" or
	// "/yum/repomd.xml" the would-be release is the file itself, which the
	// spec's rule does not foresee; such paths are not counted.
	if len(seg) == 0 || len(rest) == 0 {
		return nil, false
	}
	if bytes.Contains(seg, contrib) {
		return nil, false
	}
	return seg, true
}

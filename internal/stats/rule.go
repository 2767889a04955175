package stats

import (
	"bytes"
	"fmt"
	"regexp"
)

// Rule decides whether a request path is a check for updates, and for
// which release. The path it sees has its query string removed and is
// percent-decoded.
//
// The zero Rule is stats-method.md's default (yum/DNF repository metadata),
// implemented without regular expressions and without allocating. A Rule
// with Path set matches that regular expression instead; its named capture
// "release" is the release, and the Exclude and ExcludeRelease expressions
// veto a match.
type Rule struct {
	Path           *regexp.Regexp
	Exclude        []*regexp.Regexp // matched against the decoded path
	ExcludeRelease []*regexp.Regexp // matched against the release
	release        int              // index of the "release" capture
}

// AptRuleExample is a rule for an apt repository: clients fetch
// dists/<suite>/InRelease (or Release) once per update check.
const AptRuleExample = `^/(?:[^/]+/)*dists/(?P<release>[^/]+)/(?:InRelease|Release)$`

// NewRule compiles a configured rule. path must have a named capture
// "release".
func NewRule(path string, exclude, excludeRelease []string) (Rule, error) {
	re, err := regexp.Compile(path)
	if err != nil {
		return Rule{}, fmt.Errorf("path %q: %w", path, err)
	}
	idx := re.SubexpIndex("release")
	if idx < 0 {
		return Rule{}, fmt.Errorf("path %q has no named capture (?P<release>...)", path)
	}
	r := Rule{Path: re, release: idx}
	for _, s := range exclude {
		x, err := regexp.Compile(s)
		if err != nil {
			return Rule{}, fmt.Errorf("exclude %q: %w", s, err)
		}
		r.Exclude = append(r.Exclude, x)
	}
	for _, s := range excludeRelease {
		x, err := regexp.Compile(s)
		if err != nil {
			return Rule{}, fmt.Errorf("exclude_release %q: %w", s, err)
		}
		r.ExcludeRelease = append(r.ExcludeRelease, x)
	}
	return r, nil
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
	if m == nil || m[2*r.release] < 0 {
		return nil, false
	}
	rel := path[m[2*r.release]:m[2*r.release+1]]
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

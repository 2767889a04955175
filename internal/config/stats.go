package config

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Stats is the [stats] table: where the userbase statistics read from and
// write to, and which requests count. A configuration without [stats] logs
// computes no statistics.
type Stats struct {
	// Title and Comment go to the data file's meta and the page.
	Title   string `toml:"title" example:"Estimated userbase"`
	Comment string `toml:"comment" example:"Estimated from the update checks of the last months"`
	// Logs are access-log paths or globs, plain or .gz.
	Logs []string `toml:"logs" example:"/var/log/depot/access*.log*"`
	// ExitLists is a directory of CollecTor exit-list archives and TorDNSEL
	// files. Empty means no exit lists: Tor users are not estimated and
	// every month is reported as uncovered.
	ExitLists string `toml:"exit_lists" example:"/var/lib/depot/exit-lists"`
	// Data is the JSON data file. Empty means <data_dir>/stats.json.
	Data string `toml:"data" example:"/var/lib/depot/stats.json"`
	// Fetch lets the daily job download missing exit lists from CollecTor.
	// false (the default) means depot never contacts CollecTor by itself.
	Fetch bool `toml:"fetch" example:"true"`
	// CountIPv6 also counts distinct IPv6 /64 prefixes, reported separately
	// in the data file's meta and never added to the IPv4 figures.
	CountIPv6 bool `toml:"count_ipv6" example:"true"`
	// MinCount keeps cells that could single out a user out of what is
	// published: a release's figures in a month with fewer distinct
	// addresses than this are shown as "< N" and left out of the data
	// file, a release below it in every month is folded into "other", and
	// the month in progress is published as its totals only. 0 (the
	// default) publishes every cell, as the reference counter does; 10 is
	// recommended.
	MinCount int `toml:"min_count" example:"10"`
	// PublishCurrent publishes the month in progress. Unset means true;
	// false leaves it out until it has ended. (Unlike depot's other
	// booleans it defaults to true: the key is named for what operators
	// turn off.)
	PublishCurrent *bool `toml:"publish_current" example:"false"`
	// Nodes names the depot nodes whose logs the statistics read (on a
	// statistics host that collects several nodes' logs): name → the
	// directory holding that node's files, or a glob matching them. Every
	// file of Logs belongs to at most one node. Coverage is reported per
	// node either way (by directory when Nodes is empty); with Nodes, a
	// month is complete only when every node named here covered it.
	Nodes map[string]string `toml:"nodes" example:"{ eu1 = \"/srv/logs/eu1\", us1 = \"/srv/logs/us1\" }"`
	// Rules decide which requests are update checks. Empty means the
	// default rule of stats-method.md (yum/DNF repomd.xml and
	// repomd.xml.metalink). With rules, a request counts for the first
	// rule that matches it.
	Rules []StatsRule `toml:"rule"`
}

// StatsRule is one [[stats.rule]]: a regular expression (Go RE2 syntax) on
// the request path, with its query string removed and percent-decoded,
// whose named capture "release" is the release. For an apt repository:
//
//	[[stats.rule]]
//	path = '^/(?:[^/]+/)*dists/(?P<release>[^/]+)/(?:InRelease|Release)$'
//	exclude_release = ['-backports$']
type StatsRule struct {
	Path string `toml:"path" example:"^/(?:[^/]+/)*dists/(?P<release>[^/]+)/(?:InRelease|Release)$"`
	// Exclude vetoes a match when one of these matches the path.
	Exclude []string `toml:"exclude" example:"/testing/"`
	// ExcludeRelease vetoes a match when one of these matches the release.
	ExcludeRelease []string `toml:"exclude_release" example:"-backports$"`
}

func (s *Stats) resolvePaths(abs func(*string)) {
	for i := range s.Logs {
		abs(&s.Logs[i])
	}
	abs(&s.ExitLists)
	abs(&s.Data)
	for name, p := range s.Nodes {
		abs(&p)
		s.Nodes[name] = filepath.Clean(p)
	}
}

func (s *Stats) applyDefaults(c *Config) {
	if s.Data == "" {
		s.Data = filepath.Join(c.DataDir, "stats.json")
	}
}

func (s *Stats) validate(p *Problems, c *Config) {
	_ = c
	for i, l := range s.Logs {
		if _, err := filepath.Match(l, ""); err != nil {
			p.add(fmt.Sprintf("stats.logs[%d]", i), "%q is not a valid glob: %v", l, err)
		}
	}
	if s.ExitLists != "" && !s.Fetch {
		if st, err := os.Stat(s.ExitLists); err != nil || !st.IsDir() {
			p.add("stats.exit_lists", "%q is not a directory; create it and put CollecTor's exit-list-YYYY-MM.tar.xz archives in it, or set fetch = true", s.ExitLists)
		}
	}
	if s.MinCount < 0 {
		p.add("stats.min_count", "%d is negative; 0 publishes every cell, 10 is recommended", s.MinCount)
	}
	if s.Fetch && s.ExitLists == "" {
		p.add("stats.fetch", "needs exit_lists, the directory to store downloaded exit lists in")
	}
	s.validateNodes(p)
	for i, r := range s.Rules {
		r.compile(p, fmt.Sprintf("stats.rule[%d].", i))
	}
}

// CompiledRule is a [[stats.rule]] with its expressions compiled.
type CompiledRule struct {
	Path           *regexp.Regexp
	ReleaseCapture int // the index of Path's named capture "release"
	Exclude        []*regexp.Regexp
	ExcludeRelease []*regexp.Regexp
}

// Compile compiles the rule's expressions. It is the one check of them:
// Validate reports the same problems, each under its key.
func (r StatsRule) Compile() (CompiledRule, error) {
	var p Problems
	c := r.compile(&p, "")
	if len(p.List) > 0 {
		return CompiledRule{}, errors.New(strings.Join(p.List, "; "))
	}
	return c, nil
}

// compile compiles what it can and reports every problem under key (the
// rule's key path with a trailing dot, or "").
func (r StatsRule) compile(p *Problems, key string) CompiledRule {
	var c CompiledRule
	re, err := regexp.Compile(r.Path)
	switch {
	case r.Path == "":
		p.add(key+"path", "missing; a regular expression with a named capture (?P<release>...)")
	case err != nil:
		p.add(key+"path", "%v", err)
	case re.SubexpIndex("release") < 0:
		p.add(key+"path", "%q has no named capture (?P<release>...)", r.Path)
	default:
		c.Path, c.ReleaseCapture = re, re.SubexpIndex("release")
	}
	for j, x := range r.Exclude {
		if re, err := regexp.Compile(x); err != nil {
			p.add(fmt.Sprintf("%sexclude[%d]", key, j), "%v", err)
		} else {
			c.Exclude = append(c.Exclude, re)
		}
	}
	for j, x := range r.ExcludeRelease {
		if re, err := regexp.Compile(x); err != nil {
			p.add(fmt.Sprintf("%sexclude_release[%d]", key, j), "%v", err)
		} else {
			c.ExcludeRelease = append(c.ExcludeRelease, re)
		}
	}
	return c
}

// validateNodes checks [stats.nodes]: names that read well in a table and
// a JSON key, and distinct, valid paths or globs.
func (s *Stats) validateNodes(p *Problems) {
	seen := map[string]string{}
	for _, name := range slices.Sorted(maps.Keys(s.Nodes)) {
		where := s.Nodes[name]
		key := "stats.nodes." + name
		if !nodeName.MatchString(name) {
			p.add(key, "%q is not a node name: use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit", name)
		}
		if _, err := filepath.Match(where, ""); err != nil || where == "" || where == "." {
			p.add(key, "%q is not a directory or glob of that node's access logs, e.g. \"/srv/logs/%s\"", where, name)
			continue
		}
		if other, dup := seen[where]; dup {
			p.add(key, "%q is also node %s's; each node's logs are in a place of their own", where, other)
		}
		seen[where] = name
	}
	if len(s.Nodes) > 0 && len(s.Logs) == 0 {
		p.add("stats.nodes", "is set, but stats.logs is not: logs lists what is read, nodes says which node each file is from; add e.g. logs = [\"/srv/logs/*/access*.log*\"]")
	}
}

var nodeName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

package stats

import (
	"cmp"
	"errors"
	"fmt"
	"hash/maphash"
	"maps"
	"math/bits"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"depot/internal/month"
)

// Logs of several nodes. The figures need nothing special: every file is
// read into the same address sets, so an address seen on two nodes counts
// once and the Tor share uses every node's requests. What is special is
// knowing which node each file is from, how much of each month each node's
// files cover, and which files are a copy of another (the same lines under
// two paths, plain or compressed): a copy must not count its requests
// twice. Every count that adds up (lines, requests) is therefore kept per
// file, and the month's totals are summed over the files that are not a
// copy; the address sets are the same with or without a copy.

// NodeCoverage is how much of one month one node's logs hold, as recorded
// under meta.months["YYYY-MM"].nodes[name].
type NodeCoverage struct {
	Lines int64 `json:"lines"`
	// First and Last are the times (RFC 3339, UTC) of the node's first
	// and last line in the month; empty without a line.
	First string `json:"first,omitempty"`
	Last  string `json:"last,omitempty"`
	// MissingDays are the days (UTC) without any line of the node, up to
	// the month's end or, for the month in progress, the day before the
	// computation: "YYYY-MM-DD", or "YYYY-MM-DD/YYYY-MM-DD" for a run.
	MissingDays []string `json:"missing_days,omitempty"`
	// Covered is true when there is no missing day.
	Covered bool `json:"covered"`
	// Required is true for the nodes named in [stats] nodes: the month is
	// complete only when each of them covered it.
	Required bool `json:"required,omitempty"`
}

// Duplicate is a log file holding exactly the lines of another one read in
// the same run (a re-synced copy, the plain and the .gz of one rotation):
// it is counted once, as Of.
type Duplicate struct {
	Path, Of string
}

func (d Duplicate) String() string {
	return fmt.Sprintf("%s holds the same lines as %s; counted once", d.Path, d.Of)
}

// span is what one file (or node) holds of one month: its lines, the
// first and last line's time and the days it has lines on.
type span struct {
	lines       int64
	first, last int64  // Unix seconds; meaningful only when lines > 0
	days        uint32 // bit d-1: a line on day d (UTC)
}

// see records a line at unix in the month starting at monthStart.
func (s *span) see(unix, monthStart int64) {
	if s.lines == 0 || unix < s.first {
		s.first = unix
	}
	if s.lines == 0 || unix > s.last {
		s.last = unix
	}
	s.lines++
	s.days |= 1 << uint((unix-monthStart)/86400)
}

func (s *span) add(o span) {
	if o.lines == 0 {
		return
	}
	if s.lines == 0 || o.first < s.first {
		s.first = o.first
	}
	if s.lines == 0 || o.last > s.last {
		s.last = o.last
	}
	s.lines += o.lines
	s.days |= o.days
}

// coverage turns a node's span of month m into its record: the days up to
// the month's end (or, before it ended, the days before computed's) each
// need a line.
func (s span) coverage(m month.Month, computed time.Time) NodeCoverage {
	c := NodeCoverage{Lines: s.lines}
	if s.lines > 0 {
		c.First = time.Unix(s.first, 0).UTC().Format(time.RFC3339)
		c.Last = time.Unix(s.last, 0).UTC().Format(time.RFC3339)
	}
	days := int(m.End().Sub(m.Start()) / (24 * time.Hour))
	if computed.Before(m.End()) {
		days = max(0, int(computed.Sub(m.Start())/(24*time.Hour)))
	}
	for d := 0; d < days; {
		if s.days&(1<<uint(d)) != 0 {
			d++
			continue
		}
		run := d
		for run+1 < days && s.days&(1<<uint(run+1)) == 0 {
			run++
		}
		day := func(i int) string { return m.Start().AddDate(0, 0, i).Format(time.DateOnly) }
		if run == d {
			c.MissingDays = append(c.MissingDays, day(d))
		} else {
			c.MissingDays = append(c.MissingDays, day(d)+"/"+day(run))
		}
		d = run + 1
	}
	c.Covered = len(c.MissingDays) == 0 && s.lines > 0
	return c
}

// identity is what two files must share to hold the same lines: their
// number, their bytes, and two sums of a keyed hash of each line, which
// do not depend on how the file was compressed or split into chunks.
type identity struct {
	lines, bytes int64
	sum, mixed   uint64
}

// add records one line (without its end) hashed with seed.
func (id *identity) add(seed maphash.Seed, line []byte) {
	h := maphash.Bytes(seed, line)
	id.lines++
	id.bytes += int64(len(line))
	id.sum += h
	id.mixed += bits.RotateLeft64(h*0x9e3779b97f4a7c15, 29) ^ h
}

func (id *identity) merge(o identity) {
	id.lines += o.lines
	id.bytes += o.bytes
	id.sum += o.sum
	id.mixed += o.mixed
}

// duplicates returns, for files in path order, which are a copy of an
// earlier one (the first by path is kept), and the copies found. Empty
// files are never a copy.
func duplicates(paths []string, ids []identity) (copyOf []int, found []Duplicate) {
	copyOf = make([]int, len(paths))
	first := map[identity]int{}
	order := make([]int, len(paths))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(paths[a], paths[b]) })
	for _, i := range order {
		copyOf[i] = -1
		if ids[i].lines == 0 {
			continue
		}
		if j, ok := first[ids[i]]; ok {
			copyOf[i] = j
			found = append(found, Duplicate{Path: paths[i], Of: paths[j]})
			continue
		}
		first[ids[i]] = i
	}
	return copyOf, found
}

// nodeSet says which node each log file is from.
type nodeSet struct {
	names    []string // by node index, sorted; the required ones and the others
	required []bool
	of       []int // node index by file index
}

// assignNodes gives every file a node: the one of nodes (name → directory
// or glob) that holds it, else, for a file no such entry holds (and for
// every file when nodes is empty), its directory, named by its base name
// when that is unique (its whole path otherwise). A file that two entries
// hold is an error. Each entry of nodes is a node even without a file;
// files of no entry are reported in warnings when nodes is not empty.
func assignNodes(paths []string, nodes map[string]string) (*nodeSet, []string, error) {
	ns := &nodeSet{of: make([]int, len(paths))}
	index := map[string]int{}
	for _, name := range slices.Sorted(maps.Keys(nodes)) {
		index[name] = len(ns.names)
		ns.names = append(ns.names, name)
		ns.required = append(ns.required, true)
	}
	var errs []error
	var others []int // files of no entry
	for i, p := range paths {
		var in []string
		for _, name := range ns.names {
			if holds(nodes[name], p) {
				in = append(in, name)
			}
		}
		switch len(in) {
		case 0:
			others = append(others, i)
		case 1:
			ns.of[i] = index[in[0]]
		default:
			errs = append(errs, fmt.Errorf("%s is in the places of nodes %s; give each node a place of its own in [stats] nodes", p, strings.Join(in, " and ")))
		}
	}
	if len(errs) > 0 {
		return nil, nil, errors.Join(errs...)
	}
	// Directories of the other files, named by base name when unique.
	dirs := map[string]bool{}
	bases := map[string]int{}
	for _, i := range others {
		d := filepath.Dir(paths[i])
		if !dirs[d] {
			dirs[d] = true
			bases[filepath.Base(d)]++
		}
	}
	var warnings []string
	dirNode := map[string]int{}
	for _, d := range slices.Sorted(maps.Keys(dirs)) {
		name := filepath.Base(d)
		if _, taken := index[name]; taken || bases[name] > 1 {
			name = d
		}
		dirNode[d] = len(ns.names)
		ns.names = append(ns.names, name)
		ns.required = append(ns.required, false)
		if len(nodes) > 0 {
			warnings = append(warnings, fmt.Sprintf("log files in %s are in no node's place of [stats] nodes; they are counted, as node %q, which a month does not need to be complete", d, name))
		}
	}
	for _, i := range others {
		ns.of[i] = dirNode[filepath.Dir(paths[i])]
	}
	return ns, warnings, nil
}

// holds reports whether a node's place (a directory, or a glob) holds the
// file at path.
func holds(place, path string) bool {
	if ok, err := filepath.Match(place, path); err == nil && ok {
		return true
	}
	rel, err := filepath.Rel(place, path)
	return err == nil && filepath.IsLocal(rel)
}

// nodeCoverage is the coverage of every node in one month, from the spans
// of the files that are not a copy; complete reports whether every
// required node covered the month.
func (ns *nodeSet) coverage(m month.Month, fileSpans []span, copyOf []int, computed time.Time) (map[string]NodeCoverage, bool) {
	spans := make([]span, len(ns.names))
	for i, s := range fileSpans {
		if copyOf[i] < 0 {
			spans[ns.of[i]].add(s)
		}
	}
	out := make(map[string]NodeCoverage, len(ns.names))
	complete := true
	for n, name := range ns.names {
		c := spans[n].coverage(m, computed)
		c.Required = ns.required[n]
		if c.Required && !c.Covered {
			complete = false
		}
		out[name] = c
	}
	return out, complete
}

// sortedNodes lists a month's nodes, required ones first, then by name.
func sortedNodes(nodes map[string]NodeCoverage) []string {
	names := slices.Collect(maps.Keys(nodes))
	slices.SortFunc(names, func(a, b string) int {
		if ra, rb := nodes[a].Required, nodes[b].Required; ra != rb {
			if ra {
				return -1
			}
			return 1
		}
		return cmp.Compare(a, b)
	})
	return names
}

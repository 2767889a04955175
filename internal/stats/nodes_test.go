package stats

import (
	"hash/maphash"
	"reflect"
	"strings"
	"testing"
	"time"

	"depot/internal/month"
)

func TestSpanCoverage(t *testing.T) {
	nov := month.MustParse("2026-11")
	at := func(s string) int64 {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.Unix()
	}
	after := time.Date(2026, 12, 1, 4, 0, 0, 0, time.UTC)
	during := time.Date(2026, 11, 17, 4, 0, 0, 0, time.UTC)
	everyDay := func(last int) []string {
		var ts []string
		for d := 1; d <= last; d++ {
			ts = append(ts, time.Date(2026, 11, d, 12, 0, 0, 0, time.UTC).Format(time.RFC3339))
		}
		return ts
	}
	cases := []struct {
		name     string
		lines    []string
		computed time.Time
		want     NodeCoverage
	}{
		{"no line", nil, after, NodeCoverage{MissingDays: []string{"2026-11-01/2026-11-30"}}},
		{"every day", append(everyDay(30), "2026-11-30T23:59:59Z", "2026-11-01T00:00:00Z"), after,
			NodeCoverage{Lines: 32, First: "2026-11-01T00:00:00Z", Last: "2026-11-30T23:59:59Z", Covered: true}},
		{"stops early", everyDay(16), after,
			NodeCoverage{Lines: 16, First: "2026-11-01T12:00:00Z", Last: "2026-11-16T12:00:00Z", MissingDays: []string{"2026-11-17/2026-11-30"}}},
		{"a day and a run missing", []string{"2026-11-01T00:00:00Z", "2026-11-03T00:00:00Z", "2026-11-04T00:00:00Z", "2026-11-30T23:00:00Z"}, after,
			NodeCoverage{Lines: 4, First: "2026-11-01T00:00:00Z", Last: "2026-11-30T23:00:00Z", MissingDays: []string{"2026-11-02", "2026-11-05/2026-11-29"}}},
		{"in progress: days before today", everyDay(16), during,
			NodeCoverage{Lines: 16, First: "2026-11-01T12:00:00Z", Last: "2026-11-16T12:00:00Z", Covered: true}},
		{"in progress: a day before today missing", everyDay(15), during,
			NodeCoverage{Lines: 15, First: "2026-11-01T12:00:00Z", Last: "2026-11-15T12:00:00Z", MissingDays: []string{"2026-11-16"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var s span
			for _, l := range tc.lines {
				s.see(at(l), nov.Start().Unix())
			}
			if got := s.coverage(nov, tc.computed); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
	// Spans of several files add up to the span of all their lines.
	var a, b, all span
	for i, l := range everyDay(30) {
		all.see(at(l), nov.Start().Unix())
		if i%2 == 0 {
			a.see(at(l), nov.Start().Unix())
		} else {
			b.see(at(l), nov.Start().Unix())
		}
	}
	var sum span
	sum.add(b)
	sum.add(span{})
	sum.add(a)
	if sum != all {
		t.Errorf("two halves add to %+v, all the lines give %+v", sum, all)
	}
}

// identityOf is the identity of a file of lines.
func identityOf(seed maphash.Seed, lines ...string) identity {
	var id identity
	for _, l := range lines {
		id.add(seed, []byte(l))
	}
	return id
}

func TestIdentity(t *testing.T) {
	seed := maphash.MakeSeed()
	of := func(lines ...string) identity { return identityOf(seed, lines...) }
	a := of("x 1", "y 2", "z 3")
	// Split into chunks read by different workers, in any order.
	b := of("z 3")
	b.merge(of("x 1", "y 2"))
	if a != b {
		t.Errorf("the same lines in two chunks: %+v, one file: %+v", b, a)
	}
	for name, other := range map[string]identity{
		"a line less":      of("x 1", "y 2"),
		"a line changed":   of("x 1", "y 2", "z 4"),
		"a line twice":     of("x 1", "y 2", "z 3", "z 3"),
		"same length":      of("x 1", "y 2", "z 9"),
		"swapped contents": of("x 2", "y 1", "z 3"),
	} {
		if other == a {
			t.Errorf("%s: same identity as the original", name)
		}
	}
}

func TestDuplicates(t *testing.T) {
	seed := maphash.MakeSeed()
	of := func(lines ...string) identity { return identityOf(seed, lines...) }
	paths := []string{"/s/b/access.log-1.gz", "/s/a/access.log-1", "/s/a/empty", "/s/b/access.log-1", "/s/c/empty", "/s/a/access.log-2"}
	ids := []identity{of("1", "2"), of("1", "2"), {}, of("1", "2"), {}, of("3")}
	copyOf, found := duplicates(paths, ids)
	if want := []int{1, -1, -1, 1, -1, -1}; !reflect.DeepEqual(copyOf, want) {
		t.Errorf("copyOf %v, want %v (the first path kept; empty files never a copy)", copyOf, want)
	}
	want := []Duplicate{{"/s/b/access.log-1", "/s/a/access.log-1"}, {"/s/b/access.log-1.gz", "/s/a/access.log-1"}}
	if !reflect.DeepEqual(found, want) {
		t.Errorf("found %v, want %v", found, want)
	}
	if s := found[0].String(); !strings.Contains(s, "counted once") {
		t.Errorf("%q does not say it is counted once", s)
	}
}

func TestAssignNodes(t *testing.T) {
	paths := []string{
		"/srv/logs/eu1/access.log", "/srv/logs/eu1/old/access.log-20261101.gz",
		"/srv/logs/us1/access.log", "/srv/logs/ap1/access.log",
		"/srv/other/x/access.log", "/srv/more/x/access.log", "/srv/logs/eu1x/access.log",
	}
	t.Run("configured", func(t *testing.T) {
		ns, warnings, err := assignNodes(paths, map[string]string{
			"eu1": "/srv/logs/eu1", "us1": "/srv/logs/us1/access*", "asia": "/srv/logs/ap1", "none": "/srv/logs/none",
		})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for i, p := range paths {
			got[p] = ns.names[ns.of[i]]
		}
		want := map[string]string{
			"/srv/logs/eu1/access.log": "eu1", "/srv/logs/eu1/old/access.log-20261101.gz": "eu1",
			"/srv/logs/us1/access.log": "us1", "/srv/logs/ap1/access.log": "asia",
			// Not in any place: by directory, whole path when base names clash.
			"/srv/other/x/access.log": "/srv/other/x", "/srv/more/x/access.log": "/srv/more/x", "/srv/logs/eu1x/access.log": "eu1x",
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got  %v\nwant %v", got, want)
		}
		if len(warnings) != 3 || !strings.Contains(warnings[0], "in no node's place") {
			t.Errorf("warnings %q, want one per directory of no node", warnings)
		}
		var required []string
		for i, n := range ns.names {
			if ns.required[i] {
				required = append(required, n)
			}
		}
		if want := []string{"asia", "eu1", "none", "us1"}; !reflect.DeepEqual(required, want) {
			t.Errorf("required nodes %v, want %v (every configured one, with a file or not)", required, want)
		}
	})
	t.Run("by directory", func(t *testing.T) {
		ns, warnings, err := assignNodes(paths[:4], nil)
		if err != nil || len(warnings) != 0 {
			t.Fatal(err, warnings)
		}
		if want := []string{"ap1", "eu1", "old", "us1"}; !reflect.DeepEqual(ns.names, want) {
			t.Errorf("names %v, want %v", ns.names, want)
		}
	})
	t.Run("two places hold a file", func(t *testing.T) {
		_, _, err := assignNodes(paths, map[string]string{"a": "/srv/logs", "b": "/srv/logs/eu1"})
		if err == nil || !strings.Contains(err.Error(), "/srv/logs/eu1/access.log is in the places of nodes a and b") {
			t.Errorf("got %v", err)
		}
	})
}

func TestWriteCoverage(t *testing.T) {
	d := &Data{Months: map[string]map[string]Figures{"2026-10": {}, "2026-11": {}, "2026-12": {}}, Detail: map[string]MonthMeta{
		"2026-12": {Nodes: map[string]NodeCoverage{"logs": {Lines: 5, First: "2026-12-01T00:00:00Z", Last: "2026-12-01T10:00:00Z", Covered: true}}},
		"2026-11": {Nodes: map[string]NodeCoverage{
			"us1":   {Lines: 7, First: "2026-11-01T00:00:00Z", Last: "2026-11-30T23:00:00Z", Covered: true, Required: true},
			"ap1":   {Lines: 3, First: "2026-11-01T00:00:00Z", Last: "2026-11-16T21:10:33Z", MissingDays: []string{"2026-11-17/2026-11-30"}, Required: true},
			"eu1":   {MissingDays: []string{"2026-11-01/2026-11-30"}, Required: true},
			"other": {Lines: 1, First: "2026-11-03T00:00:00Z", Last: "2026-11-03T00:00:00Z", MissingDays: []string{"2026-11-01/2026-11-02", "2026-11-04/2026-11-30"}},
		}},
	}}
	var b strings.Builder
	if err := WriteCoverage(&b, d, nil); err != nil {
		t.Fatal(err)
	}
	want := `coverage  node   state                              lines  first line            last line             days without a line
2026-11   ap1    INCOMPLETE                         3      2026-11-01 00:00:00Z  2026-11-16 21:10:33Z  2026-11-17/2026-11-30
          eu1    NO LINES                           0      -                     -                     2026-11-01/2026-11-30
          us1    ok                                 7      2026-11-01 00:00:00Z  2026-11-30 23:00:00Z  
          other  INCOMPLETE (not in [stats] nodes)  1      2026-11-03 00:00:00Z  2026-11-03 00:00:00Z  2026-11-01/2026-11-02, 2026-11-04/2026-11-30
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant (one directory that covered December left out; October has no coverage)\n%s", b.String(), want)
	}
	if n := d.Note("2026-11"); !strings.Contains(n, "logs incomplete: ap1, eu1") {
		t.Errorf("note %q does not name the nodes whose logs are incomplete", n)
	}
}

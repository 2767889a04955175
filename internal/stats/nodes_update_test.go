package stats

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// splitCase writes the shared case's logs split line by line over three
// node directories (so that most addresses are seen on several nodes),
// with some files compressed, and returns the directories by node name.
func splitCase(t *testing.T, dir string) map[string]string {
	t.Helper()
	nodes := map[string]string{}
	for _, n := range []string{"n1", "n2", "n3"} {
		nodes[n] = filepath.Join(dir, "srv", n)
		if err := os.MkdirAll(nodes[n], 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"access.log", "access.log.1", "access.log.2"} {
		b, err := os.ReadFile(filepath.Join(dir, "logs", name))
		if err != nil {
			t.Fatal(err)
		}
		var parts [3]strings.Builder
		for i, line := range strings.SplitAfter(string(b), "\n") {
			parts[i%3].WriteString(line)
		}
		for k, n := range []string{"n1", "n2", "n3"} {
			p := filepath.Join(nodes[n], name)
			if (k+len(name))%2 == 0 {
				writeGz(t, p+".gz", parts[k].String())
			} else if err := os.WriteFile(p, []byte(parts[k].String()), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return nodes
}

func writeGz(t *testing.T, path, content string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	zw.Write([]byte(content))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// monthsOf reads a data file's months and meta.months.
func monthsOf(t *testing.T, data string) (map[string]map[string]Figures, map[string]MonthMeta) {
	t.Helper()
	var top map[string]json.RawMessage
	readJSON(t, data, &top)
	figs := map[string]map[string]Figures{}
	for k, raw := range top {
		if k == metaKey {
			continue
		}
		var m map[string]Figures
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		figs[k] = m
	}
	var meta struct {
		Months map[string]MonthMeta `json:"months"`
	}
	if err := json.Unmarshal(top[metaKey], &meta); err != nil {
		t.Fatal(err)
	}
	return figs, meta.Months
}

// TestNodesAsOneLog: the shared case split over three nodes, one file of
// which arrives twice (a byte copy) and one both plain and compressed,
// gives exactly expected.json and the meta of the one log: an address on
// several nodes counts once, the copies are counted once and reported,
// and every node covered every month.
func TestNodesAsOneLog(t *testing.T) {
	dir := copyTree(t, sharedCase)
	nodes := splitCase(t, dir)
	copyFile(t, filepath.Join(nodes["n2"], "access.log"), filepath.Join(nodes["n2"], "access.log.resynced"))
	plain := filepath.Join(nodes["n2"], "access.log.1")
	b, err := os.ReadFile(plain)
	if err != nil {
		t.Fatal(err)
	}
	writeGz(t, plain+".gz", string(b)) // rsync ran while the node compressed it

	run := func(data string, logs []string, nodes map[string]string) *Result {
		res, err := Update(context.Background(), Options{
			Logs: logs, Nodes: nodes, ExitListsDir: filepath.Join(dir, "exit-lists"), DataFile: data,
			Months: months("2026-09", "2026-10", "2026-11"), Now: fixedNow("2026-12-02T04:00:00Z"),
		})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	one := filepath.Join(dir, "one.json")
	oneRes := run(one, []string{filepath.Join(dir, "logs", "access.log*")}, nil)
	all := filepath.Join(dir, "nodes.json")
	res := run(all, []string{filepath.Join(dir, "srv", "*", "access*")}, nodes)

	got, gotMeta := monthsOf(t, all)
	var want map[string]map[string]Figures
	readJSON(t, filepath.Join(dir, "expected.json"), &want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("figures over three nodes:\n%v\nexpected.json:\n%v", got, want)
	}
	_, oneMeta := monthsOf(t, one)
	for m, w := range oneMeta {
		g := gotMeta[m]
		if g.Lines != w.Lines || g.Malformed != w.Malformed || g.PlainRequests != w.PlainRequests || g.TorRequests != w.TorRequests || g.Complete != w.Complete {
			t.Errorf("%s meta over the nodes %+v, over one log %+v", m, g, w)
		}
		if len(g.Nodes) != 3 {
			t.Fatalf("%s: nodes %v, want n1, n2, n3", m, g.Nodes)
		}
		var lines int64
		for name, c := range g.Nodes {
			lines += c.Lines
			if !c.Covered || !c.Required {
				t.Errorf("%s %s: %+v, want required and covered", m, name, c)
			}
		}
		if lines != g.Lines {
			t.Errorf("%s: the nodes' lines add to %d, the month has %d", m, lines, g.Lines)
		}
	}
	if res.Lines != oneRes.Lines || res.Undated != oneRes.Undated {
		t.Errorf("read %d lines (%d undated), one log has %d (%d): copies must count once", res.Lines, res.Undated, oneRes.Lines, oneRes.Undated)
	}
	wantDups := []Duplicate{
		{Path: plain + ".gz", Of: plain},
		{Path: filepath.Join(nodes["n2"], "access.log.resynced"), Of: filepath.Join(nodes["n2"], "access.log")},
	}
	if !reflect.DeepEqual(res.Duplicates, wantDups) {
		t.Errorf("duplicates %v, want %v", res.Duplicates, wantDups)
	}
}

// TestNodeMissing: a node whose logs stop halfway through November leaves
// November incomplete (with a warning naming the node and the days) when
// it is named in Nodes, and only recorded otherwise; the figures are those
// of the logs that are there.
func TestNodeMissing(t *testing.T) {
	dir := copyTree(t, sharedCase)
	nodes := splitCase(t, dir)
	// November is access.log: keep n3's lines before the 16th.
	var nov string
	for _, name := range []string{"access.log", "access.log.gz"} {
		if p := filepath.Join(nodes["n3"], name); fileExists(p) {
			nov = p
		}
	}
	lines := readLines(t, nov)
	var kept []string
	for _, l := range lines {
		if i := strings.IndexByte(l, '['); i >= 0 && l[i+1:i+3] < "16" {
			kept = append(kept, l)
		}
	}
	os.Remove(nov)
	os.WriteFile(filepath.Join(nodes["n3"], "access.log"), []byte(strings.Join(kept, "\n")+"\n"), 0o644)

	// Exit lists that cover every day (the shared case's cover 40%), so
	// that the logs alone decide whether a month is complete.
	exits := t.TempDir()
	for d := 2; d <= 63; d++ {
		at := time.Date(2026, 10, d, 0, 0, 0, 0, time.UTC).Format(time.DateTime)
		os.WriteFile(filepath.Join(exits, fmt.Sprint(d)), []byte("@type tordnsel 1.0\nDownloaded "+at+"\nExitNode AAAA\nPublished "+at+"\nLastStatus "+at+"\nExitAddress 192.0.2.250 "+at+"\n"), 0o644)
	}
	for _, named := range []bool{true, false} {
		opts := Options{
			Logs: []string{filepath.Join(dir, "srv", "*", "access*")}, ExitListsDir: exits,
			DataFile: filepath.Join(t.TempDir(), "stats.json"), Months: months("2026-10", "2026-11"), Now: fixedNow("2026-12-02T04:00:00Z"),
		}
		if named {
			opts.Nodes = nodes
		}
		res, err := Update(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		_, meta := monthsOf(t, opts.DataFile)
		c := meta["2026-11"].Nodes["n3"]
		if c.Covered || !reflect.DeepEqual(c.MissingDays, []string{"2026-11-16/2026-11-30"}) || c.Required != named || !strings.HasPrefix(c.Last, "2026-11-15") {
			t.Errorf("named %v: n3 in November: %+v; want not covered, missing 16 to 30, last line on the 15th", named, c)
		}
		if !meta["2026-10"].Complete {
			t.Errorf("named %v: October, which every node covered, is not complete", named)
		}
		warned := strings.Contains(strings.Join(res.Warnings, "\n"), "2026-11: n3 has no line on 2026-11-16/2026-11-30")
		if got := meta["2026-11"].Complete; got == named || warned != named {
			t.Errorf("named %v: November complete %v, warned %v; want %v and %v", named, got, warned, !named, named)
		}
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r interface{ Read([]byte) (int, error) } = f
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	}
	var sb strings.Builder
	buf := make([]byte, 1<<16)
	for {
		n, err := r.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return strings.Split(strings.TrimRight(sb.String(), "\n"), "\n")
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestNodesAmbiguous: a file that two nodes' places hold stops the run
// before anything is written.
func TestNodesAmbiguous(t *testing.T) {
	dir := copyTree(t, sharedCase)
	data := filepath.Join(dir, "stats.json")
	_, err := Update(context.Background(), Options{
		Logs: []string{filepath.Join(dir, "logs", "access.log*")}, DataFile: data,
		Nodes:  map[string]string{"a": filepath.Join(dir, "logs"), "b": filepath.Join(dir, "logs", "access.log.*")},
		Months: months("2026-11"), Now: fixedNow("2026-12-02T04:00:00Z"),
	})
	if err == nil || !strings.Contains(err.Error(), "is in the places of nodes a and b") {
		t.Errorf("got %v", err)
	}
	if fileExists(data) {
		t.Error("the data file was written")
	}
}

package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Statistics over several nodes: the figures of every node's logs read
// together are those of one log holding all their lines.

// nodeClient is an HTTP client whose connections leave from a loopback
// source address of its own, so that the node logs that address: clients
// seen on several nodes are the same client, as on the internet.
func nodeClient(src string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
}

// request is one request of the traffic plan.
type request struct {
	client  string // source address
	node    int
	method  string
	target  string
	release string // counted update check of this release, or ""
}

// trafficPlan is a deterministic mix over three nodes: clearnet clients
// and Tor exits (each seen on several nodes), update checks of three
// releases (some with DNF's ?countme), package downloads, HEAD requests
// and 404s, none of which count.
func trafficPlan(clients, exits []string) []request {
	rng := rand.New(rand.NewPCG(14, 3))
	releases := []string{"r4.1", "r4.2", "r4.3"}
	var plan []request
	for range 420 {
		r := request{node: rng.IntN(3), method: http.MethodGet, client: clients[rng.IntN(len(clients))]}
		if rng.IntN(8) == 0 {
			r.client = exits[rng.IntN(len(exits))]
		}
		rel := releases[rng.IntN(len(releases))]
		switch k := rng.IntN(10); {
		case k < 6:
			r.target, r.release = "/"+rel+"/current/vm/fc41/repodata/repomd.xml", rel
			if k == 0 {
				r.target += "?countme=2"
			}
		case k < 7:
			r.method, r.target = http.MethodHead, "/"+rel+"/current/vm/fc41/repodata/repomd.xml"
		case k < 9:
			r.target = "/" + rel + "/current/vm/fc41/rpm/pkg.rpm"
		default:
			r.target = "/" + rel + "/nothing/repodata/repomd.xml" // 404
		}
		plan = append(plan, r)
	}
	return plan
}

// expectedFigures applies stats-method.md to the plan: per release and
// "any", distinct clearnet addresses and the Tor estimate.
func expectedFigures(plan []request, exit map[string]bool) map[string]map[string]int64 {
	type acc struct {
		plain    map[string]bool
		plainReq int64
		torReq   int64
	}
	accs := map[string]*acc{}
	for _, r := range plan {
		if r.release == "" {
			continue
		}
		for _, k := range []string{r.release, "any"} {
			a := accs[k]
			if a == nil {
				a = &acc{plain: map[string]bool{}}
				accs[k] = a
			}
			if exit[r.client] {
				a.torReq++
			} else {
				a.plainReq++
				a.plain[r.client] = true
			}
		}
	}
	out := map[string]map[string]int64{}
	for k, a := range accs {
		plain := int64(len(a.plain))
		tor := int64(0)
		if a.plainReq > 0 {
			tor = a.torReq * plain / a.plainReq
		}
		out[k] = map[string]int64{"plain": plain, "tor": tor}
	}
	return out
}

// statsFile reads a data file: the months' figures and meta.months.
func statsFile(t *testing.T, path string) (map[string]map[string]map[string]int64, map[string]map[string]any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		t.Fatal(err)
	}
	figs := map[string]map[string]map[string]int64{}
	for k, raw := range top {
		if k == "meta" {
			continue
		}
		var m map[string]map[string]int64
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("%s: month %s: %v", path, k, err)
		}
		figs[k] = m
	}
	var meta struct {
		Months map[string]map[string]any `json:"months"`
	}
	if err := json.Unmarshal(top["meta"], &meta); err != nil {
		t.Fatal(err)
	}
	return figs, meta.Months
}

// gzipFile writes a gzip copy of src at dst.
func gzipFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	writeGzip(t, dst, string(b))
}

// concat appends the files to dst.
func concat(t *testing.T, dst string, srcs ...string) {
	t.Helper()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	for _, s := range srcs {
		in, err := os.Open(s)
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.Copy(out, in)
		in.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
}

// statsHost writes the statistics host's configuration: every node's
// directory under logs, and [stats.nodes] naming them.
func statsHost(t *testing.T, logs, exits, data string, nodes map[string]string) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "log_dir = %q\ndata_dir = %q\n\n[[listen]]\naddress = \"127.0.0.1:0\"\n\n[[site]]\nhosts = [\"*\"]\nroot = %q\n\n", t.TempDir(), t.TempDir(), t.TempDir())
	fmt.Fprintf(&b, "[stats]\nlogs = [%q]\nexit_lists = %q\ndata = %q\n\n[stats.nodes]\n", logs, exits, data)
	for name, dir := range nodes {
		fmt.Fprintf(&b, "%s = %q\n", name, dir)
	}
	file := filepath.Join(t.TempDir(), "stats.toml")
	writeFile(t, file, []byte(b.String()))
	return file
}

// TestStatsOverThreeNodes runs three `depot serve` nodes and sends them
// one deterministic mix of traffic from clients (loopback source
// addresses) that each reach several nodes, Tor exits among them. Each
// node's log is rotated (renamed, SIGHUP) halfway. Their files are copied
// into per-node directories as the statistics host's rsync leaves them,
// one rotated file twice (plain and .gz, as a pull during compression
// leaves it). `depot stats update` over the copies gives the figures of
// one combined log, and those of the method applied to the plan; the copy
// is reported and counted once; every node's coverage is recorded.
func TestStatsOverThreeNodes(t *testing.T) {
	var clients, exits []string
	for i := 10; i < 40; i++ {
		clients = append(clients, fmt.Sprintf("127.0.0.%d", i))
	}
	exit := map[string]bool{}
	for i := 200; i < 203; i++ {
		exits = append(exits, fmt.Sprintf("127.0.0.%d", i))
		exit[exits[len(exits)-1]] = true
	}
	plan := trafficPlan(clients, exits)

	root := t.TempDir()
	for _, rel := range []string{"r4.1", "r4.2", "r4.3"} {
		writeFile(t, filepath.Join(root, rel, "current/vm/fc41/repodata/repomd.xml"), []byte("<repomd/>"))
		writeFile(t, filepath.Join(root, rel, "current/vm/fc41/rpm/pkg.rpm"), []byte("rpm"))
	}
	var nodes [3]*Depot
	for i := range nodes {
		nodes[i] = startDepot(t, strings.Replace(serveConfig(t, root), "data_dir", "log_rotation = \"external\"\ndata_dir", 1))
	}
	send := func(part []request) {
		for _, r := range part {
			req, err := http.NewRequest(r.method, nodes[r.node].URL(r.target), nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := nodeClient(r.client).Do(req)
			if err != nil {
				t.Fatalf("%s from %s to node %d: %v", r.target, r.client, r.node, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	// The first half, then an external rotation of every node (rename,
	// SIGHUP: the node reopens access.log), then the second half.
	half := len(plan) / 2
	send(plan[:half])
	day := time.Now().UTC().Format("20060102")
	for i, d := range nodes {
		waitLines(t, d.AccessLog(), count(plan[:half], i))
		if err := os.Rename(d.AccessLog(), d.AccessLog()+"-"+day); err != nil {
			t.Fatal(err)
		}
		if err := d.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		waitOutput(t, d, "logs reopened")
	}
	send(plan[half:])
	for i, d := range nodes {
		waitLines(t, d.AccessLog(), count(plan[half:], i))
		d.Stop(t)
	}

	// The statistics host's copies: one directory per node; node 0's
	// rotated file arrives twice, plain and compressed.
	srv := t.TempDir()
	combined := filepath.Join(t.TempDir(), "access.log")
	dirs := map[string]string{}
	for i, d := range nodes {
		name := fmt.Sprintf("node%d", i+1)
		dir := filepath.Join(srv, name)
		dirs[name] = dir
		for _, f := range []string{d.AccessLog(), d.AccessLog() + "-" + day} {
			copyFile(t, f, filepath.Join(dir, filepath.Base(f)))
			concat(t, combined, f)
		}
	}
	gzipFile(t, filepath.Join(dirs["node1"], "access.log-"+day), filepath.Join(dirs["node1"], "access.log-"+day+".gz"))

	exitDir := t.TempDir()
	now := time.Now().UTC()
	var doc strings.Builder
	doc.WriteString("@type tordnsel 1.0\n")
	for i, a := range exits {
		pub := now.Add(-2 * time.Hour).Format(time.DateTime)
		fmt.Fprintf(&doc, "ExitNode %040X\nPublished %s\nLastStatus %s\nExitAddress %s %s\n", i+1, pub, now.Add(-time.Hour).Format(time.DateTime), a, pub)
	}
	writeFile(t, filepath.Join(exitDir, "exits-today"), []byte(doc.String()))

	byNodes := filepath.Join(t.TempDir(), "nodes.json")
	cfg := statsHost(t, filepath.Join(srv, "*", "access*.log*"), exitDir, byNodes, dirs)
	out := runOK(t, ".", depotBin, "stats", "update", "--config", cfg)
	dup := "access.log-" + day + ".gz"
	if !strings.Contains(out, dup) || !strings.Contains(out, "counted once") {
		t.Errorf("stats update does not report the copy %s:\n%s", dup, out)
	}
	byOne := filepath.Join(t.TempDir(), "one.json")
	runOK(t, ".", depotBin, "stats", "update", "--logs", combined, "--exit-lists", exitDir, "--data", byOne)

	got, gotMeta := statsFile(t, byNodes)
	want, wantMeta := statsFile(t, byOne)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("figures over three nodes' copies:\n%v\nover one combined log:\n%v", got, want)
	}
	month := now.Format("2006-01")
	for _, k := range []string{"lines", "plain_requests", "tor_requests", "malformed"} {
		if gotMeta[month][k] != wantMeta[month][k] {
			t.Errorf("meta %s %s: %v over the nodes, %v over one log", month, k, gotMeta[month][k], wantMeta[month][k])
		}
	}
	if sent := float64(len(plan)); gotMeta[month]["lines"] != sent && monthOfPlanIsOne(t, combined) {
		t.Errorf("meta %s lines = %v, want the %v requests sent", month, gotMeta[month]["lines"], sent)
	}
	if monthOfPlanIsOne(t, combined) {
		if exp := expectedFigures(plan, exit); !reflect.DeepEqual(got[month], exp) {
			t.Errorf("figures of %s:\n%v\nwant (the method applied to the plan):\n%v", month, got[month], exp)
		}
	}

	// Every node's coverage is recorded, and shown.
	nm, _ := gotMeta[month]["nodes"].(map[string]any)
	var lines float64
	for i := range nodes {
		name := fmt.Sprintf("node%d", i+1)
		n, _ := nm[name].(map[string]any)
		if n == nil {
			t.Fatalf("meta.months[%s].nodes has no %s: %v", month, name, gotMeta[month]["nodes"])
		}
		lines += n["lines"].(float64)
		if want := float64(count(plan, i)); n["lines"] != want {
			t.Errorf("%s: %v lines recorded, want the %v it logged (its copy counted once)", name, n["lines"], want)
		}
		if n["first"] == "" || n["last"] == "" {
			t.Errorf("%s: no first or last line time: %v", name, n)
		}
	}
	if lines != gotMeta[month]["lines"] {
		t.Errorf("the nodes' lines add up to %v, the month has %v", lines, gotMeta[month]["lines"])
	}
	show := runOK(t, ".", depotBin, "stats", "show", "--config", cfg)
	for name := range dirs {
		if !strings.Contains(show, name) {
			t.Errorf("stats show does not show %s's coverage:\n%s", name, show)
		}
	}
}

// count is how many requests of the plan go to node.
func count(plan []request, node int) int {
	n := 0
	for _, r := range plan {
		if r.node == node {
			n++
		}
	}
	return n
}

// monthOfPlanIsOne reports whether every line of the log is of one month
// (false only when the test ran across a month's end).
func monthOfPlanIsOne(t *testing.T, log string) bool {
	t.Helper()
	months := map[string]bool{}
	for _, l := range readLog(t, log) {
		if i := strings.IndexByte(l.Raw, '['); i >= 0 && len(l.Raw) > i+12 {
			months[l.Raw[i+4:i+12]] = true // "Dec/2026"
		}
	}
	return len(months) == 1
}

// waitLines waits until the log holds n lines (they are written within a
// second).
func waitLines(t *testing.T, path string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := 0
		if f, err := os.Open(path); err == nil {
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				got++
			}
			f.Close()
		}
		if got == n {
			return
		}
		if got > n || time.Now().After(deadline) {
			t.Fatalf("%s holds %d lines, want %d", path, got, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitOutput waits until depot has printed s.
func waitOutput(t *testing.T, d *Depot, s string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(d.Output(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("depot never printed %q:\n%s", s, d.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestStatsSharedCaseOverThreeNodes splits the shared case's logs line by
// line over three node directories (so that most addresses are seen on
// several nodes), compresses some files, adds a re-synced copy of one, and
// checks that `depot stats update` over them reproduces expected.json
// exactly, with every node recorded as covering every month.
func TestStatsSharedCaseOverThreeNodes(t *testing.T) {
	abs, err := filepath.Abs(sharedCase)
	if err != nil {
		t.Fatal(err)
	}
	srv := t.TempDir()
	dirs := map[string]string{}
	for k := range 3 {
		dirs[fmt.Sprintf("n%d", k+1)] = filepath.Join(srv, fmt.Sprintf("n%d", k+1))
	}
	for _, name := range []string{"access.log", "access.log.1", "access.log.2"} {
		b, err := os.ReadFile(filepath.Join(abs, "logs", name))
		if err != nil {
			t.Fatal(err)
		}
		var parts [3]strings.Builder
		for i, line := range strings.SplitAfter(string(b), "\n") {
			parts[i%3].WriteString(line)
		}
		for k := range parts {
			writeFile(t, filepath.Join(dirs[fmt.Sprintf("n%d", k+1)], name), []byte(parts[k].String()))
		}
	}
	for _, f := range []string{"n1/access.log.1", "n2/access.log.2", "n3/access.log.1"} {
		p := filepath.Join(srv, f)
		gzipFile(t, p, p+".gz")
		os.Remove(p)
	}
	copyFile(t, filepath.Join(srv, "n2/access.log"), filepath.Join(srv, "n2/access.log.resynced"))

	data := filepath.Join(t.TempDir(), "stats.json")
	cfg := statsHost(t, filepath.Join(srv, "*", "access*"), filepath.Join(abs, "exit-lists"), data, dirs)
	out := runOK(t, ".", depotBin, "stats", "update", "--config", cfg, "--month", "2026-09", "--month", "2026-10", "--month", "2026-11")
	if !strings.Contains(out, "access.log.resynced") {
		t.Errorf("stats update does not report the re-synced copy:\n%s", out)
	}
	got, meta := statsFile(t, data)
	b, err := os.ReadFile(filepath.Join(abs, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]map[string]map[string]int64
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("figures over three nodes:\n%v\nexpected.json:\n%v", got, want)
	}
	// Retention on the statistics host covers every node's directory: as
	// if it were January, September's and October's lines go from each
	// node's files, compressed or not (the case's undated garbage lines
	// stay, as prune keeps what has no time), and November's stay.
	pruned := runOK(t, ".", depotBin, "logs", "prune", "--config", cfg, "--now", "2027-01-05")
	for _, d := range dirs {
		old, _ := filepath.Glob(filepath.Join(d, "access.log.[12]*"))
		if len(old) != 2 {
			t.Fatalf("%s: old files %v, want September's and October's", d, old)
		}
		for _, f := range old {
			if !strings.Contains(pruned, "rewrote "+f+": removed ") && !strings.Contains(pruned, "deleted "+f) {
				t.Errorf("prune as of 2027-01-05 left %s as it was:\n%s", f, pruned)
			}
		}
		if nov := filepath.Join(d, "access.log"); strings.Contains(pruned, "rewrote "+nov+":") || strings.Contains(pruned, "deleted "+nov+"\n") {
			t.Errorf("prune removed November's lines from %s:\n%s", d, pruned)
		}
	}

	// Every node covered every month (the case's exit lists do not, so no
	// month is complete).
	for m, mm := range meta {
		nodes, _ := mm["nodes"].(map[string]any)
		for name := range dirs {
			if n, _ := nodes[name].(map[string]any); n == nil || n["covered"] != true || n["required"] != true {
				t.Errorf("%s: node %s: %v, want required and covered", m, name, nodes[name])
			}
		}
	}
}

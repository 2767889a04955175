package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"depot/internal/logfiles/logfilestest"
	"depot/internal/pseudonym"
	"depot/internal/testtool"
)

// pseudoSetup is a production-like installation holding the shared
// statistics case as rotated logs (plain, gzip), with error logs that name
// the same clients, and a [stats] table that publishes the chart.
type pseudoSetup struct {
	config, logDir, dataDir, root, exits string
	addrs                                []netip.Addr
}

func newPseudoSetup(t *testing.T) *pseudoSetup {
	t.Helper()
	abs, err := filepath.Abs(sharedCase)
	if err != nil {
		t.Fatal(err)
	}
	s := &pseudoSetup{logDir: t.TempDir(), dataDir: t.TempDir(), root: t.TempDir(), exits: filepath.Join(abs, "exit-lists")}
	copyFile(t, filepath.Join(abs, "logs", "access.log.2"), filepath.Join(s.logDir, "access.log-20260930"))
	b, err := os.ReadFile(filepath.Join(abs, "logs", "access.log.1"))
	if err != nil {
		t.Fatal(err)
	}
	writeGzip(t, filepath.Join(s.logDir, "access.log-20261031.gz"), string(b))
	copyFile(t, filepath.Join(abs, "logs", "access.log"), filepath.Join(s.logDir, "access.log-20261130"))
	writeFile(t, filepath.Join(s.root, "index.html"), []byte("home"))

	// Every client of the case, and error lines naming some of them as
	// depot and net/http write them.
	seen := map[netip.Addr]bool{}
	var errs []string
	for _, name := range []string{"access.log-20260930", "access.log-20261031.gz", "access.log-20261130"} {
		for i, l := range logfilestest.ReadLines(t, filepath.Join(s.logDir, name)) {
			f := strings.Fields(l)
			if len(f) < 4 {
				continue
			}
			a, err := netip.ParseAddr(f[0])
			if err != nil {
				continue
			}
			seen[a] = true
			if i%50 == 0 {
				when, _ := time.Parse("[02/Jan/2006:15:04:05", f[3])
				stamp := when.Format("2006/01/02 15:04:05")
				errs = append(errs,
					fmt.Sprintf(`%s [error] 7#0: *%d open() "/srv/www/x" failed (2: No such file or directory), client: %s, server: www.example.org, request: "GET /x HTTP/1.1", host: "www.example.org"`, stamp, i, a),
					fmt.Sprintf(`%s [info] 7#0: http: TLS handshake error from %s: EOF`, stamp, netip.AddrPortFrom(a, 51234)))
			}
		}
	}
	for a := range seen {
		s.addrs = append(s.addrs, a)
	}
	logfilestest.WriteFile(t, s.logDir, "error.log-20261130", errs...)

	s.config = filepath.Join(t.TempDir(), "depot.toml")
	writeFile(t, s.config, fmt.Appendf(nil, `log_dir = %q
data_dir = %q
retention_months = 3
pseudonymise = true

[[listen]]
address = "127.0.0.1:0"

[[site]]
hosts = ["*"]
root = %q
stats_path = "/statistics/"

[stats]
title = "Estimated userbase"
logs = [%q]
exit_lists = %q
min_count = 10
`, s.logDir, s.dataDir, s.root, filepath.Join(s.logDir, "access.log*"), s.exits))
	return s
}

// statsUpdate runs depot stats update on the case's months, publishing the
// chart, and returns each month's figures and detail without the time they
// were computed.
func (s *pseudoSetup) statsUpdate(t *testing.T) map[string]string {
	t.Helper()
	runOK(t, ".", depotBin, "stats", "update", "--config", s.config, "--month", "2026-09", "--month", "2026-10", "--month", "2026-11",
		"--chart", filepath.Join(s.root, "statistics", "stats"))
	b, err := os.ReadFile(filepath.Join(s.dataDir, "stats.json"))
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]json.RawMessage
	var meta struct {
		Months map[string]map[string]any `json:"months"`
	}
	if err := json.Unmarshal(b, &top); err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(top["meta"], &meta)
	out := map[string]string{}
	for _, m := range []string{"2026-09", "2026-10", "2026-11"} {
		delete(meta.Months[m], "computed_at")
		d, _ := json.Marshal(meta.Months[m])
		out[m] = string(top[m]) + " " + string(d)
	}
	return out
}

// The "done when": after a month ends, grep -r of every address
// seen that month under log_dir and the published directory finds
// nothing, and depot stats update gives the same figures as before.
func TestPseudonymisedMonthsHoldNoAddress(t *testing.T) {
	s := newPseudoSetup(t)
	before := s.statsUpdate(t)

	out := runOK(t, ".", depotBin, "logs", "pseudonymise", "--config", s.config, "--now", "2026-12-08")
	for _, want := range []string{
		"rewrote " + filepath.Join(s.logDir, "access.log-20260930") + ": 1963 lines\n",
		"rewrote " + filepath.Join(s.logDir, "access.log-20261031.gz") + ": 1953 lines\n",
		"rewrote " + filepath.Join(s.logDir, "error.log-20261130") + ": 236 lines\n",
		"pseudonymised 2026-09: 2043 lines in 2 files\n", "pseudonymised 2026-10: ", "pseudonymised 2026-11: ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("depot logs pseudonymise said %q; want it to say %q", out, want)
		}
	}
	if after := s.statsUpdate(t); !reflect.DeepEqual(before, after) {
		t.Errorf("figures changed:\nbefore %v\nafter  %v", before, after)
	}

	// grep -r, as an operator would, of every address in its usual
	// spellings; and every spelling, inside compressed files too.
	patterns := filepath.Join(t.TempDir(), "addresses")
	var list strings.Builder
	for _, a := range s.addrs {
		fmt.Fprintf(&list, "%s\n", a)
	}
	writeFile(t, patterns, []byte(list.String()))
	for _, dir := range []string{s.logDir, s.dataDir, s.root} {
		cmd := exec.Command("grep", "-r", "-w", "-F", "-f", patterns, dir)
		b, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Errorf("grep -r -w -F -f addresses %s: %v (want exit 1, nothing found):\n%.2000s", dir, err, b)
		}
		if hits := logfilestest.FindAddresses(t, dir, s.addrs); len(hits) > 0 {
			t.Errorf("%d addresses found under %s, e.g. %s", len(hits), dir, hits[0])
		}
	}
	for _, f := range []string{"stats.svg", "stats.png"} {
		if _, err := os.Stat(filepath.Join(s.root, "statistics", f)); err != nil {
			t.Errorf("the chart was not published: %v", err)
		}
	}

	// depot audit agrees: no real address in a settled month, no published
	// cell below min_count.
	out, _ = runErr(".", depotBin, "audit", "--config", s.config, "--offline", "--json")
	var results []struct{ ID, Status, Detail string }
	if err := json.Unmarshal([]byte(out[strings.Index(out, "["):strings.LastIndex(out, "]")+1]), &results); err != nil {
		t.Fatalf("depot audit --json: %v\n%s", err, out)
	}
	for _, r := range results {
		if (r.ID == "logs-pseudonymised" || r.ID == "published-min-count") && r.Status != "pass" {
			t.Errorf("depot audit: %s %s: %s", r.ID, r.Status, r.Detail)
		}
	}

	// Search says why an address is not found anymore.
	out, err := runErr(".", depotBin, "logs", "search", "--config", s.config, "--ip", s.addrs[0].String(), "--errors")
	if err != nil || !strings.Contains(out, "note: 2026-10 was pseudonymised") || strings.Contains(out, s.addrs[0].String()+" ") {
		t.Errorf("search: %v\n%s", err, out)
	}
}

// GoAccess reads pseudonymised lines as it read the originals.
func TestGoAccessReadsPseudonymisedLogs(t *testing.T) {
	testtool.Need(t, "goaccess")
	s := newPseudoSetup(t)
	log := filepath.Join(s.logDir, "access.log-20260930")
	raw := func() map[string]any {
		out := runOK(t, ".", "goaccess", log, "--log-format=COMBINED", "-o", "json", "--no-global-config")
		var r struct {
			General map[string]any `json:"general"`
		}
		i := strings.Index(out, `{"general"`)
		if i < 0 {
			t.Fatalf("goaccess output holds no report:\n%.2000s", out)
		}
		if err := json.Unmarshal([]byte(out[i:]), &r); err != nil {
			t.Fatalf("goaccess output is not JSON: %v\n%.2000s", err, out)
		}
		return r.General
	}
	before := raw()
	runOK(t, ".", depotBin, "logs", "pseudonymise", "--config", s.config, "--now", "2026-12-08")
	after := raw()
	for _, k := range []string{"total_requests", "valid_requests", "failed_requests", "unique_visitors"} {
		if before[k] != after[k] {
			t.Errorf("goaccess %s: %v before, %v after pseudonymisation", k, before[k], after[k])
		}
	}
	if before["valid_requests"] == nil || before["valid_requests"] == float64(0) {
		t.Fatalf("goaccess read nothing: %v", before)
	}
}

// depot serve pseudonymises settled months by itself when it starts (and
// then daily): a file of two months ago loses its addresses.
func TestServePseudonymises(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "index.html"), []byte("home"))
	cfg := serveConfig(t, root)
	c := parseConfig(t, cfg)
	exits := t.TempDir()
	month := time.Now().UTC().AddDate(0, -2, 0)
	day := time.Date(month.Year(), month.Month(), 10, 12, 0, 0, 0, time.UTC)
	name := "access.log-" + day.Format("20060102") + ".gz"
	logfilestest.WriteFile(t, c.LogDir, name,
		fmt.Sprintf(`203.0.113.7 - - [%s] "GET /r4.2/current/vm/fc37/repodata/repomd.xml HTTP/1.1" 200 10 "-" "libdnf"`, day.Format("02/Jan/2006:15:04:05 -0700")),
		fmt.Sprintf(`2001:db8:1:2::7 - - [%s] "GET / HTTP/1.1" 200 10 "-" "curl/8"`, day.Format("02/Jan/2006:15:04:05 -0700")))
	cfg = "pseudonymise = true\n" + cfg + fmt.Sprintf("\n[stats]\nlogs = [%q]\nexit_lists = %q\n", filepath.Join(c.LogDir, "access.log*"), exits)
	d := startDepot(t, cfg)
	path := filepath.Join(c.LogDir, name)
	deadline := time.Now().Add(30 * time.Second)
	for {
		lines := logfilestest.ReadLines(t, path)
		if _, _, ok := pseudonym.ParseText([]byte(strings.Fields(lines[0])[0])); ok {
			if _, _, ok := pseudonym.ParseText([]byte(strings.Fields(lines[1])[0])); !ok {
				t.Fatalf("only the IPv4 line was pseudonymised: %q", lines)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30 s %s still holds %q; depot said:\n%s", name, lines, d.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
	d.Stop(t)
	if want := "pseudonymised " + day.Format("2006-01") + ": 2 lines in 1 files"; !strings.Contains(d.Output(), want) {
		t.Errorf("depot serve said:\n%s\nwant %q", d.Output(), want)
	}
}

func parseConfig(t *testing.T, toml string) *struct{ LogDir string } {
	t.Helper()
	for _, l := range strings.Split(toml, "\n") {
		if v, ok := strings.CutPrefix(l, "log_dir = "); ok {
			var dir string
			json.Unmarshal([]byte(v), &dir)
			return &struct{ LogDir string }{dir}
		}
	}
	t.Fatal("no log_dir in the configuration")
	return nil
}

// A pseudonymisation killed at any moment (SIGKILL, no chance to clean up)
// leaves each file old or new; the next run finishes the work and the
// figures are those of before.
func TestPseudonymiseKilled(t *testing.T) {
	for _, when := range []string{"temp", "journal"} {
		t.Run(when, func(t *testing.T) {
			dir, exits := t.TempDir(), t.TempDir()
			// Four files of October, large enough that their rewrite
			// takes a while.
			originals := map[string]string{}
			for f := range 4 {
				name := fmt.Sprintf("access.log-202610%02d", 10+f)
				var b strings.Builder
				for i := range 60000 {
					fmt.Fprintf(&b, `10.%d.%d.%d - - [%02d/Oct/2026:%02d:%02d:%02d +0000] "GET /r4.%d/current/vm/fc37/repodata/repomd.xml HTTP/1.1" 200 10 "-" "libdnf"`+"\n",
						f, i/250, i%250, 10+f, i/3600%24, i/60%60, i%60, i%3)
				}
				originals[name] = b.String()
				writeFile(t, filepath.Join(dir, name), []byte(b.String()))
			}
			data := filepath.Join(t.TempDir(), "stats.json")
			figures := func() string {
				runOK(t, ".", depotBin, "stats", "update", "--logs", filepath.Join(dir, "access.log*"), "--exit-lists", exits, "--data", data, "--month", "2026-10")
				out := runOK(t, ".", depotBin, "stats", "show", "--data", data)
				return out[:strings.Index(out, "last updated")]
			}
			before := figures()

			cmd := exec.Command(depotBin, "logs", "pseudonymise", "--dir", dir, "--exit-lists", exits, "--now", "2026-12-01")
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			killed := false
		wait:
			for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
				select {
				case <-exited:
					break wait // finished before the moment came: still a valid outcome
				default:
				}
				if hasFile(t, dir, when) {
					cmd.Process.Signal(syscall.SIGKILL)
					<-exited
					killed = true
					break
				}
				time.Sleep(time.Millisecond)
			}
			t.Logf("killed during the %s phase: %v", when, killed)

			for name, old := range originals {
				b, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if string(b) != old && holdsDotted(string(b)) {
					t.Errorf("%s is neither the old file nor a whole new one", name)
				}
			}
			runOK(t, ".", depotBin, "logs", "pseudonymise", "--dir", dir, "--exit-lists", exits, "--now", "2026-12-01")
			for name := range originals {
				b, _ := os.ReadFile(filepath.Join(dir, name))
				if holdsDotted(string(b)) {
					t.Errorf("%s still holds addresses after the next run", name)
				}
			}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), ".") && e.Name() != ".depot-logs.lock" {
					t.Errorf("%s left behind", e.Name())
				}
			}
			if after := figures(); after != before {
				t.Errorf("figures changed:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

// hasFile reports whether dir holds a temporary file of a rewrite (temp:
// atomicfile's ".NAME.tmp-RANDOM") or the journal of one (journal).
func hasFile(t *testing.T, dir, what string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		n := e.Name()
		if (what == "temp" && strings.HasPrefix(n, ".access.log-") && strings.Contains(n, ".tmp-")) || (what == "journal" && n == ".depot-pseudonymise.journal") {
			return true
		}
	}
	return false
}

// holdsDotted reports whether any line starts with a dotted IPv4 address.
func holdsDotted(s string) bool {
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		f, _, _ := strings.Cut(sc.Text(), " ")
		if a, err := netip.ParseAddr(f); err == nil && a.Is4() {
			return true
		}
	}
	return false
}

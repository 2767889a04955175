package e2e

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ulikunitz/xz"

	"depot/internal/mirrors/mirrorstest"
	"depot/internal/testtool"
)

// onionName is the test sites' onion name.
const onionName = "aeaqcaibaeaqcaibaeaqcaibaeaqcaibaeaqcaibaeaqcaibaea37ead.onion"

// auditEnv is a production-like depot: a clearnet listener, an onion
// listener on a unix socket, a site that answers its onion name, a yum
// repository with live metalinks and a mirror with an onion address,
// published statistics and mirror status.
type auditEnv struct {
	dir, root, logs, data string
	clear, sock           string
	mirror                string
}

func newAuditEnv(t *testing.T) *auditEnv {
	t.Helper()
	dir := t.TempDir()
	e := &auditEnv{dir: dir, root: filepath.Join(dir, "www"), logs: filepath.Join(dir, "logs"), data: filepath.Join(dir, "data"),
		clear: freeAddr(t), sock: filepath.Join(socketDir(t), "onion.sock")}
	writeFile(t, filepath.Join(e.root, "index.html"), []byte("<!DOCTYPE html><title>x</title>"))
	writeFile(t, filepath.Join(e.root, "r4.2/current/host/fc37/repodata/repomd.xml"), []byte(`<?xml version="1.0"?><repomd><revision>1</revision></repomd>`))
	e.mirror = mirrorstest.Dir(t, e.root).URL
	return e
}

// config is the environment's configuration; extra is appended.
func (e *auditEnv) config(extra string) string {
	return fmt.Sprintf(`log_dir = %q
data_dir = %q
[[listen]]
address = %q
[[listen]]
address = "unix:%s"
onion = true
[[site]]
hosts = ["www.example.org", %q]
root = %q
onion_location = "http://%s"
onion_base_url = "http://%s/"
base_url = "https://www.example.org/"
metalinks = true
stats_path = "/statistics/"
mirror_status_path = "/mirrors/"
[[mirror]]
name = "m"
url = %q
onion = "http://aibaeaqcaibaeaqcaibaeaqcaibaeaqcaibaeaqcaibaeaqcaibejsqd.onion/"
[stats]
logs = [%q]
`, e.logs, e.data, e.clear, e.sock, onionName, e.root, onionName, onionName, e.mirror, filepath.Join(e.logs, "access.log*")) + extra
}

// serve starts depot serve on the environment's configuration.
func (e *auditEnv) serve(t *testing.T, extra string) *Depot {
	t.Helper()
	return startDepot(t, e.config(extra))
}

// audit runs depot audit on configuration text (written beside the
// environment) with args, and returns its output and exit status.
func (e *auditEnv) audit(t *testing.T, configTOML string, args ...string) (string, error) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "audited.toml")
	writeFile(t, file, []byte(configTOML))
	return runErr(".", depotBin, append([]string{"audit", "--config", file}, args...)...)
}

// wantLines checks that out holds every string of want. In "STATUS  id"
// and "STATUS  id  detail" the spaces match any run of spaces (the
// columns are aligned).
func wantLines(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		re := regexp.MustCompile(strings.ReplaceAll(regexp.QuoteMeta(w), "  ", " +"))
		if !re.MatchString(out) {
			t.Errorf("audit output lacks %q:\n%s", w, out)
		}
	}
}

// wantFail checks that the audit exited 1 and printed want.
func wantFail(t *testing.T, out string, err error, want ...string) {
	t.Helper()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Errorf("audit: %v, want exit status 1\n%s", err, out)
	}
	wantLines(t, out, want...)
}

// stamp is an access line dated at.
func stamp(addr string, at time.Time) string {
	return addr + ` - - [` + at.UTC().Format("02/Jan/2006:15:04:05 -0700") + `] "GET /r4.2/current/host/fc37/repodata/repomd.xml HTTP/1.1" 200 4 "-" "libdnf"` + "\n"
}

// longAgo is a time before any cutoff: six months ago.
func longAgo() time.Time { return time.Now().AddDate(0, -6, 0) }

// TestAuditPassesOnAKeptPolicy: depot audit on a running depot serve that
// keeps the policy passes every check it can run, the live ones included.
func TestAuditPassesOnAKeptPolicy(t *testing.T) {
	e := newAuditEnv(t)
	d := e.serve(t, "")
	torrc := filepath.Join(e.dir, "torrc")
	writeFile(t, torrc, []byte("HiddenServiceDir /var/lib/tor/depot/\nHiddenServicePort 80 unix:"+e.sock+"\n"))
	out := runOK(t, ".", depotBin, "audit", "--config", filepath.Join(d.Dir, "depot.toml"), "--torrc", torrc)
	wantLines(t, out,
		"PASS  onion-service", "PASS  torrc", "PASS  clearnet-logged", "PASS  onion-not-logged", "PASS  onion-reachable",
		"PASS  onion-answers-onion-only", "PASS  retention-months", "PASS  retention-enforced", "PASS  statistics",
		"PASS  logs-not-published", "PASS  published-no-address", "PASS  content-security-policy", "PASS  outbound",
		`"We provide an onion service for the website and onion service mirrors of the repositories. Access to these servers is not logged."`,
		"checks: ")
	if strings.Contains(out, "FAIL") {
		t.Errorf("a kept policy failed:\n%s", out)
	}
}

// TestAuditFailsOnEachBreak breaks one promise at a time under a running
// depot serve, as an auditor would, and expects exit status 1 with the
// check and the policy sentence it proves.
func TestAuditFailsOnEachBreak(t *testing.T) {
	t.Run("logs published by a root symlinked later", func(t *testing.T) {
		t.Parallel()
		e := newAuditEnv(t)
		d := e.serve(t, "")
		// The root becomes a symlink to the directory that holds log_dir.
		if err := os.Rename(e.root, e.root+".old"); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(e.dir, e.root); err != nil {
			t.Fatal(err)
		}
		out, err := runErr(".", depotBin, "audit", "--config", filepath.Join(d.Dir, "depot.toml"))
		wantFail(t, out, err, "FAIL  logs-not-published", "log_dir: ", "inside site[0].root", "after following symlinks",
			`"We never sell the data to anyone or share it with any third party."`)
		// check and serve refuse it, naming both keys.
		for _, cmd := range []string{"check", "serve"} {
			out, err = runErr(".", depotBin, cmd, "--config", filepath.Join(d.Dir, "depot.toml"))
			if err == nil || !strings.Contains(out, "log_dir: ") || !strings.Contains(out, "site[0].root") {
				t.Errorf("depot %s: %v\n%s\nwant a refusal naming log_dir and site[0].root", cmd, err, out)
			}
		}
	})
	t.Run("retention: files prune does not know", func(t *testing.T) {
		t.Parallel()
		e := newAuditEnv(t)
		d := e.serve(t, "")
		old := stamp("203.0.113.9", longAgo())
		var gz, truncated bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write([]byte(old))
		zw.Close()
		zw = gzip.NewWriter(&truncated)
		zw.Write([]byte(strings.Repeat(old, 1000)))
		zw.Close()
		var xzb bytes.Buffer
		xw, _ := xz.NewWriter(&xzb)
		xw.Write([]byte(old))
		xw.Close()
		writeFile(t, filepath.Join(e.logs, "access.log-20260815.xz"), xzb.Bytes())
		writeFile(t, filepath.Join(e.logs, "access.log-2026-08-17.gz"), gz.Bytes())
		writeFile(t, filepath.Join(e.logs, "access.log.old"), []byte(old))
		writeFile(t, filepath.Join(e.logs, "archive", "access.log-20260819.gz"), gz.Bytes())
		writeFile(t, filepath.Join(e.logs, "access.log-20261001.gz"), truncated.Bytes()[:truncated.Len()/2])
		writeFile(t, filepath.Join(e.logs, "access.log-20261002"), []byte(`203.0.113.9 - - [garbled] "GET / HTTP/1.1" 200 4 "-" "x"`+"\n"))
		// An old line in the active file, as an external rotation that
		// stopped leaves it.
		f, err := os.OpenFile(filepath.Join(e.logs, "access.log"), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(old)
		f.Close()
		out, err := runErr(".", depotBin, "audit", "--config", filepath.Join(d.Dir, "depot.toml"))
		wantFail(t, out, err, "FAIL  retention-enforced", "access.log-20260815.xz: 1 lines older than", "access.log-2026-08-17.gz: 1 lines older than",
			"access.log.old: 1 lines older than", "archive/access.log-20260819.gz: 1 lines older than", "access.log-20261001.gz: ",
			"cannot be read to the end", "access.log-20261002: 1 lines with a client address and no readable time", "access.log: 1 lines older than",
			`"The data is retained for up to three months so that we can re-calculate the previous two months' statistics in case anything goes wrong. After that, the data is deleted."`)
	})
	t.Run("retention: stats logs outside log_dir", func(t *testing.T) {
		t.Parallel()
		e := newAuditEnv(t)
		march := filepath.Join(e.dir, "march")
		writeFile(t, filepath.Join(march, "access.log-20260331"), []byte(stamp("203.0.113.9", longAgo())))
		d := e.serve(t, "")
		cfg := strings.Replace(e.config(""), fmt.Sprintf("logs = [%q]", filepath.Join(e.logs, "access.log*")),
			fmt.Sprintf("logs = [%q, %q]", filepath.Join(e.logs, "access.log*"), filepath.Join(march, "access.log*")), 1)
		_ = d
		out, err := e.audit(t, cfg)
		wantFail(t, out, err, "FAIL  retention-enforced", "march/access.log-20260331: 1 lines older than")
	})
	t.Run("an address deep in the published statistics", func(t *testing.T) {
		t.Parallel()
		e := newAuditEnv(t)
		writeFile(t, filepath.Join(e.logs, "access.log-"+time.Now().UTC().Format("20060102")), []byte(stamp("203.0.113.7", time.Now().Add(-time.Minute))))
		decoys := strings.Repeat(`"v4.2.1": "04:00:00 192.0.2.1", `, 30)
		writeFile(t, filepath.Join(e.data, "stats.json"), []byte(`{"meta": {`+decoys+`"title": "seen from 203.0.113.7"}}`))
		d := e.serve(t, "")
		out, err := runErr(".", depotBin, "audit", "--config", filepath.Join(d.Dir, "depot.toml"))
		wantFail(t, out, err, "FAIL  published-no-address", "stats.json holds 1 client address(es) of the logs: 203.0.x.x (dotted)",
			"site[0] /statistics/ holds", "site[0] /statistics/stats.svg holds")
		if strings.Contains(out, "203.0.113.7") {
			t.Errorf("the audit printed the client's whole address:\n%s", out)
		}
	})
	t.Run("an outbound connection the configuration does not explain", func(t *testing.T) {
		t.Parallel()
		e := newAuditEnv(t)
		// What ran checked a second mirror that the audited configuration
		// does not have: depot connected where its configuration does not
		// say.
		other := mirrorstest.Dir(t, e.root)
		d := e.serve(t, fmt.Sprintf("[[mirror]]\nname = \"other\"\nurl = %q\n", other.URL))
		deadline := time.Now().Add(30 * time.Second)
		for other.Total() == 0 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		d.Stop(t) // serve writes its outbound record when it stops
		_, port, _ := strings.Cut(strings.TrimSuffix(strings.TrimPrefix(other.URL, "http://"), "/"), ":")
		out, err := e.audit(t, e.config(""))
		wantFail(t, out, err, "FAIL  outbound", "127.0.0.1:"+port+" (mirror-check")
		wantLines(t, out, "WARN  server", "depot serve is not running")
	})
	t.Run("the onion name unknown to the running server", func(t *testing.T) {
		t.Parallel()
		e := newAuditEnv(t)
		// What runs has neither the onion name nor onion_location (the
		// operator edited the file and never reloaded).
		running := strings.Replace(strings.Replace(e.config(""), fmt.Sprintf(`hosts = ["www.example.org", %q]`, onionName), `hosts = ["www.example.org"]`, 1),
			fmt.Sprintf("onion_location = \"http://%s\"\n", onionName), "", 1)
		startDepot(t, running)
		out, err := e.audit(t, e.config(""))
		wantFail(t, out, err, "FAIL  onion-reachable", "answers 404, want 200")
	})
	t.Run("tor forwards the onion service to the clearnet listener", func(t *testing.T) {
		t.Parallel()
		e := newAuditEnv(t)
		d := e.serve(t, "")
		torrc := filepath.Join(e.dir, "torrc")
		writeFile(t, torrc, []byte("HiddenServiceDir /var/lib/tor/depot/\nHiddenServicePort 80 "+e.clear+"\n"))
		out, err := runErr(".", depotBin, "audit", "--config", filepath.Join(d.Dir, "depot.toml"), "--torrc", torrc)
		wantFail(t, out, err, "FAIL  torrc", "a clearnet listener that logs them")
	})
	t.Run("an onion listener that logs", func(t *testing.T) {
		t.Parallel()
		e := newAuditEnv(t)
		// The audited configuration says onion for a port that the running
		// server treats as clearnet.
		fake := freeAddr(t)
		running := e.config("[[listen]]\naddress = \"" + fake + "\"\n")
		startDepot(t, running)
		out, err := e.audit(t, e.config("[[listen]]\naddress = \""+fake+"\"\nonion = true\n"))
		wantFail(t, out, err, "FAIL  onion-not-logged", "onion requests were logged in "+filepath.Join(e.logs, "access.log"))
	})
	t.Run("a script from a CDN", func(t *testing.T) {
		t.Parallel()
		e := newAuditEnv(t)
		writeFile(t, filepath.Join(e.root, "index.html"), []byte(`<!DOCTYPE html><title>x</title><script src="https://cdn.example.net/x.js"></script>`))
		d := e.serve(t, "")
		out, err := runErr(".", depotBin, "audit", "--config", filepath.Join(d.Dir, "depot.toml"))
		wantFail(t, out, err, "FAIL  site[0]-local-resources", "cdn.example.net")
	})
}

// TestAuditWithoutAServer: audit says once that depot serve is not
// running, skips the live checks and runs the offline ones; a kept policy
// then exits 0, a broken one 1. --offline says nothing about the server.
func TestAuditWithoutAServer(t *testing.T) {
	e := newAuditEnv(t)
	file := filepath.Join(e.dir, "depot.toml")
	writeFile(t, file, []byte(e.config("")))
	if err := os.MkdirAll(e.logs, 0o755); err != nil {
		t.Fatal(err)
	}
	out := runOK(t, ".", depotBin, "audit", "--config", file)
	if n := strings.Count(out, "is not running"); n != 1 {
		t.Errorf("%d mentions that depot serve is not running, want 1:\n%s", n, out)
	}
	if strings.Contains(out, "connection refused") {
		t.Errorf("audit repeats connection errors:\n%s", out)
	}
	wantLines(t, out, "WARN  server", "SKIP  clearnet-logged", "PASS  retention-enforced")

	out = runOK(t, ".", depotBin, "audit", "--config", file, "--offline")
	if strings.Contains(out, "not running") {
		t.Errorf("--offline talks about the server:\n%s", out)
	}
	wantLines(t, out, "SKIP  onion-not-logged  --offline")

	writeFile(t, filepath.Join(e.logs, "access.log-20250101"), []byte(stamp("198.51.100.1", longAgo())))
	out, err := runErr(".", depotBin, "audit", "--offline", "--config", file)
	wantFail(t, out, err, "FAIL  retention-enforced", "access.log-20250101", "depot logs prune")
}

// TestAuditChangesNothingOnDisk: an offline audit, and one that finds no
// server, leave every name, size, mode and mtime under log_dir and
// data_dir as they were, whatever they find there.
func TestAuditChangesNothingOnDisk(t *testing.T) {
	e := newAuditEnv(t)
	writeFile(t, filepath.Join(e.logs, "access.log-20250101"), []byte(stamp("198.51.100.1", longAgo())))
	writeFile(t, filepath.Join(e.logs, "access.log-20250102.gz.tmp"), []byte("partial"))
	writeFile(t, filepath.Join(e.data, "stats.json"), []byte(`{"meta": {}}`))
	file := filepath.Join(e.dir, "depot.toml")
	writeFile(t, file, []byte(e.config("")))
	before := diskState(t, e.logs, e.data)
	for _, args := range [][]string{{"--offline"}, nil} {
		if out, err := runErr(".", depotBin, append([]string{"audit", "--config", file}, args...)...); err == nil {
			t.Fatalf("audit %v passed a log directory with 2025 lines:\n%s", args, out)
		}
	}
	if after := diskState(t, e.logs, e.data); !maps.Equal(before, after) {
		t.Errorf("depot audit changed the disk:\nbefore %v\nafter  %v", before, after)
	}
}

// TestLiveAuditWritesNothingAndContactsOnlyDepot runs a live audit under
// strace next to a running depot serve (whose own background writes would
// blur a before/after comparison): the audit makes no system call that
// creates, writes, renames, removes or changes a file, and connects to
// depot's own listeners only.
func TestLiveAuditWritesNothingAndContactsOnlyDepot(t *testing.T) {
	testtool.Need(t, "strace")
	e := newAuditEnv(t)
	d := e.serve(t, "")
	trace := filepath.Join(t.TempDir(), "trace")
	out := runOK(t, ".", "strace", "-f", "-qq", "-e", "trace=%file,%desc,connect", "-o", trace,
		depotBin, "audit", "--config", filepath.Join(d.Dir, "depot.toml"))
	wantLines(t, out, "PASS  clearnet-logged", "PASS  onion-not-logged")
	b, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	writing := regexp.MustCompile(`^\d+ +(open|openat|openat2)\(.*\b(O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|O_APPEND)\b|^\d+ +(creat|rename|renameat2?|unlink|unlinkat|mkdir|mkdirat|rmdir|chmod|fchmod|fchmodat|chown|fchown|fchownat|lchown|utimensat|utimes|futimesat|truncate|ftruncate|link|linkat|symlink|symlinkat|mknod|mknodat|fallocate)\(`)
	_, port, _ := strings.Cut(e.clear, ":")
	connects := 0
	for _, line := range strings.Split(string(b), "\n") {
		if writing.MatchString(line) && !strings.Contains(line, "= -1 ") {
			t.Errorf("depot audit changed the disk: %s", line)
		}
		if strings.Contains(line, "connect(") {
			connects++
			if !strings.Contains(line, `sun_path="`+e.sock+`"`) && !strings.Contains(line, "htons("+port+")") {
				t.Errorf("depot audit connected elsewhere than depot's listeners: %s", line)
			}
		}
	}
	if connects == 0 {
		t.Fatalf("strace recorded no connect(); the test proves nothing\n%s", b)
	}
}

type diskEntry struct {
	size int64
	mod  time.Time
	mode fs.FileMode
}

func diskState(t *testing.T, dirs ...string) map[string]diskEntry {
	t.Helper()
	m := map[string]diskEntry{}
	for _, dir := range dirs {
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil {
				if info, err := d.Info(); err == nil {
					m[p] = diskEntry{info.Size(), info.ModTime(), info.Mode()}
				}
			}
			return nil
		})
	}
	return m
}

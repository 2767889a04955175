package audit

import (
	"context"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"depot/internal/config"
	"depot/internal/responder"
	"depot/internal/server"
)

// testNow is the offline tests' clock: retention keeps 2026-09-01 on.
var testNow = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// onionName56 is a well-formed onion name for the tests.
const onionName56 = "aeaqcaibaeaqcaibaeaqcaibaeaqcaibaeaqcaibaeaqcaibaea37ead.onion"

// setup is a configuration over fresh directories: a log directory, a
// data directory and one site, with a clearnet and an onion listener on
// loopback addresses that nothing listens on (startServer binds them).
type setup struct {
	dir  string
	cfg  *config.Config
	root string
}

func newSetup(t testing.TB) *setup {
	t.Helper()
	dir := t.TempDir()
	s := &setup{dir: dir, root: filepath.Join(dir, "www")}
	writeFiles(t, s.root, map[string]string{"index.html": "<!DOCTYPE html><title>home</title>"})
	s.cfg = &config.Config{
		LogDir: filepath.Join(dir, "logs"), DataDir: filepath.Join(dir, "data"), RetentionMonths: 3, LogRotation: config.RotationDaily,
		Listen: []config.Listen{{Address: "127.0.0.1:1"}, {Address: "127.0.0.1:2", Onion: true}},
		Site: []config.Site{{Hosts: []string{"www.example.org", onionName56}, Root: s.root,
			OnionLocation: "http://" + onionName56}},
	}
	s.cfg.Stats.Data = filepath.Join(s.cfg.DataDir, "stats.json")
	for _, d := range []string{s.cfg.LogDir, s.cfg.DataDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// run runs the audit offline at testNow.
func (s *setup) run(t testing.TB) []Result {
	t.Helper()
	return Run(context.Background(), Options{Config: s.cfg, Now: func() time.Time { return testNow }, ResolvConf: s.resolvConf(t)})
}

// startServer runs depot's server in-process on the setup's configuration,
// with every listener on a fresh loopback port, and rewrites the setup's
// listener addresses to the bound ones. responders, if set, are the
// sites' responders.
func (s *setup) startServer(t testing.TB, responders func(config.Site) []responder.Responder) {
	t.Helper()
	run := *s.cfg
	run.Listen = slices.Clone(s.cfg.Listen)
	for i := range run.Listen {
		if !run.Listen[i].IsUnix() {
			run.Listen[i].Address = "127.0.0.1:0"
		}
	}
	srv, err := server.New(&run, server.Options{Responders: responders})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	for i, a := range srv.Addrs() {
		if !s.cfg.Listen[i].IsUnix() {
			s.cfg.Listen[i].Address = a.String()
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
}

// live runs the audit with its live checks, at the real time (the server
// writes real times).
func (s *setup) live(t testing.TB) []Result {
	t.Helper()
	return Run(context.Background(), Options{Config: s.cfg, Live: true, ResolvConf: s.resolvConf(t)})
}

// resolvConf is the resolv.conf the audits of the setup read: it names
// 127.0.0.53, as systemd-resolved's does.
func (s *setup) resolvConf(t testing.TB) string {
	t.Helper()
	p := filepath.Join(s.dir, "resolv.conf")
	writeBytes(t, p, []byte("nameserver 127.0.0.53\noptions edns0\n"))
	return p
}

// writeFiles creates files (name → content) under dir.
func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		writeBytes(t, filepath.Join(dir, name), []byte(content))
	}
}

func writeBytes(t testing.TB, p string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// result finds check id among rs.
func result(t testing.TB, rs []Result, id string) Result {
	t.Helper()
	for _, r := range rs {
		if r.ID == id {
			return r
		}
	}
	t.Fatalf("no check %s among %v", id, ids(rs))
	return Result{}
}

func ids(rs []Result) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.ID+"="+string(r.Status))
	}
	return out
}

// expect checks that id has status under the policy sentence and that
// its detail holds every string of want.
func expect(t testing.TB, rs []Result, id string, status Status, policy string, want ...string) {
	t.Helper()
	r := result(t, rs, id)
	if r.Status != status {
		t.Errorf("%s: got %s %q, want %s", id, r.Status, r.Detail, status)
	}
	if r.Policy != policy {
		t.Errorf("%s: policy %q, want %q", id, r.Policy, policy)
	}
	for _, w := range want {
		if !strings.Contains(r.Detail, w) {
			t.Errorf("%s: detail %q lacks %q", id, r.Detail, w)
		}
	}
}

// accessLine is a combined-format line from addr at time at.
func accessLine(addr string, at time.Time) string {
	return addr + ` - - [` + at.UTC().Format("02/Jan/2006:15:04:05 -0700") + `] "GET /r4.2/repodata/repomd.xml HTTP/1.1" 200 4 "-" "libdnf"` + "\n"
}

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t.Add(10 * time.Hour)
}

// fileState is what the no-change assertion compares.
type fileState struct {
	size int64
	mod  time.Time
	mode fs.FileMode
}

// snapshot notes every name under dirs with its size, mtime and mode.
func snapshot(t testing.TB, dirs ...string) map[string]fileState {
	t.Helper()
	m := map[string]fileState{}
	for _, dir := range dirs {
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if info, err := d.Info(); err == nil {
				m[p] = fileState{size: info.Size(), mod: info.ModTime(), mode: info.Mode()}
			}
			return nil
		})
	}
	return m
}

func netListen() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }

// mirrorAt is a mirror at url.
func mirrorAt(url string) config.Mirror {
	return config.Mirror{Name: "m", URL: url}
}

func (s *setup) cfgNow() time.Time { return testNow }

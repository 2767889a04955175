package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"depot/internal/config"
	"depot/internal/server"
)

// statsConfig writes a configuration whose log_dir is dir/logs and whose
// [stats] read it, plus extra TOML, and returns its path and log_dir.
func statsConfig(t *testing.T, extra string) (cfgPath, logDir string) {
	t.Helper()
	dir := t.TempDir()
	logDir = filepath.Join(dir, "logs")
	for _, d := range []string{logDir, filepath.Join(dir, "www")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cfgPath = filepath.Join(dir, "depot.toml")
	toml := "log_dir = \"logs\"\ndata_dir = \"data\"\n[[listen]]\naddress = \"127.0.0.1:0\"\n[[site]]\nhosts = [\"*\"]\nroot = \"www\"\n[stats]\nlogs = [\"logs/access.log*\"]\n" + extra
	if err := os.WriteFile(cfgPath, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfgPath, logDir
}

const augustLine = `203.0.113.7 - - [15/Aug/2026:10:00:00 +0000] "GET /r4.2/current/repodata/repomd.xml HTTP/1.1" 200 1 "-" "-"` + "\n"

// TestPruneRefusalPrintsNothingDeleted is issue 10's report: when prune
// refused, it first printed "deleted ..." for files it then kept.
func TestPruneRefusalPrintsNothingDeleted(t *testing.T) {
	cfgPath, logDir := statsConfig(t, "data = \"not-a-dir/stats.json\"\n")
	os.WriteFile(filepath.Join(filepath.Dir(cfgPath), "not-a-dir"), nil, 0o644)
	old := filepath.Join(logDir, "access.log-20260815")
	os.WriteFile(old, []byte(augustLine), 0o640)
	out, errOut, err := runDepot(t, "logs", "prune", "--config", cfgPath, "--now", "2026-11-30")
	if err == nil || !strings.Contains(err.Error(), "refusing to delete logs of 2026-08") {
		t.Fatalf("err %v; want a refusal", err)
	}
	if strings.Contains(out+errOut, "deleted "+old) || !strings.Contains(out, "nothing deleted") {
		t.Errorf("output after a refusal:\n%s%s\nwant no line saying the file was deleted", out, errOut)
	}
	if _, err := os.Stat(old); err != nil {
		t.Errorf("the file was deleted after all: %v", err)
	}
}

// TestPruneDirOnAConfiguredLogDir is issue 8's bypass: --dir on the
// log_dir of a configuration with [stats] deleted months whose statistics
// were never computed.
func TestPruneDirOnAConfiguredLogDir(t *testing.T) {
	cfgPath, logDir := statsConfig(t, "")
	old := filepath.Join(logDir, "access.log-20260815")
	os.WriteFile(old, []byte(augustLine), 0o640)
	prune := func(args ...string) (string, error) {
		cmd := newLogsPruneCmd(cfgPath) // cfgPath stands for /etc/depot/depot.toml
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs(append([]string{"--dir", logDir, "--now", "2026-11-30"}, args...))
		err := cmd.ExecuteContext(context.Background())
		return out.String(), err
	}
	_, err := prune()
	var ue usageError
	if err == nil || !strings.Contains(err.Error(), "--config "+cfgPath) || !strings.Contains(err.Error(), "--no-stats-guard") || !errors.As(err, &ue) {
		t.Fatalf("prune --dir on a configured log_dir: %v; want a usage error naming --config and --no-stats-guard", err)
	}
	if out, err := prune("--dry-run"); err != nil || !strings.Contains(out, "would delete "+old) {
		t.Errorf("a dry run: %v, %q; want allowed (it changes nothing)", err, out)
	}
	if _, err := os.Stat(old); err != nil {
		t.Fatal("the file was deleted")
	}
	if out, err := prune("--no-stats-guard"); err != nil || !strings.Contains(out, "deleted "+old) {
		t.Errorf("with --no-stats-guard: %v, %q", err, out)
	}
	// A directory no configuration reads from is pruned as asked.
	if g, err := guardedBy(t.TempDir(), cfgPath); g != "" || err != nil {
		t.Errorf("guardedBy of another directory = %q, %v", g, err)
	}
	if g, err := guardedBy(logDir, filepath.Join(t.TempDir(), "none.toml")); g != "" || err != nil {
		t.Errorf("guardedBy without a configuration file = %q, %v", g, err)
	}
}

// TestPruneNamesWhatItCannotAndExits1: one truncated file does not stop
// the others; it is named and the exit status is 1.
func TestPruneNamesWhatItCannotAndExits1(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "access.log-20260815"), []byte(augustLine), 0o640)
	os.WriteFile(filepath.Join(dir, "access.log-20260816.gz"), []byte("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff\x02"), 0o640)
	if code := run([]string{"logs", "prune", "--dir", dir, "--now", "2026-11-30"}); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if _, err := os.Stat(filepath.Join(dir, "access.log-20260815")); err == nil {
		t.Error("the readable old file was kept because another was truncated")
	}
	if _, err := os.Stat(filepath.Join(dir, "access.log-20260816.gz")); err != nil {
		t.Error("the truncated file was deleted")
	}
}

// TestStatsConfigErrorKeepsRotation is issue 10's seam: a statistics
// configuration error turned rotation off while saying only retention was.
func TestStatsConfigErrorKeepsRotation(t *testing.T) {
	cfgPath, logDir := statsConfig(t, "")
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Stats.Rules = []config.StatsRule{{Path: "^/no-release-capture$"}} // slipped past validation
	srv, err := server.New(cfg, server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil { // binds 127.0.0.1:0, opens the logs
		t.Fatal(err)
	}
	defer srv.Close()
	srv.AccessLog().Write([]byte(augustLine))
	srv.AccessLog().Flush()
	yesterday := time.Now().Add(-24 * time.Hour)
	os.Chtimes(filepath.Join(logDir, "access.log"), yesterday, yesterday)
	var stderr syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	jobs := startJobs(ctx, cfg, srv, nil, nil, nil, &stderr)
	rotated := filepath.Join(logDir, "access.log-"+yesterday.UTC().Format("20060102")+".gz")
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(rotated); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			jobs.Wait()
			t.Fatalf("no rotation with a broken [stats]: %s not made; stderr %q", rotated, stderr.String())
		}
		time.Sleep(10 * time.Millisecond) // polling for the condition
	}
	cancel()
	jobs.Wait()
	if got := stderr.String(); !strings.Contains(got, "log retention is off until this is fixed (rotation goes on)") {
		t.Errorf("stderr %q; want retention said off and rotation on", got)
	}
}

// syncBuffer is a bytes.Buffer safe for the jobs' concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestTruncatedLogDoesNotStopGuardedRetention is issue 9's report: one
// truncated .gz stopped retention for every other file, because the
// statistics guard could not read it.
func TestTruncatedLogDoesNotStopGuardedRetention(t *testing.T) {
	cfgPath, logDir := statsConfig(t, "")
	old := filepath.Join(logDir, "access.log-20260815")
	os.WriteFile(old, []byte(augustLine), 0o640)
	truncated := filepath.Join(logDir, "access.log-20261110.gz")
	os.WriteFile(truncated, []byte("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff\x02"), 0o640)
	out, errOut, err := runDepot(t, "logs", "prune", "--config", cfgPath, "--now", "2026-11-30")
	if err == nil || !strings.Contains(errOut, truncated) {
		t.Errorf("err %v, stderr %q; want the truncated file named and a failure", err, errOut)
	}
	if !strings.Contains(out, "deleted "+old) {
		t.Errorf("stdout %q; want the old file deleted", out)
	}
	if _, err := os.Stat(truncated); err != nil {
		t.Errorf("the truncated file was deleted: %v", err)
	}
}

// TestPruneDirInsideOrAboveAGuardedDir: the statistics guard holds for a
// --dir that is not a configured directory itself but reaches its logs:
// a subdirectory of log_dir, a parent of it, one node's directory of a
// [stats] logs glob (docs/nodes.md's /srv/logs/*/access*.log*).
func TestPruneDirInsideOrAboveAGuardedDir(t *testing.T) {
	cfgPath, logDir := statsConfig(t, "")
	base := filepath.Dir(cfgPath)
	nodes := filepath.Join(base, "nodes")
	eu1 := filepath.Join(nodes, "eu1")
	for _, d := range []string{filepath.Join(logDir, "archive"), eu1} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	toml, _ := os.ReadFile(cfgPath)
	toml = []byte(strings.Replace(string(toml), `logs = ["logs/access.log*"]`, `logs = ["logs/access.log*", "nodes/*/access*.log*"]`, 1))
	if err := os.WriteFile(cfgPath, toml, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{filepath.Join(logDir, "archive"), base, eu1, nodes, logDir + "/."} {
		if g, err := guardedBy(dir, cfgPath); g != cfgPath || err != nil {
			t.Errorf("guardedBy(%s) = %q, %v; want %s", dir, g, err, cfgPath)
		}
	}
	if g, err := guardedBy(t.TempDir(), cfgPath); g != "" || err != nil {
		t.Errorf("guardedBy of another directory = %q, %v", g, err)
	}
}

package stats

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"depot/internal/logread"
)

// TestUpdateRefusesToEmptyAComputedMonth is issue 10's mistyped glob: a
// run that reads no line of a month the data file has figures for must
// not replace them with nothing, unless forced.
func TestUpdateRefusesToEmptyAComputedMonth(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "stats.json")
	log := filepath.Join(dir, "access.log")
	os.WriteFile(log, []byte(lines(
		logLine("203.0.113.1", "05/Oct/2026:10:00:00 +0000", get("r4.2"), 200),
		logLine("203.0.113.2", "06/Oct/2026:10:00:00 +0000", get("r4.2"), 200),
	)), 0o644)
	opts := Options{Logs: []string{log}, DataFile: data, Months: months("2026-10", "2026-11"), Now: fixedNow("2026-11-29T04:00:00Z")}
	if _, err := Update(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(data)

	opts.Logs = []string{filepath.Join(dir, "acess.log*")} // mistyped
	_, err := Update(context.Background(), opts)
	if err == nil || !strings.Contains(err.Error(), "2026-10 (computed at 2026-11-29T04:00:00Z from 2 lines)") || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("Update = %v; want a refusal naming 2026-10 and --force", err)
	}
	if strings.Contains(err.Error(), "2026-11 (") {
		t.Errorf("the refusal names 2026-11, which had no lines: %v", err)
	}
	if after, _ := os.ReadFile(data); string(after) != string(before) {
		t.Errorf("the data file changed after a refusal:\n%s\nwant\n%s", after, before)
	}

	opts.Force = true
	if _, err := Update(context.Background(), opts); err != nil {
		t.Fatalf("with Force: %v", err)
	}
	figs, _, _ := readBack(t, data)
	if len(figs["2026-10"]) != 0 {
		t.Errorf("with Force, 2026-10 holds %v, want nothing", figs["2026-10"])
	}
}

// TestLogGlobsSkipTempFiles is issue 9's leftover .rewrite.tmp, which was
// counted as well as the file it was being made from.
func TestLogGlobsSkipTempFiles(t *testing.T) {
	dir := t.TempDir()
	line := logLine("203.0.113.1", "05/Nov/2026:10:00:00 +0000", get("r4.2"), 200)
	other := logLine("203.0.113.9", "05/Nov/2026:11:00:00 +0000", get("r4.2"), 200)
	os.WriteFile(filepath.Join(dir, "access.log.2"), []byte(lines(line)), 0o644)
	for _, tmp := range []string{"access.log.2.rewrite.tmp", "access.log-20261130.gz.tmp", ".access.log.2.tmp-123"} {
		os.WriteFile(filepath.Join(dir, tmp), []byte(lines(other)), 0o644)
	}
	res, err := Update(context.Background(), Options{Logs: []string{filepath.Join(dir, "*")}, DataFile: filepath.Join(t.TempDir(), "stats.json"), Months: months("2026-11"), Now: fixedNow("2026-11-29T04:00:00Z")})
	if err != nil {
		t.Fatal(err)
	}
	if res.Files != 1 || res.Lines != 1 {
		t.Errorf("read %d files, %d lines; want 1 file, 1 line (temporary files skipped)", res.Files, res.Lines)
	}
}

// TestLogGlobsSkipNamedPipes: a named pipe planted in a writable log
// directory, matched by [stats] logs, made stats update (and the daily
// run of serve) hang in its open, deaf to SIGTERM. It is skipped, with a
// warning.
func TestLogGlobsSkipNamedPipes(t *testing.T) {
	dir := t.TempDir()
	line := logLine("203.0.113.1", "05/Nov/2026:10:00:00 +0000", get("r4.2"), 200)
	os.WriteFile(filepath.Join(dir, "access.log.2"), []byte(lines(line)), 0o644)
	fifo := filepath.Join(dir, "access.log-20261130")
	if err := syscall.Mkfifo(fifo, 0o666); err != nil {
		t.Fatal(err)
	}
	type result struct {
		res *Result
		err error
	}
	got := make(chan result, 1)
	go func() {
		res, err := Update(context.Background(), Options{Logs: []string{filepath.Join(dir, "access.log*")}, DataFile: filepath.Join(t.TempDir(), "stats.json"), Months: months("2026-11"), Now: fixedNow("2026-11-29T04:00:00Z")})
		got <- result{res, err}
	}()
	var r result
	select {
	case r = <-got:
	case <-time.After(20 * time.Second):
		t.Fatal("Update still waits on a named pipe among the logs")
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.res.Files != 1 || r.res.Lines != 1 {
		t.Errorf("read %d files, %d lines; want 1 file, 1 line (the pipe skipped)", r.res.Files, r.res.Lines)
	}
	if w := strings.Join(r.res.Warnings, "\n"); !strings.Contains(w, fifo) || !strings.Contains(w, "not a regular file") {
		t.Errorf("warnings %q do not name the skipped pipe", r.res.Warnings)
	}
}

// TestUpdateCountsADamagedFile: a truncated .gz among the logs does not
// stop the run (nor, through the guard, retention): its lines before the
// damage are counted and the file is reported.
func TestUpdateCountsADamagedFile(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	for i := range 3000 {
		b.WriteString(logLine(fmt.Sprintf("203.0.%d.%d", i/250, i%250+1), "05/Nov/2026:10:00:00 +0000", get("r4.2"), 200) + "\n")
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(b.String()))
	zw.Close()
	os.WriteFile(filepath.Join(dir, "access.log.2.gz"), gz.Bytes()[:gz.Len()/2], 0o644)
	os.WriteFile(filepath.Join(dir, "access.log.1"), []byte(lines(logLine("198.51.100.1", "06/Nov/2026:10:00:00 +0000", get("r4.2"), 200))), 0o644)
	data := filepath.Join(dir, "stats.json")
	res, err := Update(context.Background(), Options{Logs: []string{filepath.Join(dir, "access.log*")}, DataFile: data, Months: months("2026-11"), Now: fixedNow("2026-11-29T04:00:00Z")})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Damaged) != 1 || !errors.Is(res.Damaged[0], logread.ErrTruncated) || !strings.Contains(res.Damaged[0].Error(), "access.log.2.gz") {
		t.Fatalf("Damaged = %v; want the truncated file", res.Damaged)
	}
	figs, _, _ := readBack(t, data)
	if got := figs["2026-11"]["any"].Plain; got < 2 || got > 3001 {
		t.Errorf("any = %d addresses; want the intact file's and those before the damage", got)
	}
}

package stats

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"depot/internal/month"
)

func monthLines(pairs ...any) map[month.Month]int64 {
	m := map[month.Month]int64{}
	for i := 0; i < len(pairs); i += 2 {
		m[month.MustParse(pairs[i].(string))] = int64(pairs[i+1].(int))
	}
	return m
}

func TestGuardComputesMissingMonthsFirst(t *testing.T) {
	dir := copyTree(t, sharedCase)
	data := filepath.Join(dir, "stats.json")
	g := Guard{Options: Options{
		Logs:         []string{filepath.Join(dir, "logs", "access.log*")},
		ExitListsDir: filepath.Join(dir, "exit-lists"),
		DataFile:     data,
		Now:          fixedNow("2026-11-20T04:00:00Z"),
	}}
	// Computed during the month is not enough: September must be computed
	// after it ended, so a data file from 2026-09-15 does not count.
	if _, err := Update(context.Background(), Options{Logs: g.Options.Logs, DataFile: data, Months: months("2026-09"), Now: fixedNow("2026-09-15T04:00:00Z")}); err != nil {
		t.Fatal(err)
	}
	if todo, err := g.missing(months("2026-09")); err != nil || len(todo) != 1 {
		t.Fatalf("missing = %v, %v; a computation during the month must not count", todo, err)
	}

	if err := g.EnsureComputed(context.Background(), monthLines("2026-09", 1)); err != nil {
		t.Fatal(err)
	}
	at, _, err := MonthComputed(data, month.MustParse("2026-09"))
	if err != nil || at.Before(time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("after EnsureComputed, 2026-09 computed at %v (%v); want after the month ended", at, err)
	}

	// Already computed: nothing is rewritten (the data file is replaced by
	// rename, so a rewrite would be a new file).
	before, err := os.Stat(data)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.EnsureComputed(context.Background(), monthLines("2026-09", 1)); err != nil {
		t.Fatal(err)
	}
	if after, err := os.Stat(data); err != nil || !os.SameFile(before, after) {
		t.Error("EnsureComputed rewrote a data file that already held the month")
	}
}

func TestGuardRefusesWhenItCannotCompute(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "not-a-dir")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	g := Guard{Options: Options{Logs: []string{filepath.Join(dir, "*.log")}, DataFile: filepath.Join(blocker, "stats.json")}}
	err := g.EnsureComputed(context.Background(), monthLines("2026-08", 3))
	if err == nil || !strings.Contains(err.Error(), "2026-08") {
		t.Fatalf("EnsureComputed = %v; want an error naming 2026-08", err)
	}
}

// TestGuardRefusesMonthsFromNoLine is issue 8's bypass: [stats] logs do
// not cover the logs being deleted, so the months are "computed" from no
// line at all. That must not count as computed.
func TestGuardRefusesMonthsFromNoLine(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "stats.json")
	g := Guard{Options: Options{Logs: []string{filepath.Join(dir, "elsewhere", "access.log*")}, DataFile: data, Now: fixedNow("2026-11-20T04:00:00Z")}}
	err := g.EnsureComputed(context.Background(), monthLines("2026-07", 40, "2026-08", 44))
	if err == nil || !strings.Contains(err.Error(), "2026-07 (the statistics counted 0 lines, the logs to delete hold 40)") || !strings.Contains(err.Error(), "do not cover") {
		t.Fatalf("EnsureComputed = %v; want a refusal naming the months and their lines", err)
	}
	// Months whose deleted files hold no access line (error logs only) may
	// be computed from nothing.
	if err := g.EnsureComputed(context.Background(), monthLines("2026-06", 0)); err != nil {
		t.Errorf("a month without access lines to delete was refused: %v", err)
	}
}

// TestGuardNeverFetches: with fetch = true and CollecTor unreachable (a
// server that accepts and never answers), the guard computes from the
// exit lists on disk and contacts nobody.
func TestGuardNeverFetches(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			defer c.Close() // hold it open, never answer
		}
	}()
	dir := copyTree(t, sharedCase)
	g := Guard{Options: Options{
		Logs:         []string{filepath.Join(dir, "logs", "access.log*")},
		ExitListsDir: filepath.Join(dir, "exit-lists"),
		DataFile:     filepath.Join(dir, "stats.json"),
		Fetch:        true,
		CollecTorURL: "http://" + ln.Addr().String(),
		Now:          fixedNow("2026-11-20T04:00:00Z"),
	}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := g.EnsureComputed(ctx, monthLines("2026-09", 1)); err != nil {
		t.Fatal(err)
	}
	if n := accepted.Load(); n > 0 {
		t.Errorf("the guard connected to CollecTor %d times", n)
	}
}

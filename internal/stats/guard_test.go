package stats

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

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
	early := g
	early.Options.Now = fixedNow("2026-09-15T04:00:00Z")
	if _, err := Update(context.Background(), Options{Logs: early.Options.Logs, DataFile: data, Months: []string{"2026-09"}, Now: early.Options.Now}); err != nil {
		t.Fatal(err)
	}
	if todo, err := g.missing([]string{"2026-09"}); err != nil || len(todo) != 1 {
		t.Fatalf("missing = %v, %v; a computation during the month must not count", todo, err)
	}

	if err := g.EnsureComputed(context.Background(), []string{"2026-09"}); err != nil {
		t.Fatal(err)
	}
	at, _, err := MonthComputed(data, "2026-09")
	if err != nil || at.Before(time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("after EnsureComputed, 2026-09 computed at %v (%v); want after the month ended", at, err)
	}

	// Already computed: nothing is rewritten.
	before, _ := os.Stat(data)
	time.Sleep(10 * time.Millisecond)
	if err := g.EnsureComputed(context.Background(), []string{"2026-09"}); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.Stat(data); !after.ModTime().Equal(before.ModTime()) {
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
	err := g.EnsureComputed(context.Background(), []string{"2026-08"})
	if err == nil || !strings.Contains(err.Error(), "2026-08") {
		t.Fatalf("EnsureComputed = %v; want an error naming 2026-08", err)
	}
}

package logfiles

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"depot/internal/logfiles/logfilestest"
	"depot/internal/month"
)

// acc is an access-log line at t from addr.
func acc(addr string, t time.Time, path string) string {
	return fmt.Sprintf(`%s - - [%s] "GET %s HTTP/1.1" 200 10 "-" "curl/8"`, addr, t.Format("02/Jan/2006:15:04:05 -0700"), path)
}

// errl is an error-log line at t.
func errl(addr string, t time.Time) string {
	return fmt.Sprintf(`%s [error] 1#0: *1 open() "/x" failed, client: %s, server: s, request: "GET /x HTTP/1.1", host: "h"`, t.UTC().Format("2006/01/02 15:04:05"), addr)
}

func day(y int, m time.Month, d, hh, mm, ss int) time.Time {
	return time.Date(y, m, d, hh, mm, ss, 0, time.UTC)
}

func TestCutoff(t *testing.T) {
	tests := []struct {
		name   string
		now    time.Time
		months int
		want   time.Time
	}{
		{"first of the month, first second", day(2026, 12, 1, 0, 0, 0), 3, day(2026, 10, 1, 0, 0, 0)},
		{"last second of the month before", day(2026, 11, 30, 23, 59, 59), 3, day(2026, 9, 1, 0, 0, 0)},
		{"last day of February", day(2028, 2, 29, 12, 0, 0), 3, day(2027, 12, 1, 0, 0, 0)},
		{"January crosses the year", day(2027, 1, 15, 0, 0, 0), 3, day(2026, 11, 1, 0, 0, 0)},
		{"one month keeps only the current", day(2026, 11, 29, 0, 0, 0), 1, day(2026, 11, 1, 0, 0, 0)},
		{"zero means three", day(2026, 11, 29, 0, 0, 0), 0, day(2026, 9, 1, 0, 0, 0)},
		{"offset zone is read as UTC", time.Date(2026, 12, 1, 0, 30, 0, 0, time.FixedZone("CET", 3600)), 3, day(2026, 9, 1, 0, 0, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Cutoff(tt.now, tt.months); !got.Equal(tt.want) {
				t.Errorf("Cutoff(%v, %d) = %v, want %v", tt.now, tt.months, got, tt.want)
			}
		})
	}
}

// fakeGuard records the months it was asked about and whether the log
// files were all still there when it was asked.
type fakeGuard struct {
	err      error
	asked    [][]string
	dir      string
	filesNow []string
}

func (g *fakeGuard) EnsureComputed(_ context.Context, lines map[month.Month]int64) error {
	var months []string
	for _, m := range slices.SortedFunc(maps.Keys(lines), month.Month.Compare) {
		months = append(months, m.String())
	}
	g.asked = append(g.asked, months)
	entries, _ := os.ReadDir(g.dir)
	for _, e := range entries {
		g.filesNow = append(g.filesNow, e.Name())
	}
	return g.err
}

func TestPruneBoundaries(t *testing.T) {
	// Lines on each side of both possible cutoffs.
	lastSep := day(2026, 9, 30, 23, 59, 59)
	firstOct := day(2026, 10, 1, 0, 0, 0)
	lastAug := day(2026, 8, 31, 23, 59, 59)
	firstSep := day(2026, 9, 1, 0, 0, 0)
	tests := []struct {
		name       string
		now        time.Time
		wantGone   []string // files deleted
		wantLines  map[string]int
		wantMonths []string
	}{
		{
			name:       "on the 1st, September goes",
			now:        day(2026, 12, 1, 0, 0, 0),
			wantGone:   []string{"access.log-20260831.gz", "access.log-20260901"},
			wantLines:  map[string]int{"access.log-20260930.gz": 1},
			wantMonths: []string{"2026-08", "2026-09"},
		},
		{
			name:       "on the last day of November, September stays",
			now:        day(2026, 11, 30, 23, 59, 59),
			wantGone:   []string{"access.log-20260831.gz"},
			wantLines:  map[string]int{"access.log-20260930.gz": 2, "access.log-20260901": 1},
			wantMonths: []string{"2026-08"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			logfilestest.WriteFile(t, dir, "access.log-20260831.gz", acc("192.0.2.1", lastAug, "/a"))
			logfilestest.WriteFile(t, dir, "access.log-20260901", acc("192.0.2.1", firstSep, "/b"))
			logfilestest.WriteFile(t, dir, "access.log-20260930.gz", acc("192.0.2.1", lastSep, "/c"), acc("192.0.2.1", firstOct, "/d"))
			logfilestest.WriteFile(t, dir, AccessName, acc("192.0.2.1", tt.now, "/e"))
			g := &fakeGuard{dir: dir}
			res, err := Prune(context.Background(), PruneOptions{Dir: dir, Now: func() time.Time { return tt.now }, Stats: g})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Problems) > 0 {
				t.Fatalf("problems: %v", res.Problems)
			}
			names := logfilestest.Names(t, dir)
			for _, gone := range tt.wantGone {
				if slices.Contains(names, gone) {
					t.Errorf("%s still exists", gone)
				}
			}
			for name, n := range tt.wantLines {
				if got := len(logfilestest.ReadLines(t, filepath.Join(dir, name))); got != n {
					t.Errorf("%s holds %d lines, want %d", name, got, n)
				}
			}
			if len(g.asked) != 1 || !slices.Equal(g.asked[0], tt.wantMonths) {
				t.Errorf("guard asked for %v, want [%v]", g.asked, tt.wantMonths)
			}
		})
	}
}

func TestPruneNginxFiles(t *testing.T) {
	now := day(2026, 11, 29, 4, 0, 0)
	old, recent := day(2026, 8, 2, 10, 0, 0), day(2026, 9, 3, 10, 0, 0)
	dir := t.TempDir()
	logfilestest.WriteFile(t, dir, "access.log.3.gz", acc("192.0.2.1", old, "/a"), acc("2001:db8::1", old.Add(time.Hour), "/b"))
	logfilestest.WriteFile(t, dir, "access.log.2.gz", acc("192.0.2.1", old, "/a"), "garbage without a time", acc("192.0.2.1", recent, "/c"))
	logfilestest.WriteFile(t, dir, "access.log.1", acc("192.0.2.1", recent, "/c"))
	logfilestest.WriteFile(t, dir, "error.log.1", errl("192.0.2.1", old), errl("192.0.2.1", old))
	logfilestest.WriteFile(t, dir, "error.log.2.gz", errl("192.0.2.1", old), errl("192.0.2.1", recent))
	logfilestest.WriteFile(t, dir, "notes.txt", "not a log")
	logfilestest.WriteFile(t, dir, "access.log", acc("192.0.2.1", old, "/active"), acc("192.0.2.1", now, "/active"))

	res, err := Prune(context.Background(), PruneOptions{Dir: dir, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"access.log", "access.log.1", "access.log.2.gz", "error.log.2.gz", "notes.txt"}
	if got := logfilestest.Names(t, dir); !slices.Equal(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}
	if got := logfilestest.ReadLines(t, filepath.Join(dir, "access.log.2.gz")); !slices.Equal(got, []string{"garbage without a time", acc("192.0.2.1", recent, "/c")}) {
		t.Errorf("straddling gzip rewritten to %q", got)
	}
	if got := logfilestest.ReadLines(t, filepath.Join(dir, "error.log.2.gz")); !slices.Equal(got, []string{errl("192.0.2.1", recent)}) {
		t.Errorf("straddling error log rewritten to %q", got)
	}
	if got := logfilestest.ReadLines(t, filepath.Join(dir, "access.log")); len(got) != 2 {
		t.Errorf("the active file was changed: %q", got)
	}
	notes := strings.Join(res.Notes, "\n")
	for _, want := range []string{"access.log.2.gz: kept 1 lines that have no readable time", "notes.txt: 1 lines have no readable time; kept"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes %q lack %q", notes, want)
		}
	}
	if len(res.Problems) != 1 || !strings.Contains(res.Problems[0].Error(), "access.log: 1 lines older than 2026-09-01 (of 2026-08), but the file is being written") {
		t.Errorf("problems %v; want the old line of the active file named", res.Problems)
	}
	kinds := map[string]string{}
	for _, a := range res.Actions {
		kinds[filepath.Base(a.Path)] = a.Kind
	}
	wantKinds := map[string]string{"access.log.3.gz": Delete, "access.log.2.gz": Rewrite, "error.log.1": Delete, "error.log.2.gz": Rewrite}
	if fmt.Sprint(kinds) != fmt.Sprint(wantKinds) {
		t.Errorf("actions %v, want %v", kinds, wantKinds)
	}
}

func TestPruneStatsGuard(t *testing.T) {
	now := day(2026, 11, 29, 4, 0, 0)
	setup := func(t *testing.T) string {
		dir := t.TempDir()
		logfilestest.WriteFile(t, dir, "access.log-20260731.gz", acc("192.0.2.1", day(2026, 7, 31, 1, 0, 0), "/"))
		logfilestest.WriteFile(t, dir, "access.log-20260801", acc("192.0.2.1", day(2026, 8, 1, 1, 0, 0), "/"))
		logfilestest.WriteFile(t, dir, "access.log-20261001", acc("192.0.2.1", day(2026, 10, 1, 1, 0, 0), "/"))
		return dir
	}
	t.Run("refuses when it cannot compute", func(t *testing.T) {
		dir := setup(t)
		before := logfilestest.Names(t, dir)
		g := &fakeGuard{dir: dir, err: errors.New("exit lists for 2026-07 are missing")}
		res, err := Prune(context.Background(), PruneOptions{Dir: dir, Now: func() time.Time { return now }, Stats: g})
		if err == nil || !strings.Contains(err.Error(), "refusing to delete logs of 2026-07, 2026-08") || !strings.Contains(err.Error(), "exit lists for 2026-07 are missing") {
			t.Fatalf("error = %v, want a refusal naming the months and the cause", err)
		}
		if res == nil || len(res.Actions) != 0 {
			t.Errorf("after a refusal the result lists actions %v: nothing was done", res)
		}
		if got := logfilestest.Names(t, dir); !slices.Equal(got, before) {
			t.Errorf("files %v after a refusal, want %v untouched", got, before)
		}
	})
	t.Run("computes before deleting", func(t *testing.T) {
		dir := setup(t)
		g := &fakeGuard{dir: dir}
		if _, err := Prune(context.Background(), PruneOptions{Dir: dir, Now: func() time.Time { return now }, Stats: g}); err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(g.filesNow, "access.log-20260731.gz") {
			t.Errorf("the guard ran after deletion (saw %v)", g.filesNow)
		}
		if got := logfilestest.Names(t, dir); !slices.Equal(got, []string{"access.log-20261001"}) {
			t.Errorf("files %v, want only October", got)
		}
	})
	t.Run("dry run asks nothing and changes nothing", func(t *testing.T) {
		dir := setup(t)
		g := &fakeGuard{dir: dir, err: errors.New("must not be called")}
		res, err := Prune(context.Background(), PruneOptions{Dir: dir, Now: func() time.Time { return now }, Stats: g, DryRun: true})
		if err != nil || len(g.asked) != 0 || len(res.Actions) != 2 {
			t.Fatalf("err %v, guard asked %v, %d actions; want nil, none, 2", err, g.asked, len(res.Actions))
		}
		if got := logfilestest.Names(t, dir); len(got) != 3 {
			t.Errorf("dry run changed files: %v", got)
		}
	})
	t.Run("nothing old, guard not asked", func(t *testing.T) {
		dir := t.TempDir()
		logfilestest.WriteFile(t, dir, "access.log-20261001", acc("192.0.2.1", day(2026, 10, 1, 1, 0, 0), "/"))
		g := &fakeGuard{dir: dir, err: errors.New("must not be called")}
		if _, err := Prune(context.Background(), PruneOptions{Dir: dir, Now: func() time.Time { return now }, Stats: g}); err != nil || len(g.asked) != 0 {
			t.Fatalf("err %v, asked %v", err, g.asked)
		}
	})
}

func TestPruneInterruptedRewrite(t *testing.T) {
	now := day(2026, 11, 29, 4, 0, 0)
	lines := []string{acc("192.0.2.1", day(2026, 8, 31, 23, 0, 0), "/old"), acc("192.0.2.1", day(2026, 9, 1, 0, 0, 0), "/new")}
	for _, name := range []string{"access.log.1", "access.log.2.gz"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := logfilestest.WriteFile(t, dir, name, lines...)
			crash := errors.New("crash")
			opts := PruneOptions{Dir: dir, Now: func() time.Time { return now }, hook: func(step, _ string) error {
				if step == "rename" {
					return crash
				}
				return nil
			}}
			res, err := Prune(context.Background(), opts)
			if err != nil || len(res.Problems) != 1 || !errors.Is(res.Problems[0], crash) {
				t.Fatalf("err %v, problems %v; want the crash reported", err, res.Problems)
			}
			if got := logfilestest.ReadLines(t, path); !slices.Equal(got, lines) {
				t.Fatalf("after an interrupted rewrite the file holds %q, want the original", got)
			}
			// A crash can also leave a half-written temp file.
			os.WriteFile(path+".rewrite.tmp", []byte("half a li"), 0o640) // earlier versions' name
			os.WriteFile(filepath.Join(dir, "."+name+".tmp-123"), []byte("half a li"), 0o640)
			opts.hook = nil
			if res, err = Prune(context.Background(), opts); err != nil || len(res.Problems) > 0 {
				t.Fatalf("err %v, problems %v", err, res.Problems)
			}
			if got := logfilestest.Names(t, dir); !slices.Equal(got, []string{name}) {
				t.Errorf("files %v, want only %s", got, name)
			}
			if got := logfilestest.ReadLines(t, path); !slices.Equal(got, lines[1:]) {
				t.Errorf("rewritten file holds %q, want %q", got, lines[1:])
			}
		})
	}
}

func TestPruneUnreadableFileIsKept(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "access.log.4.gz")
	os.WriteFile(path, []byte("\x1f\x8bnot really gzip"), 0o640)
	res, err := Prune(context.Background(), PruneOptions{Dir: dir, Now: func() time.Time { return day(2026, 11, 29, 0, 0, 0) }})
	if err != nil || len(res.Problems) != 1 || !strings.Contains(res.Problems[0].Error(), "access.log.4.gz") {
		t.Fatalf("err %v, problems %v; want one problem naming the file", err, res.Problems)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the unreadable file was removed: %v", err)
	}
}

// TestPruneNamesLinesTooLongToDate: a line longer than logread.MaxLine is
// read to its first MiB only, and what follows in it cannot be dated: an
// old line behind a MiB of junk (a sparse hole, a crash's zeroes) is
// named and kept, never passed over in silence.
func TestPruneNamesLinesTooLongToDate(t *testing.T) {
	now := day(2026, 11, 29, 4, 0, 0)
	old := acc("192.0.2.1", day(2026, 8, 15, 10, 0, 0), "/old")
	recent := acc("192.0.2.1", day(2026, 11, 28, 10, 0, 0), "/recent")
	dir := t.TempDir()
	path := filepath.Join(dir, "access.log.3")
	if err := os.WriteFile(path, []byte(strings.Repeat("\x00", 2<<20)+old+"\n"+recent+"\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	res, err := Prune(context.Background(), PruneOptions{Dir: dir, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Problems) != 1 || !strings.Contains(res.Problems[0].Error(), "access.log.3: 1 lines longer than 1048576 bytes") {
		t.Errorf("problems %v, want one naming the long line of access.log.3", res.Problems)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the file was removed: %v", err)
	}
}

// TestPruneNeverLeavesDir is issue 9's hostile log directory one level
// down: prune lists archive/X, and before it deletes or rewrites it,
// someone who can write log_dir swaps archive/ for a symbolic link to
// another directory. The root-run prune must not delete or replace the
// file of the same name there.
func TestPruneNeverLeavesDir(t *testing.T) {
	now := day(2026, 11, 29, 4, 0, 0)
	old := acc("192.0.2.1", day(2026, 8, 15, 10, 0, 0), "/old")
	recent := acc("192.0.2.1", day(2026, 11, 28, 10, 0, 0), "/recent")
	for _, tt := range []struct {
		name, step string
		lines      []string
	}{
		{"delete", "delete", []string{old}},
		{"rewrite", "create", []string{old, recent}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir, victims := t.TempDir(), t.TempDir()
			logfilestest.WriteFile(t, dir, "archive/access.log.1", tt.lines...)
			victim := logfilestest.WriteFile(t, victims, "access.log.1", tt.lines...)
			swap := func(step, path string) error {
				if step != tt.step {
					return nil
				}
				archive := filepath.Join(dir, "archive")
				if err := os.Rename(archive, archive+".real"); err != nil {
					return err
				}
				return os.Symlink(victims, archive)
			}
			res, err := Prune(context.Background(), PruneOptions{Dir: dir, Now: func() time.Time { return now }, hook: swap})
			if err != nil {
				t.Fatal(err)
			}
			if got := logfilestest.ReadLines(t, victim); !slices.Equal(got, tt.lines) {
				t.Errorf("the file outside the log directory now holds %q, want it untouched", got)
			}
			if len(res.Problems) != 1 {
				t.Errorf("problems %v, want the swapped file named", res.Problems)
			}
			if names := logfilestest.Names(t, victims); !slices.Equal(names, []string{"access.log.1"}) {
				t.Errorf("the outside directory holds %v", names)
			}
		})
	}
}

package logfiles

import (
	"context"
	"flag"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"depot/internal/logfiles/logfilestest"
	"depot/internal/logread"
	"depot/internal/logsink"
)

// Go has no bzip2 writer: the bzip2 fixtures are in testdata, written by
// the bzip2 tool with
//
//	go test ./internal/logfiles -run TestPruneEveryKindOfFile -update-bzip2
var updateBzip2 = flag.Bool("update-bzip2", false, "rewrite testdata/*.bz2 with the bzip2 tool")

func bzip2File(t *testing.T, dir, name string, lines ...string) string {
	t.Helper()
	fixture := filepath.Join("testdata", name)
	if *updateBzip2 {
		cmd := exec.Command("bzip2", "-c")
		cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
		b, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(fixture, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatalf("%v (regenerate with -update-bzip2)", err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b, 0o640); err != nil {
		t.Fatal(err)
	}
	return path
}

func problemsText(res *PruneResult) string {
	var s []string
	for _, p := range res.Problems {
		s = append(s, p.Error())
	}
	return strings.Join(s, "\n")
}

// TestPruneEveryKindOfFile is issue 8's list of files that retention did
// not see, beside real logs: each is pruned, or named when it cannot be,
// and one that cannot be does not stop the others.
func TestPruneEveryKindOfFile(t *testing.T) {
	now := day(2026, 11, 29, 4, 0, 0) // cutoff 2026-09-01
	aug, sep, nov := day(2026, 8, 15, 10, 0, 0), day(2026, 9, 2, 10, 0, 0), day(2026, 11, 28, 10, 0, 0)
	old := acc("192.0.2.1", aug, "/old")
	recent := acc("192.0.2.1", sep, "/recent")
	dir := t.TempDir()
	logfilestest.WriteFile(t, dir, "access.log-20260815.xz", old, old)
	bzip2File(t, dir, "access.log-20260815.bz2", old, old)
	logfilestest.WriteFile(t, dir, "access.log-20260815.zst", old)
	logfilestest.WriteFile(t, dir, "access.log-2026-08-17.gz", old)
	logfilestest.WriteFile(t, dir, "access.log.old", old)
	logfilestest.WriteFile(t, dir, "archive/access.log-20260819.gz", old)
	logfilestest.WriteFile(t, dir, "access.log-20260901.xz", old, recent)
	logfilestest.WriteFile(t, dir, "access.log-20260902.zst", old, recent)
	bzip2File(t, dir, "access.log-20260903.bz2", old, recent)
	logfilestest.WriteFile(t, dir, "access.log", old, acc("192.0.2.1", nov, "/now"))
	undated := logfilestest.WriteFile(t, dir, "access.log.9", "no time here", "nor here")
	os.Chtimes(undated, aug, aug)
	whole := logfilestest.Compress(t, ".gz", []byte(strings.Repeat(old+"\n", 3000)))
	os.WriteFile(filepath.Join(dir, "access.log-20260820.gz"), whole[:len(whole)/2], 0o640)
	logfilestest.WriteFile(t, dir, "error.log-20261128.gz", errl("192.0.2.1", nov))

	res, err := Prune(context.Background(), PruneOptions{Dir: dir, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	wantNames := []string{"access.log", "access.log-20260820.gz", "access.log-20260901.xz", "access.log-20260902.zst", "access.log-20260903.bz2", "access.log.9", "archive", "error.log-20261128.gz"}
	if got := logfilestest.Names(t, dir); !slices.Equal(got, wantNames) {
		t.Errorf("files %v,\nwant %v", got, wantNames)
	}
	if got := logfilestest.Names(t, filepath.Join(dir, "archive")); len(got) != 0 {
		t.Errorf("archive/ holds %v, want nothing", got)
	}
	for name, format := range map[string]logread.Format{"access.log-20260901.xz": logread.Xz, "access.log-20260902.zst": logread.Zstd} {
		if got := logfilestest.ReadLines(t, filepath.Join(dir, name)); !slices.Equal(got, []string{recent}) {
			t.Errorf("%s rewritten to %q, want only the recent line", name, got)
		}
		if r, err := logread.Open(filepath.Join(dir, name)); err != nil || r.Format() != format {
			t.Errorf("%s rewritten as %v (%v), want %v", name, r.Format(), err, format)
		} else {
			r.Close()
		}
	}
	problems := problemsText(res)
	for _, want := range []string{
		"access.log-20260820.gz: gzip file truncated",
		"lines older than 2026-09-01 (of 2026-08). prune does not change a file it cannot read to the end",
		"access.log-20260903.bz2: 1 lines older than 2026-09-01 (of 2026-08), and newer lines: prune cannot write bzip2",
		"access.log: 1 lines older than 2026-09-01 (of 2026-08), but the file is being written",
		"access.log.9: its 2 lines have no readable time, and it was last changed on 2026-08-15",
	} {
		if !strings.Contains(problems, want) {
			t.Errorf("problems lack %q:\n%s", want, problems)
		}
	}
	if len(res.Problems) != 4 {
		t.Errorf("%d problems, want 4:\n%s", len(res.Problems), problems)
	}
}

// TestPruneCoversStatsPaths is issue 8's second directory: [stats] logs
// pointing outside log_dir are pruned too.
func TestPruneCoversStatsPaths(t *testing.T) {
	now := day(2026, 11, 29, 4, 0, 0)
	logDir, other := t.TempDir(), t.TempDir()
	march := acc("192.0.2.1", day(2026, 3, 10, 10, 0, 0), "/")
	logfilestest.WriteFile(t, other, "access.log-20260310.gz", march)
	logfilestest.WriteFile(t, other, "access.log-20260311", march)
	logfilestest.WriteFile(t, other, "unrelated.txt", "not matched")
	g := &fakeGuard{dir: logDir}
	res, err := Prune(context.Background(), PruneOptions{
		Dir: logDir, Paths: []string{filepath.Join(other, "access.log*"), filepath.Join(logDir, "access.log*")},
		Now: func() time.Time { return now }, Stats: g,
	})
	if err != nil || len(res.Problems) > 0 {
		t.Fatalf("err %v, problems %v", err, res.Problems)
	}
	if got := logfilestest.Names(t, other); !slices.Equal(got, []string{"unrelated.txt"}) {
		t.Errorf("%s holds %v, want the March logs deleted", other, got)
	}
	if len(g.asked) != 1 || !slices.Equal(g.asked[0], []string{"2026-03"}) {
		t.Errorf("guard asked %v, want [[2026-03]]", g.asked)
	}
}

// snapshot records every entry under dir: name, mode, size, mtime and
// content.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		st, _ := os.Lstat(p)
		b.WriteString(p + " " + st.Mode().String() + " " + st.ModTime().String())
		if st.Mode().IsRegular() {
			c, _ := os.ReadFile(p)
			b.Write(c)
		}
		b.WriteString("\n")
		return nil
	})
	return b.String()
}

// TestPruneDryRunChangesNothing: not a file, not a lock file, not the
// directory's own times (issue 8: a dry run left a lock file).
func TestPruneDryRunChangesNothing(t *testing.T) {
	now := day(2026, 11, 29, 4, 0, 0)
	dir := t.TempDir()
	old := acc("192.0.2.1", day(2026, 8, 15, 10, 0, 0), "/old")
	logfilestest.WriteFile(t, dir, "access.log-20260815.gz", old)
	logfilestest.WriteFile(t, dir, "access.log-20260901", old, acc("192.0.2.1", day(2026, 9, 2, 10, 0, 0), "/new"))
	logfilestest.WriteFile(t, dir, "access.log-20260901.gz.tmp", "leftover")
	before := snapshot(t, dir)
	res, err := Prune(context.Background(), PruneOptions{Dir: dir, Now: func() time.Time { return now }, DryRun: true, Stats: &fakeGuard{dir: dir}})
	if err != nil || len(res.Actions) != 2 {
		t.Fatalf("err %v, %d actions; want 2 planned", err, len(res.Actions))
	}
	if after := snapshot(t, dir); after != before {
		t.Errorf("a dry run changed the directory:\nbefore %s\nafter %s", before, after)
	}
}

// TestRotationNeverWritesThroughAPlantedTemp is issue 9's first attack: a
// symlink planted as access.log-20261130.gz.tmp made the root-run server
// overwrite its target with gzip data.
func TestRotationNeverWritesThroughAPlantedTemp(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	secret := filepath.Join(outside, "shadow")
	os.WriteFile(secret, []byte("root:secret\n"), 0o600)
	if err := os.Symlink(secret, filepath.Join(dir, "access.log-20261130.gz.tmp")); err != nil {
		t.Fatal(err)
	}
	// A planted file under the name of the temp file works the same way.
	os.WriteFile(filepath.Join(dir, ".access.log-20261130.gz.tmp-1"), []byte("planted"), 0o666)
	f, err := logsink.Open(filepath.Join(dir, AccessName))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	line := acc("192.0.2.1", day(2026, 11, 30, 10, 0, 0), "/")
	f.Write([]byte(line + "\n"))
	r := NewRotator(dir, []*logsink.File{f}, func() time.Time { return day(2026, 11, 30, 12, 0, 0) }, RotatorOptions{})
	if err := r.RotateNow(); err != nil {
		t.Fatal(err)
	}
	r.Wait()
	if b, _ := os.ReadFile(secret); string(b) != "root:secret\n" {
		t.Fatalf("the link's target was written: %q", b)
	}
	if got := logfilestest.ReadLines(t, filepath.Join(dir, "access.log-20261130.gz")); !slices.Equal(got, []string{line}) {
		t.Errorf("rotated file holds %q", got)
	}
	// The next start (recovery) removes what was planted, never following it.
	if err := r.recover(); err != nil {
		t.Fatal(err)
	}
	if got := logfilestest.Names(t, dir); !slices.Equal(got, []string{AccessName, "access.log-20261130.gz"}) {
		t.Errorf("files %v after recovery, want the planted names removed", got)
	}
	if b, _ := os.ReadFile(secret); string(b) != "root:secret\n" {
		t.Fatalf("recovery wrote through the link: %q", b)
	}
}

// TestPruneSkipsDepotsState: with data_dir inside log_dir (the demo), the
// statistics data file and exit lists are not logs.
func TestPruneSkipsDepotsState(t *testing.T) {
	now := day(2026, 11, 29, 4, 0, 0)
	aug := day(2026, 8, 1, 0, 0, 0)
	dir := t.TempDir()
	data := logfilestest.WriteFile(t, dir, "stats.json", `{"2026-07": {}}`)
	list := logfilestest.WriteFile(t, dir, "exit-lists/2026-07-01-00-00-00", "ExitAddress 198.51.100.66 2026-07-01 00:00:00")
	os.Chtimes(data, aug, aug)
	os.Chtimes(list, aug, aug)
	opts := PruneOptions{Dir: dir, Now: func() time.Time { return now }}
	if res, err := Prune(context.Background(), opts); err != nil || len(res.Problems) != 2 {
		t.Fatalf("without Skip: %v, problems %v; want both named as old undated files", err, res.Problems)
	}
	opts.Skip = []string{data, filepath.Dir(list)}
	// The statistics' own temporary file (a write in progress) is theirs.
	statsTmp := logfilestest.WriteFile(t, dir, ".stats.json.tmp-7", "{")
	if res, err := Prune(context.Background(), opts); err != nil || len(res.Problems) != 0 || len(res.Notes) != 0 {
		t.Fatalf("with Skip: %v, problems %v, notes %v; want nothing said", err, res.Problems, res.Notes)
	}
	if _, err := os.Stat(statsTmp); err != nil {
		t.Errorf("prune removed the statistics' temporary file: %v", err)
	}
}

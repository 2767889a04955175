package audit

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

func gzipped(t testing.TB, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(s))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func xzed(t testing.TB, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw, err := xz.NewWriter(&b)
	if err != nil {
		t.Fatal(err)
	}
	zw.Write([]byte(s))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func zstded(t testing.TB, s string) []byte {
	t.Helper()
	zw, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer zw.Close()
	return zw.EncodeAll([]byte(s), nil)
}

// goodLogs is a log directory that keeps the policy at testNow: lines
// from 2026-09-01 on, plain and compressed, in depot's and logrotate's
// names.
func goodLogs(t testing.TB, dir string) {
	t.Helper()
	writeFiles(t, dir, map[string]string{
		"access.log":          accessLine("198.51.100.1", day("2026-11-19")),
		"error.log":           "2026/11/19 10:00:00 [error] 7#7: *1 open() \"/srv/x\" failed (2: No such file or directory), client: 198.51.100.1, server: x, request: \"GET /x HTTP/1.1\", host: \"x\"\n",
		"access.log-20261118": accessLine("198.51.100.2", day("2026-11-18")),
		"access.log.1":        accessLine("198.51.100.3", day("2026-09-01")),
		".depot-logs.lock":    "",
	})
	writeBytes(t, filepath.Join(dir, "access.log-20261001.gz"), gzipped(t, accessLine("198.51.100.4", day("2026-10-01"))))
}

// TestRetentionEnforced: every file under log_dir, whatever its name,
// depth and compression, and every [stats] logs file, is read to its end;
// any line older than the cutoff, any unreadable file and any file last
// modified before the cutoff fails the check.
func TestRetentionEnforced(t *testing.T) {
	old := accessLine("203.0.113.9", day("2026-08-15"))
	bz2, err := os.ReadFile(filepath.Join("testdata", "access.log-20260816.bz2"))
	if err != nil {
		t.Fatal(err)
	}
	truncated := gzipped(t, strings.Repeat(old, 2000))
	truncated = truncated[:len(truncated)/2]

	tests := []struct {
		name   string
		break_ func(t *testing.T, s *setup)
		want   []string
	}{
		{"kept", func(*testing.T, *setup) {}, nil},
		{"xz rotation", func(t *testing.T, s *setup) {
			writeBytes(t, filepath.Join(s.cfg.LogDir, "access.log-20260815.xz"), xzed(t, old))
		}, []string{"access.log-20260815.xz: 1 lines older than 2026-09-01 (2026-08)"}},
		{"bzip2 rotation", func(t *testing.T, s *setup) {
			writeBytes(t, filepath.Join(s.cfg.LogDir, "access.log-20260816.bz2"), bz2)
		}, []string{"access.log-20260816.bz2: 2 lines older than"}},
		{"zstd rotation", func(t *testing.T, s *setup) {
			writeBytes(t, filepath.Join(s.cfg.LogDir, "access.log-20260817.zst"), zstded(t, strings.Repeat(old, 50)))
		}, []string{"access.log-20260817.zst: 50 lines older than"}},
		{"logrotate dateformat -%Y-%m-%d", func(t *testing.T, s *setup) {
			writeBytes(t, filepath.Join(s.cfg.LogDir, "access.log-2026-08-17.gz"), gzipped(t, old))
		}, []string{"access.log-2026-08-17.gz: 1 lines older than"}},
		{"access.log.old", func(t *testing.T, s *setup) {
			writeFiles(t, s.cfg.LogDir, map[string]string{"access.log.old": old})
		}, []string{"access.log.old: 1 lines older than"}},
		{"a subdirectory", func(t *testing.T, s *setup) {
			writeBytes(t, filepath.Join(s.cfg.LogDir, "archive", "access.log-20260819.gz"), gzipped(t, old))
		}, []string{"archive/access.log-20260819.gz: 1 lines older than"}},
		{"an old line at the top of the active file", func(t *testing.T, s *setup) {
			writeFiles(t, s.cfg.LogDir, map[string]string{"access.log": old + accessLine("198.51.100.1", day("2026-11-19"))})
		}, []string{"access.log: 1 lines older than"}},
		{"a truncated gzip", func(t *testing.T, s *setup) {
			writeBytes(t, filepath.Join(s.cfg.LogDir, "access.log-20261002.gz"), truncated)
		}, []string{"access.log-20261002.gz: ", "lines older than", "cannot be read to the end"}},
		{"lines with no readable time", func(t *testing.T, s *setup) {
			writeFiles(t, s.cfg.LogDir, map[string]string{"access.log-20261103": `203.0.113.9 - - [garbled] "GET / HTTP/1.1" 200 4 "-" "x"` + "\n"})
		}, []string{"access.log-20261103: 1 lines with a client address and no readable time"}},
		{"an old line behind more than a MiB of junk (a sparse hole)", func(t *testing.T, s *setup) {
			writeFiles(t, s.cfg.LogDir, map[string]string{"access.log.3": strings.Repeat("\x00", 2<<20) + old + accessLine("198.51.100.1", day("2026-11-19"))})
		}, []string{"access.log.3: 1 lines longer than 1048576 bytes", "cannot be read nor dated"}},
		{"a file last modified before the cutoff", func(t *testing.T, s *setup) {
			p := filepath.Join(s.cfg.LogDir, "notes")
			writeFiles(t, s.cfg.LogDir, map[string]string{"notes": "whatever it holds\n"})
			if err := os.Chtimes(p, day("2026-08-01"), day("2026-08-01")); err != nil {
				t.Fatal(err)
			}
		}, []string{"notes: last modified 2026-08-01, before 2026-09-01"}},
		{"[stats] logs outside log_dir", func(t *testing.T, s *setup) {
			march := filepath.Join(s.dir, "march")
			writeFiles(t, march, map[string]string{"access.log-20260331": accessLine("203.0.113.9", day("2026-03-31"))})
			s.cfg.Stats.Logs = []string{filepath.Join(s.cfg.LogDir, "access.log*"), filepath.Join(march, "access.log*")}
		}, []string{"march/access.log-20260331: 1 lines older than 2026-09-01 (2026-03)"}},
		{"a compression in progress", func(t *testing.T, s *setup) {
			recent := gzipped(t, strings.Repeat(accessLine("198.51.100.1", day("2026-11-19")), 2000))
			p := filepath.Join(s.cfg.LogDir, "access.log-20261119.gz.tmp")
			writeBytes(t, p, recent[:len(recent)/2])
			if err := os.Chtimes(p, testNow.Add(-time.Minute), testNow.Add(-time.Minute)); err != nil {
				t.Fatal(err)
			}
		}, nil},
		{"a stale temporary file", func(t *testing.T, s *setup) {
			p := filepath.Join(s.cfg.LogDir, "access.log-20261002.gz.tmp")
			writeBytes(t, p, truncated)
			if err := os.Chtimes(p, testNow.Add(-time.Hour), testNow.Add(-time.Hour)); err != nil {
				t.Fatal(err)
			}
		}, []string{"access.log-20261002.gz.tmp: ", "cannot be read to the end"}},
		{"an unreadable file", func(t *testing.T, s *setup) {
			if os.Geteuid() == 0 {
				// root reads any file: a directory where a file is
				// expected fails the same way for everyone.
				writeBytes(t, filepath.Join(s.cfg.LogDir, "access.log-20261104.gz"), []byte{0x1f, 0x8b, 8, 0, 0, 0})
				return
			}
			p := filepath.Join(s.cfg.LogDir, "access.log-20261104")
			writeFiles(t, s.cfg.LogDir, map[string]string{"access.log-20261104": old})
			if err := os.Chmod(p, 0); err != nil {
				t.Fatal(err)
			}
		}, []string{"access.log-20261104", "cannot be read to the end"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSetup(t)
			goodLogs(t, s.cfg.LogDir)
			tt.break_(t, s)
			if len(tt.want) == 0 {
				expect(t, s.run(t), "retention-enforced", Pass, policyRetention, "none older than 2026-09-01")
				return
			}
			expect(t, s.run(t), "retention-enforced", Fail, policyRetention, append(tt.want, "depot logs prune")...)
		})
	}
}

// TestRetentionSkipsWhatIsNotLogs: site roots, the data files and exit
// lists that live under log_dir (the demo keeps everything in one
// directory) are not logs, however old.
func TestRetentionSkipsWhatIsNotLogs(t *testing.T) {
	s := newSetup(t)
	goodLogs(t, s.cfg.LogDir)
	s.cfg.DataDir = s.cfg.LogDir
	s.cfg.Stats.Data = filepath.Join(s.cfg.LogDir, "stats.json")
	s.cfg.Stats.ExitLists = filepath.Join(s.cfg.LogDir, "exit-lists")
	s.root = filepath.Join(s.cfg.LogDir, "demo-root")
	s.cfg.Site[0].Root = s.root
	oldDay := day("2026-01-01")
	for name, content := range map[string]string{
		"demo-root/index.html":                "<!DOCTYPE html>",
		"demo-root/old.txt":                   accessLine("203.0.113.9", oldDay),
		"exit-lists/exit-list-2026-01.tar.xz": "archive",
		"stats.json":                          `{"meta": {}}`,
		"mirrors/state.json":                  `{}`,
		"outbound.json":                       `{"version": 1}`,
	} {
		p := filepath.Join(s.cfg.LogDir, name)
		writeFiles(t, s.cfg.LogDir, map[string]string{name: content})
		if err := os.Chtimes(p, oldDay, oldDay); err != nil {
			t.Fatal(err)
		}
	}
	expect(t, s.run(t), "retention-enforced", Pass, policyRetention)
}

// TestRetentionCountsEveryFile: files are read in parallel, and each one
// is reported.
func TestRetentionCountsEveryFile(t *testing.T) {
	s := newSetup(t)
	for i := range 40 {
		writeFiles(t, s.cfg.LogDir, map[string]string{"access.log.old" + string(rune('a'+i%26)) + string(rune('a'+i/26)): accessLine("198.51.100.1", day("2026-08-02"))})
	}
	r := result(t, s.run(t), "retention-enforced")
	if r.Status != Fail || !strings.Contains(r.Detail, "40 problem(s)") {
		t.Errorf("got %s %q, want 40 problems", r.Status, r.Detail)
	}
}

// TestLargeFileReadInParts: a plain file larger than a chunk is read in
// parallel parts, each line exactly once, an old line anywhere found.
func TestLargeFileReadInParts(t *testing.T) {
	s := newSetup(t)
	line := accessLine("198.51.100.1", day("2026-11-02"))
	const size = 1 << 20
	n := size/len(line)*2 + 100
	var b strings.Builder
	b.Grow(n * len(line))
	for i := range n {
		if i == n/2 {
			b.WriteString(accessLine("203.0.113.9", day("2026-08-02")))
			continue
		}
		b.WriteString(line)
	}
	writeFiles(t, s.cfg.LogDir, map[string]string{"access.log": b.String()})
	if got := len(parts(filepath.Join(s.cfg.LogDir, "access.log"), size)); got != 3 {
		t.Fatalf("%d parts, want 3", got)
	}
	ls := scanLogsIn(t.Context(), s.cfg, testNow, size)
	if ls.lines != int64(n) || ls.files != 1 || ls.clients.len() != 2 {
		t.Errorf("read %d lines of %d files, %d addresses; want %d, 1, 2", ls.lines, ls.files, ls.clients.len(), n)
	}
	if r := checkRetentionEnforced(ls); r.Status != Fail || !strings.Contains(r.Detail, "access.log: 1 lines older than 2026-09-01 (2026-08)") {
		t.Errorf("got %s %q, want the old line in the middle found", r.Status, r.Detail)
	}
	if got := parts(filepath.Join(s.cfg.LogDir, "access.log"), chunk); len(got) != 1 || got[0].to != -1 {
		t.Errorf("a file below the chunk size: %v, want one part", got)
	}
	gz := filepath.Join(s.cfg.LogDir, "access.log.1.gz")
	writeBytes(t, gz, gzipped(t, strings.Repeat(line, 100)))
	if got := parts(gz, 100); len(got) != 1 || got[0].to != -1 {
		t.Errorf("a compressed file: %v, want it read whole, from its start", got)
	}
}

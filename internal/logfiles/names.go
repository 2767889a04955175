package logfiles

import (
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"depot/internal/atomicfile"
)

// Kind says which log a file belongs to.
type Kind int

// The kinds of log file.
const (
	AccessLog Kind = iota
	ErrorLog
)

func (k Kind) String() string {
	if k == ErrorLog {
		return "error"
	}
	return "access"
}

// Active log file names inside log_dir.
const (
	AccessName = "access.log"
	ErrorName  = "error.log"
)

// compressions are the name suffixes of compressed rotations: gzip (depot,
// logrotate's default), and what logrotate's compresscmd may produce.
var compressions = []string{".gz", ".xz", ".bz2", ".zst"}

// logName is what a file's name says about it. Recognised names are
// "<stem>.log" (active), "<stem>.log-YYYYMMDD[-N]" (logrotate dateext and
// depot's own rotation), "<stem>.log-YYYY-MM-DD[-N]" (logrotate dateformat
// -%Y-%m-%d), "<stem>.log.N" (logrotate numbered) and "<stem>.log.WORD"
// (such as access.log.old), each optionally compressed (".gz", ".xz",
// ".bz2", ".zst"). The content decides how a file is read, not the name.
type logName struct {
	path     string
	stem     string    // "access.log"
	kind     Kind      // ErrorLog when the stem contains "error"
	day      time.Time // the dateext date, zero when the name has none
	seq      int       // the N of ".N" or "-YYYYMMDD-N"
	numbered bool      // ".N"
	comp     string    // the compression suffix, "" for none
	active   bool      // the file being written
}

// parseName reads a log file's base name; ok is false for anything else.
func parseName(dir, base string) (n logName, ok bool) {
	i := strings.Index(base, ".log")
	if i <= 0 || atomicfile.IsTemp(base) {
		return n, false
	}
	n = logName{path: filepath.Join(dir, base), stem: base[:i+4]}
	if strings.Contains(n.stem, "error") {
		n.kind = ErrorLog
	}
	rest := base[i+4:]
	for _, c := range compressions {
		if r, ok := strings.CutSuffix(rest, c); ok {
			rest, n.comp = r, c
			break
		}
	}
	switch {
	case rest == "":
		n.active = n.comp == ""
		return n, true
	case rest[0] == '.':
		seq, err := strconv.Atoi(rest[1:])
		if err == nil && seq >= 0 {
			n.seq, n.numbered = seq, true
			return n, true
		}
		return n, isWord(rest[1:])
	case rest[0] == '-':
		for _, layout := range []string{"20060102", "2006-01-02"} {
			if len(rest) < 1+len(layout) {
				continue
			}
			day, err := time.Parse(layout, rest[1:1+len(layout)])
			if err != nil {
				continue
			}
			n.day = day
			if tail := rest[1+len(layout):]; tail != "" {
				seq, err := strconv.Atoi(strings.TrimPrefix(tail, "-"))
				if tail[0] != '-' || err != nil || seq < 0 {
					return n, false
				}
				n.seq = seq
			}
			return n, true
		}
	}
	return n, false
}

// isWord reports whether s is a short lower-case word such as "old" or
// "bak": the suffixes people give a log they set aside.
func isWord(s string) bool {
	if s == "" || len(s) > 16 {
		return false
	}
	for _, c := range s {
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// listLogs returns the log files in dir, oldest rotation first within each
// stem. With dedup, when both "X" and "X.gz" exist (a compression that has
// not yet removed its source), only the plain X is listed: it is complete,
// and the .gz may not be.
func listLogs(dir string, dedup bool) ([]logName, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	plain := map[string]bool{}
	var names []logName
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		n, ok := parseName(dir, e.Name())
		if !ok {
			continue
		}
		if n.comp == "" {
			plain[n.path] = true
		}
		names = append(names, n)
	}
	out := names[:0]
	for _, n := range names {
		if dedup && n.comp != "" && plain[strings.TrimSuffix(n.path, n.comp)] {
			continue
		}
		out = append(out, n)
	}
	sort.SliceStable(out, func(i, j int) bool { return olderName(out[i], out[j]) })
	return out, nil
}

// olderName orders names of one stem from the oldest rotation to the
// active file: dated files by date and sequence, then numbered files from
// the highest number down, then others (access.log.old), then the active
// file.
func olderName(a, b logName) bool {
	if a.stem != b.stem {
		return a.stem < b.stem
	}
	ra, rb := nameRank(a), nameRank(b)
	if ra != rb {
		return ra < rb
	}
	switch ra {
	case 0:
		if !a.day.Equal(b.day) {
			return a.day.Before(b.day)
		}
		return a.seq < b.seq
	case 1:
		return a.seq > b.seq
	}
	return false
}

func nameRank(n logName) int {
	switch {
	case n.active:
		return 3
	case n.numbered:
		return 1
	case n.day.IsZero():
		return 2
	}
	return 0
}

// LogFiles returns the files that retention and pseudonymisation read in
// dir: every file under it, subdirectories included, but depot's
// temporary files, symbolic links and skip.
func LogFiles(dir string, skip []string) ([]string, error) {
	files, _, err := (&PruneOptions{Dir: dir, Skip: skip}).collect(&PruneResult{})
	return files, err
}

// beingWritten reports whether a log file is one that a server may still be
// appending to ("*.log", such as access.log): it is never replaced.
func beingWritten(path string) bool {
	return strings.HasSuffix(filepath.Base(path), ".log")
}

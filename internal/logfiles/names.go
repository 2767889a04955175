package logfiles

import (
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
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

// Temporary-file suffixes. A name with one of them is never a log; prune
// removes it once it is certain its source still exists.
const (
	compressTmpSuffix = ".gz.tmp"      // <rotated>.gz.tmp while compressing
	rewriteTmpSuffix  = ".rewrite.tmp" // <file>.rewrite.tmp while pruning
)

// logName is what a file's name says about it. Recognised names are
// "<stem>.log" (active), "<stem>.log-YYYYMMDD[-N]" (logrotate dateext and
// depot's own rotation) and "<stem>.log.N" (logrotate numbered), each
// optionally ending in ".gz".
type logName struct {
	path   string
	stem   string    // "access.log"
	kind   Kind      // ErrorLog when the stem contains "error"
	day    time.Time // the dateext date, zero when the name has none
	seq    int       // the N of ".N" or "-YYYYMMDD-N"
	gz     bool
	active bool // the file being written
}

// parseName reads a log file's base name; ok is false for anything else.
func parseName(dir, base string) (n logName, ok bool) {
	i := strings.Index(base, ".log")
	if i <= 0 {
		return n, false
	}
	n = logName{path: filepath.Join(dir, base), stem: base[:i+4]}
	if strings.Contains(n.stem, "error") {
		n.kind = ErrorLog
	}
	rest := base[i+4:]
	rest, n.gz = strings.CutSuffix(rest, ".gz")
	switch {
	case rest == "":
		n.active = !n.gz
		return n, true
	case rest[0] == '.':
		seq, err := strconv.Atoi(rest[1:])
		if err != nil || seq < 0 {
			return n, false
		}
		n.seq = seq
		return n, true
	case rest[0] == '-' && len(rest) >= 9:
		day, err := time.Parse("20060102", rest[1:9])
		if err != nil {
			return n, false
		}
		n.day = day
		if rest = rest[9:]; rest == "" {
			return n, true
		}
		if rest[0] != '-' {
			return n, false
		}
		seq, err := strconv.Atoi(rest[1:])
		if err != nil || seq < 0 {
			return n, false
		}
		n.seq = seq
		return n, true
	}
	return n, false
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
		if !n.gz {
			plain[n.path] = true
		}
		names = append(names, n)
	}
	out := names[:0]
	for _, n := range names {
		if dedup && n.gz && plain[strings.TrimSuffix(n.path, ".gz")] {
			continue
		}
		out = append(out, n)
	}
	sort.SliceStable(out, func(i, j int) bool { return olderName(out[i], out[j]) })
	return out, nil
}

// olderName orders names of one stem from the oldest rotation to the
// active file: dated files by date and sequence, then numbered files from
// the highest number down, then the active file.
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
		return 2
	case n.day.IsZero():
		return 1
	}
	return 0
}

// AccessLogs returns the paths of the access logs in dir (active and
// rotated, plain and compressed), oldest rotation first.
func AccessLogs(dir string) ([]string, error) {
	names, err := listLogs(dir, false)
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, n := range names {
		if n.kind == AccessLog {
			paths = append(paths, n.path)
		}
	}
	return paths, nil
}

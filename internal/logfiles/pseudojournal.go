package logfiles

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"depot/internal/atomicfile"
	"depot/internal/month"
	"depot/internal/pseudonym"
)

// pseudoJournal is written once every rewritten file is synced, before
// the first rename: it is the commit point of a pseudonymisation run. It
// names files and counts lines; it holds no address and no key.
type pseudoJournal struct {
	At      string           `json:"at"`    // RFC 3339, UTC
	Lines   map[string]int64 `json:"lines"` // month -> lines rewritten
	Renames []pseudoRename   `json:"renames"`
}

type pseudoRename struct {
	Tmp string `json:"tmp"`
	Dst string `json:"dst"`
}

// check refuses an entry that depot does not write: the journal lies in
// the log directory, which others may write, and is followed by a
// root-run prune. Each entry renames a temporary file of atomicfile's
// onto the name it was made for, in the same directory: nothing that
// whoever can write that directory could not do.
func (r pseudoRename) check() error {
	tmp := filepath.Base(r.Tmp)
	if filepath.Dir(filepath.Clean(r.Tmp)) != filepath.Dir(filepath.Clean(r.Dst)) ||
		!strings.HasPrefix(tmp, ".") || atomicfile.TempTarget(tmp) != filepath.Base(r.Dst) {
		return fmt.Errorf("it names a rename of %s onto %s, which is not a temporary file of depot's onto its target", r.Tmp, r.Dst)
	}
	if st, err := os.Lstat(r.Tmp); err == nil && !st.Mode().IsRegular() {
		return fmt.Errorf("it names %s, which is not a regular file (%v)", r.Tmp, st.Mode().Type())
	}
	return nil
}

// rename does it, in the directory held open so that both names are
// looked up in the same one, and only when the temporary file is a
// regular file; one already gone was renamed before a crash.
func (r pseudoRename) rename() error {
	root, err := os.OpenRoot(filepath.Dir(r.Dst))
	if err != nil {
		return err
	}
	defer root.Close()
	tmp, dst := filepath.Base(r.Tmp), filepath.Base(r.Dst)
	st, err := root.Lstat(tmp)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case !st.Mode().IsRegular():
		return fmt.Errorf("%s is not a regular file (%v); not renamed onto %s", r.Tmp, st.Mode().Type(), r.Dst)
	}
	return root.Rename(tmp, dst)
}

func writeJournal(dir string, j *pseudoJournal) error {
	b, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(filepath.Join(dir, pseudoJournalName), 0o640, append(b, '\n'))
}

// commitJournal renames every file of j that is still a temporary file,
// records j's months as pseudonymised and removes the journal. It is
// idempotent: recovery runs it again after a crash.
func commitJournal(dir string, j *pseudoJournal, step func(name, path string, fn func() error) error) error {
	for _, r := range j.Renames {
		if err := r.check(); err != nil {
			return fmt.Errorf("%s: %w; depot wrote no such journal: remove it", filepath.Join(dir, pseudoJournalName), err)
		}
	}
	dirs := map[string]bool{}
	for _, r := range j.Renames {
		if err := step("rename", r.Dst, r.rename); err != nil {
			return err
		}
		dirs[filepath.Dir(r.Dst)] = true
	}
	for d := range dirs {
		atomicfile.SyncDir(d)
	}
	if err := step("state", dir, func() error { return recordPseudonymised(dir, j) }); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(dir, pseudoJournalName)); err != nil {
		return err
	}
	atomicfile.SyncDir(dir)
	return nil
}

// finishPseudonymise finishes a run that a crash interrupted after its
// journal was written: its temporary files are complete and must replace
// their logs. Everything that removes leftover temporary files from a log
// directory (Prune, Pseudonymise) calls it first, so that none of these
// is taken for a leftover.
func finishPseudonymise(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, pseudoJournalName))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	}
	var j pseudoJournal
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("%s: %w; a pseudonymisation was interrupted and its journal is unreadable: check the files it names by hand, then remove it", filepath.Join(dir, pseudoJournalName), err)
	}
	if err := commitJournal(dir, &j, func(_, _ string, fn func() error) error { return fn() }); err != nil {
		return fmt.Errorf("finishing an interrupted pseudonymisation: %w", err)
	}
	return nil
}

// PseudonymState is what the state file says of one month.
type PseudonymState struct {
	At    string `json:"at"`    // RFC 3339, when it was pseudonymised
	Lines int64  `json:"lines"` // lines rewritten then
}

type pseudoStateFile struct {
	Months map[string]PseudonymState `json:"months"`
}

// PseudonymisedMonths returns the months ("YYYY-MM") whose logs in dir
// were pseudonymised: their lines hold pseudonyms, not addresses.
func PseudonymisedMonths(dir string) (map[string]PseudonymState, error) {
	b, err := os.ReadFile(filepath.Join(dir, PseudonymStateName))
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]PseudonymState{}, nil
	}
	if err != nil {
		return nil, err
	}
	var s pseudoStateFile
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, PseudonymStateName), err)
	}
	if s.Months == nil {
		s.Months = map[string]PseudonymState{}
	}
	return s.Months, nil
}

func recordPseudonymised(dir string, j *pseudoJournal) error {
	months, err := PseudonymisedMonths(dir)
	if err != nil {
		months = map[string]PseudonymState{} // unreadable: start again
	}
	for m, n := range j.Lines {
		if prev := months[m]; prev.At != j.At { // not this run, recorded before a crash
			n += prev.Lines
		}
		months[m] = PseudonymState{At: j.At, Lines: n}
	}
	b, err := json.MarshalIndent(pseudoStateFile{Months: months}, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(filepath.Join(dir, PseudonymStateName), 0o640, append(b, '\n'))
}

// PseudonymisedNotes says, for a search by client address, which months
// of its time range hold pseudonyms instead of addresses, so that finding
// nothing there is not taken for an answer. A search for pseudonyms
// themselves gets no note.
func PseudonymisedNotes(dir string, q Query) ([]string, error) {
	real := false
	for _, p := range q.IPs {
		if !pseudonym.V4Range.Overlaps(p) && !pseudonym.V6Range.Overlaps(p) {
			real = true
		}
	}
	if !real {
		return nil, nil
	}
	months, err := PseudonymisedMonths(dir)
	if err != nil {
		return nil, err
	}
	var notes []string
	for _, m := range slices.Sorted(maps.Keys(months)) {
		mm, err := month.Parse(m)
		if err != nil {
			continue
		}
		if (!q.Until.IsZero() && !mm.Start().Before(q.Until)) || (!q.Since.IsZero() && !q.Since.Before(mm.End())) {
			continue
		}
		at, _ := time.Parse(time.RFC3339, months[m].At)
		notes = append(notes, fmt.Sprintf("%s was pseudonymised on %s: its lines hold pseudonyms, not client addresses, so no address can be found there anymore (docs/pseudonyms.md)", m, at.Format("2006-01-02")))
	}
	return notes, nil
}

package mirrors

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"depot/internal/atomicfile"
	"depot/internal/metalink"
)

// stateVersion is the format of state.json; a file of another version is
// set aside, not misread.
const stateVersion = 1

// State is everything the checks learned, as stored in
// <data_dir>/mirrors/state.json. Its size is bounded: files and mirrors
// that are no longer configured are dropped, and each file keeps at most
// Limits.MaxVersions versions, none superseded longer than Limits.MaxAge.
type State struct {
	Version int                     `json:"version"`
	Files   map[string]*OriginFile  `json:"files"`   // by tree path
	Mirrors map[string]*MirrorState `json:"mirrors"` // by mirror name
	// From is set on a follower: the mirrors' results are the checking
	// node's, fetched from there.
	From *Fetch `json:"state_from,omitempty"`
}

// Fetch is a follower's record of its fetches of state_from.
type Fetch struct {
	URL     string    `json:"url"`
	Fetched time.Time `json:"fetched,omitzero"` // the last successful fetch
	Error   string    `json:"error,omitempty"`  // of the last fetch, if it failed
}

// OriginFile is one file of the origin that mirrors are checked for, and
// its recent versions.
type OriginFile struct {
	Kind string `json:"kind"` // "yum", "deb" or "iso"
	Root string `json:"root"` // the site root it was found in
	// ModTime, Size and Inode are the file's when it was last hashed; a
	// stat that differs means it must be hashed again.
	ModTime time.Time `json:"mtime"`
	Size    int64     `json:"size"`
	Inode   uint64    `json:"inode,omitempty"`
	// Versions, newest first; Versions[0] is the current one.
	Versions []Version `json:"versions"`
}

// Version is one content the origin file had.
type Version struct {
	metalink.Version
	Seen  time.Time `json:"seen"`           // first seen as the current version
	Until time.Time `json:"until,omitzero"` // superseded at; zero while current
}

// Current is the file's current version; ok is false before it was hashed.
func (f *OriginFile) Current() (Version, bool) {
	if f == nil || len(f.Versions) == 0 {
		return Version{}, false
	}
	return f.Versions[0], true
}

// Recent are the superseded versions within window of now, newest first:
// the alternates a client accepts from a mirror one or two syncs behind.
func (f *OriginFile) Recent(now time.Time, window time.Duration) []Version {
	var out []Version
	for _, v := range f.Versions[min(1, len(f.Versions)):] {
		if now.Sub(v.Until) <= window {
			out = append(out, v)
		}
	}
	return out
}

// record makes v the current version at now, unless it already is. It
// keeps the invariants: newest first, each hash once, at most max
// versions, none superseded more than maxAge ago.
func (f *OriginFile) record(v metalink.Version, now time.Time, max int, maxAge time.Duration) bool {
	if cur, ok := f.Current(); ok && cur.Hashes.SHA256 == v.Hashes.SHA256 {
		return false
	}
	if len(f.Versions) > 0 {
		f.Versions[0].Until = now
	}
	// A rollback to an older content makes it current again, once.
	f.Versions = slices.DeleteFunc(f.Versions, func(o Version) bool { return o.Hashes.SHA256 == v.Hashes.SHA256 })
	f.Versions = slices.Insert(f.Versions, 0, Version{Version: v, Seen: now})
	f.prune(now, max, maxAge)
	return true
}

func (f *OriginFile) prune(now time.Time, max int, maxAge time.Duration) {
	keep := f.Versions[:min(len(f.Versions), 1)]
	for _, v := range f.Versions[len(keep):] {
		if len(keep) < max && now.Sub(v.Until) <= maxAge {
			keep = append(keep, v)
		}
	}
	f.Versions = keep
}

// MirrorState is what the last checks of one mirror found.
type MirrorState struct {
	Files map[string]*Result `json:"files"` // by tree path
	// LastRound is when the last completed check round of this mirror
	// ended; LastGood when the last one in which every check succeeded did.
	LastRound time.Time `json:"last_round,omitzero"`
	LastGood  time.Time `json:"last_good,omitzero"`
	// Trusted is true only after a completed round in which every check of
	// this mirror succeeded, and false from any failure until the next such
	// round: a mirror that comes back is not used before it is rechecked.
	Trusted bool `json:"trusted"`
}

// Result is what one mirror served for one file at the last check.
type Result struct {
	SHA256  string        `json:"sha256,omitempty"` // index files only
	Size    int64         `json:"size"`
	Down    bool          `json:"down,omitempty"`
	Error   string        `json:"error,omitempty"`
	Checked time.Time     `json:"checked"`
	OK      time.Time     `json:"ok,omitzero"` // last successful fetch
	Latency time.Duration `json:"latency_ns"`  // until the response headers
}

func newState() *State {
	return &State{Version: stateVersion, Files: map[string]*OriginFile{}, Mirrors: map[string]*MirrorState{}}
}

// loadState reads the state file; a missing file is an empty state. A file
// that cannot be decoded as state is renamed to .corrupt and reported to
// warn, so that the next save does not silently destroy the evidence.
//
// The file is read, and moved aside, through data_dir held open, as save
// writes it: a mirrors/ replaced by a symbolic link leads nowhere else.
func loadState(file string, warn func(error)) (*State, error) {
	dataDir := filepath.Dir(filepath.Dir(file))
	root, err := os.OpenRoot(dataDir)
	if errors.Is(err, fs.ErrNotExist) {
		return newState(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading mirror state: %w", err)
	}
	defer root.Close()
	rel, err := filepath.Rel(dataDir, file)
	if err != nil {
		return nil, fmt.Errorf("reading mirror state: %w", err)
	}
	data, err := root.ReadFile(rel)
	if errors.Is(err, fs.ErrNotExist) {
		return newState(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading mirror state: %w", err)
	}
	st := newState()
	if err := json.Unmarshal(data, st); err != nil || st.Version != stateVersion {
		if err == nil {
			err = fmt.Errorf("format version %d, want %d", st.Version, stateVersion)
		}
		aside := file + ".corrupt"
		_ = root.Rename(rel, rel+".corrupt")
		warn(fmt.Errorf("mirror state %s unreadable (%v); moved it to %s and starting afresh", file, err, aside))
		return newState(), nil
	}
	if st.Files == nil {
		st.Files = map[string]*OriginFile{}
	}
	if st.Mirrors == nil {
		st.Mirrors = map[string]*MirrorState{}
	}
	for _, m := range st.Mirrors {
		if m.Files == nil {
			m.Files = map[string]*Result{}
		}
	}
	return st, nil
}

// save writes the state atomically: a crash at any point leaves either the
// old or the new file, whole.
func (st *State) save(file string) error {
	data, err := json.MarshalIndent(st, "", " ")
	if err != nil {
		return err
	}
	// data_dir itself, then its mirrors/ (each only as the last element).
	// Below data_dir, which others may be able to write to, the file is
	// written through data_dir held open: a mirrors/ replaced by a
	// symbolic link cannot send it anywhere else.
	dataDir := filepath.Dir(filepath.Dir(file))
	if err := atomicfile.MakeDir(dataDir, 0o755); err != nil {
		return fmt.Errorf("saving mirror state: %w", err)
	}
	root, err := os.OpenRoot(dataDir)
	if err != nil {
		return fmt.Errorf("saving mirror state: %w", err)
	}
	defer root.Close()
	rel, err := filepath.Rel(dataDir, file)
	if err == nil {
		err = atomicfile.WriteBytesIn(root, rel, 0o640, data)
	}
	if err != nil {
		return fmt.Errorf("saving mirror state: %w", err)
	}
	return nil
}

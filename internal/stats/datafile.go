package stats

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"depot/internal/atomicfile"
	"depot/internal/month"
)

// Figures are one release's numbers in one month. Only Plain and Tor are
// published per release in the month object, as the reference format has
// them; the request counts go to meta.
type Figures struct {
	Plain int64 `json:"plain"`
	Tor   int64 `json:"tor"`
}

// MonthMeta is the detail of one computed month, kept under
// meta.months[YYYY-MM] so that every top-level key stays a month.
type MonthMeta struct {
	// Lines is how many log lines fell in the month; Malformed how many of
	// those did not parse (their time still could).
	Lines     int64 `json:"lines"`
	Malformed int64 `json:"malformed"`
	// PlainRequests and TorRequests are the counted update checks (any
	// release) from clearnet and from Tor exits.
	PlainRequests int64 `json:"plain_requests"`
	TorRequests   int64 `json:"tor_requests"`
	// IPv6Addresses is how many distinct IPv6 addresses checked for
	// updates; they are not in any plain figure.
	IPv6Addresses int64 `json:"ipv6_addresses"`
	// IPv6Prefixes are distinct /64 prefixes per release and "any", only
	// when counting IPv6 is enabled.
	IPv6Prefixes map[string]int64 `json:"ipv6_64,omitempty"`
	// ExitListCoverage is the share of the month (up to the time it was
	// computed) that exit lists covered, in thousandths; below 1000 the
	// Tor figures are lower bounds.
	ExitListCoverage int      `json:"exit_list_coverage_permille"`
	ExitListGaps     []string `json:"exit_list_gaps,omitempty"` // RFC 3339 "from/to"
	ComputedAt       string   `json:"computed_at"`              // RFC 3339, UTC
	// Complete is true when the month was computed after it ended, exit
	// lists covered all of it and so did the logs of every node named in
	// [stats] nodes.
	Complete bool `json:"complete"`
	// BelowMinCount lists the releases (and "other", "any") whose figures
	// were left out of the month because their plain count was below
	// meta.min_count; a page shows them as "< N".
	BelowMinCount []string `json:"below_min_count,omitempty"`
	// TotalsOnly says the month was in progress and only its "any" totals
	// were written (with min_count).
	TotalsOnly bool `json:"totals_only,omitempty"`
	// Nodes is how much of the month each node's logs hold, by node name
	// ([stats] nodes, else the directory of the files).
	Nodes map[string]NodeCoverage `json:"nodes,omitempty"`
}

// dataFile is the JSON data file held as raw values, so that months and
// meta keys this run does not recompute are written back unchanged.
type dataFile struct {
	top  map[string]json.RawMessage
	meta map[string]json.RawMessage
}

const metaKey = "meta"

func readData(path string) (*dataFile, error) {
	d := &dataFile{top: map[string]json.RawMessage{}, meta: map[string]json.RawMessage{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return d, nil
	}
	if err != nil {
		return nil, fmt.Errorf("data file: %w", err)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return d, nil
	}
	if err := json.Unmarshal(b, &d.top); err != nil {
		return nil, fmt.Errorf("data file %s is not valid JSON (%v); it is left as it is: repair it or move it away", path, err)
	}
	if m, ok := d.top[metaKey]; ok {
		if err := json.Unmarshal(m, &d.meta); err != nil {
			return nil, fmt.Errorf("data file %s: \"meta\" is not an object (%v); repair it or move it away", path, err)
		}
	}
	return d, nil
}

// monthsMeta decodes meta.months.
func (d *dataFile) monthsMeta() (map[string]json.RawMessage, error) {
	mm := map[string]json.RawMessage{}
	if raw, ok := d.meta["months"]; ok {
		if err := json.Unmarshal(raw, &mm); err != nil {
			return nil, fmt.Errorf("data file: meta.months is not an object: %w", err)
		}
	}
	return mm, nil
}

func (d *dataFile) set(key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	d.top[key] = b
	return nil
}

func (d *dataFile) setMeta(key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	d.meta[key] = b
	return nil
}

// write replaces path atomically: a temporary file in the same directory,
// synced, then renamed over path. A crash leaves the old file or the new
// one, never a mix.
func (d *dataFile) write(path string) error {
	meta, err := json.Marshal(d.meta)
	if err != nil {
		return err
	}
	d.top[metaKey] = meta
	b, err := json.MarshalIndent(d.top, "", "  ") // keys sorted: months in order
	if err != nil {
		return err
	}
	b = append(b, '\n')
	return writeAtomic(path, b)
}

func writeAtomic(path string, b []byte) error {
	if err := atomicfile.WriteBytes(path, 0o644, b); err != nil {
		return fmt.Errorf("data file: %w", err)
	}
	return nil
}

// MonthComputed reads the data file's record of m: when it was last
// computed, and whether that computation was complete (after the month
// ended, with exit lists covering all of it). A month never computed gives
// the zero time and no error.
//
// The log-retention job may delete a month's logs only when computedAt is
// at or after the month's end; complete additionally says the Tor figure is
// not a lower bound.
func MonthComputed(dataFile string, m month.Month) (computedAt time.Time, complete bool, err error) {
	recs, err := monthRecords(dataFile)
	if err != nil {
		return time.Time{}, false, err
	}
	rec := recs[m]
	return rec.computedAt, rec.Complete, nil
}

// monthRecord is a month's meta with its computation time parsed.
type monthRecord struct {
	MonthMeta
	computedAt time.Time
}

// monthRecords reads meta.months of the data file (none when it does not
// exist).
func monthRecords(dataFile string) (map[month.Month]monthRecord, error) {
	d, err := readData(dataFile)
	if err != nil {
		return nil, err
	}
	mm, err := d.monthsMeta()
	if err != nil {
		return nil, err
	}
	recs := make(map[month.Month]monthRecord, len(mm))
	for key, raw := range mm {
		m, err := month.Parse(key)
		if err != nil {
			return nil, fmt.Errorf("data file %s: meta.months: %w", dataFile, err)
		}
		var rec monthRecord
		if err := json.Unmarshal(raw, &rec.MonthMeta); err != nil {
			return nil, fmt.Errorf("data file %s: meta.months[%q]: %w", dataFile, key, err)
		}
		if rec.computedAt, err = time.Parse(time.RFC3339, rec.ComputedAt); err != nil {
			return nil, fmt.Errorf("data file %s: meta.months[%q].computed_at: %w", dataFile, key, err)
		}
		recs[m] = rec
	}
	return recs, nil
}

func readFileInfo(path string) (os.FileInfo, error) { return os.Stat(path) }

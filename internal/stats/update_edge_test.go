package stats

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"depot/internal/month"
	"depot/internal/torexit"
)

// scenario writes logs and one exit-list file and runs Update on them.
type scenario struct {
	logs      map[string]string // file name -> content; ".gz" names are compressed
	exitList  string            // a TorDNSEL document, or ""
	months    []month.Month
	now       string
	countIPv6 bool
	minCount  int
	hide      bool
	data      string // the data file's content before the run, or ""
}

func (s scenario) run(t *testing.T) (map[string]map[string]Figures, map[string]MonthMeta, string) {
	t.Helper()
	dir := t.TempDir()
	for name, content := range s.logs {
		b := []byte(content)
		if strings.HasSuffix(name, ".gz") {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			zw.Write(b)
			zw.Close()
			b = buf.Bytes()
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	exits := filepath.Join(dir, "exits")
	os.MkdirAll(exits, 0o755)
	if s.exitList != "" {
		os.WriteFile(filepath.Join(exits, "list"), []byte(s.exitList), 0o644)
	}
	if s.now == "" {
		s.now = "2026-12-15T00:00:00Z"
	}
	data := filepath.Join(dir, "stats.json")
	if s.data != "" {
		os.WriteFile(data, []byte(s.data), 0o644)
	}
	_, err := Update(context.Background(), Options{
		Logs: []string{filepath.Join(dir, "*.log*")}, ExitListsDir: exits, DataFile: data,
		Months: s.months, Now: fixedNow(s.now), CountIPv6: s.countIPv6, MinCount: s.minCount, HideCurrent: s.hide,
		HTTPClient: &http.Client{Transport: failTransport{t}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return readBack(t, data)
}

func readBack(t *testing.T, data string) (map[string]map[string]Figures, map[string]MonthMeta, string) {
	t.Helper()
	b, err := os.ReadFile(data)
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]json.RawMessage
	json.Unmarshal(b, &top)
	figs := map[string]map[string]Figures{}
	for k, v := range top {
		if k != "meta" {
			var m map[string]Figures
			if err := json.Unmarshal(v, &m); err != nil {
				t.Fatalf("month %s: %v", k, err)
			}
			figs[k] = m
		}
	}
	var meta struct {
		Months map[string]MonthMeta `json:"months"`
	}
	json.Unmarshal(top["meta"], &meta)
	return figs, meta.Months, string(b)
}

// failTransport fails the test on any network access.
type failTransport struct{ t *testing.T }

func (f failTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	f.t.Errorf("network access without --fetch: %s", r.URL)
	return nil, errors.New("no network in tests")
}

const torExit = "198.51.100.66"

func exitDoc(published, lastStatus string) string {
	return "@type tordnsel 1.0\nExitNode AAAA\nPublished " + published + "\nLastStatus " + lastStatus + "\nExitAddress " + torExit + " " + published + "\n"
}

// pseudoV4 writes an IPv4 pseudonym as docs/pseudonyms.md specifies it.
func pseudoV4(id uint32, tor bool) string {
	flag := 0
	if tor {
		flag = 1
	}
	return fmt.Sprintf("100::4:%x:%x:%x", flag, id>>16, id&0xffff)
}

func lines(ls ...string) string { return strings.Join(ls, "\n") + "\n" }

func get(release string) string {
	return "GET /" + release + "/current/vm/fc37/repodata/repomd.xml HTTP/1.1"
}

func TestUpdateEdges(t *testing.T) {
	for _, tc := range []struct {
		name  string
		sc    scenario
		month string
		want  map[string]Figures
	}{
		{
			name: "offset moves a line into the next month",
			sc: scenario{logs: map[string]string{"a.log": lines(
				logLine("203.0.113.1", "31/Oct/2026:23:30:00 -0100", get("r4.2"), 200), // 2026-11-01 00:30 UTC
				logLine("203.0.113.2", "01/Nov/2026:00:30:00 +0100", get("r4.2"), 200), // 2026-10-31 23:30 UTC
			)}, months: months("2026-10", "2026-11")},
			month: "2026-11",
			want:  map[string]Figures{"any": {1, 0}, "r4.2": {1, 0}},
		},
		{
			name: "previous month's exit list covers the 1st",
			sc: scenario{logs: map[string]string{"a.log": lines(
				logLine("203.0.113.1", "01/Nov/2026:00:30:00 +0000", get("r4.2"), 200),
				logLine(torExit, "01/Nov/2026:00:30:00 +0000", get("r4.2"), 200),
			)}, exitList: exitDoc("2026-10-31 22:00:00", "2026-10-31 23:00:00"), months: months("2026-11")},
			month: "2026-11",
			want:  map[string]Figures{"any": {1, 1}, "r4.2": {1, 1}},
		},
		{
			name: "exit address outside its window is clearnet",
			sc: scenario{logs: map[string]string{"a.log": lines(
				logLine("203.0.113.1", "20/Nov/2026:00:30:00 +0000", get("r4.2"), 200),
				logLine(torExit, "20/Nov/2026:00:30:00 +0000", get("r4.2"), 200),
			)}, exitList: exitDoc("2026-10-31 22:00:00", "2026-10-31 23:00:00"), months: months("2026-11")},
			month: "2026-11",
			want:  map[string]Figures{"any": {2, 0}, "r4.2": {2, 0}},
		},
		{
			name: "release seen only over Tor",
			sc: scenario{logs: map[string]string{"a.log": lines(
				logLine("203.0.113.1", "05/Nov/2026:10:00:00 +0000", get("r4.2"), 200),
				logLine("203.0.113.1", "05/Nov/2026:11:00:00 +0000", get("r4.2"), 200),
				logLine(torExit, "05/Nov/2026:10:00:00 +0000", get("r4.3"), 200),
			)}, exitList: exitDoc("2026-11-05 00:00:00", "2026-11-06 00:00:00"), months: months("2026-11")},
			month: "2026-11",
			// any: plain 1, plain_requests 2, tor_requests 1 -> floor(1*1/2) = 0
			want: map[string]Figures{"any": {1, 0}, "r4.2": {1, 0}, "r4.3": {0, 0}},
		},
		{
			name: "tor figure is floored",
			sc: scenario{logs: map[string]string{"a.log": lines(
				logLine("203.0.113.1", "05/Nov/2026:10:00:00 +0000", get("r4.2"), 200),
				logLine("203.0.113.2", "05/Nov/2026:10:00:00 +0000", get("r4.2"), 200),
				logLine("203.0.113.3", "05/Nov/2026:10:00:00 +0000", get("r4.2"), 200),
				logLine(torExit, "05/Nov/2026:10:00:00 +0000", get("r4.2"), 200),
				logLine(torExit, "05/Nov/2026:10:00:01 +0000", get("r4.2"), 200),
			)}, exitList: exitDoc("2026-11-05 00:00:00", "2026-11-06 00:00:00"), months: months("2026-11")},
			month: "2026-11",
			want:  map[string]Figures{"any": {3, 2}, "r4.2": {3, 2}},
		},
		{
			name: "gz and plain logs, months out of order, garbage",
			sc: scenario{logs: map[string]string{
				"a.log":    lines(logLine("203.0.113.1", "05/Nov/2026:10:00:00 +0000", get("r4.2"), 200), "garbage", logLine("203.0.113.9", "05/Oct/2026:10:00:00 +0000", get("r4.2"), 200)),
				"a.log.gz": lines(logLine("203.0.113.2", "06/Nov/2026:10:00:00 +0000", get("r4.1"), 200), "\x00\x01binary"),
				"b.log.gz": lines(logLine("203.0.113.1", "01/Nov/2026:10:00:00 +0000", get("r4.1"), 304)),
			}, months: months("2026-11")},
			month: "2026-11",
			want:  map[string]Figures{"any": {2, 0}, "r4.1": {2, 0}, "r4.2": {1, 0}},
		},
		{
			name: "ipv6 never in plain",
			sc: scenario{logs: map[string]string{"a.log": lines(
				logLine("2001:db8::1", "05/Nov/2026:10:00:00 +0000", get("r4.2"), 200),
				logLine("::ffff:203.0.113.1", "05/Nov/2026:10:00:00 +0000", get("r4.2"), 200),
			)}, months: months("2026-11"), countIPv6: true},
			month: "2026-11",
			want:  map[string]Figures{"any": {1, 0}, "r4.2": {1, 0}},
		},
		{
			name: "a pseudonym's Tor flag replaces the exit lists",
			sc: scenario{logs: map[string]string{"a.log": lines(
				// ID equal to the exit's address, but not flagged: clearnet.
				logLine(pseudoV4(198<<24|51<<16|100<<8|66, false), "05/Nov/2026:10:00:00 +0000", get("r4.2"), 200),
				// Flagged, ID of no exit: Tor.
				logLine(pseudoV4(0x01020304, true), "05/Nov/2026:10:00:00 +0000", get("r4.2"), 200),
				logLine(torExit, "05/Nov/2026:10:00:00 +0000", get("r4.2"), 200),
			)}, exitList: exitDoc("2026-11-05 00:00:00", "2026-11-06 00:00:00"), months: months("2026-11")},
			month: "2026-11",
			// plain 1 (the unflagged pseudonym), 1 plain request, 2 Tor requests
			want: map[string]Figures{"any": {1, 2}, "r4.2": {1, 2}},
		},
		{
			name: "a pseudonym's ID is no address",
			sc: scenario{logs: map[string]string{"a.log": lines(
				logLine("203.0.113.1", "05/Nov/2026:10:00:00 +0000", get("r4.2"), 200),
				logLine(pseudoV4(203<<24|113<<8|1, false), "05/Nov/2026:10:00:00 +0000", get("r4.2"), 200),
				logLine(pseudoV4(203<<24|113<<8|1, false), "06/Nov/2026:10:00:00 +0000", get("r4.2"), 200),
			)}, months: months("2026-11")},
			month: "2026-11",
			want:  map[string]Figures{"any": {2, 0}, "r4.2": {2, 0}},
		},
		{
			name:  "month with nothing counted",
			sc:    scenario{logs: map[string]string{"a.log": lines(logLine("203.0.113.1", "05/Nov/2026:10:00:00 +0000", "GET / HTTP/1.1", 200))}, months: months("2026-11")},
			month: "2026-11",
			want:  map[string]Figures{},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			figs, _, _ := tc.sc.run(t)
			got := figs[tc.month]
			if got == nil {
				t.Fatalf("month %s missing from %v", tc.month, figs)
			}
			if len(got) != len(tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
			for rel, w := range tc.want {
				if got[rel] != w {
					t.Errorf("%s: got %+v, want %+v", rel, got[rel], w)
				}
			}
		})
	}
}

// IPv6 pseudonyms count as addresses and their permuted /64 as the prefix.
func TestUpdateIPv6Pseudonyms(t *testing.T) {
	_, meta, _ := scenario{logs: map[string]string{"a.log": lines(
		logLine("3fff:6:1:2:3:4:0:1", "05/Nov/2026:10:00:00 +0000", get("r4.2"), 200),
		logLine("3fff:6:1:2:3:4:0:2", "05/Nov/2026:10:00:00 +0000", get("r4.2"), 200),
		logLine("3fff:6:1:2:3:4:0:2", "06/Nov/2026:10:00:00 +0000", get("r4.2"), 200),
		logLine("3fff:6:1:2:3:5:0:1", "05/Nov/2026:10:00:00 +0000", get("r4.3"), 200),
	)}, months: months("2026-11"), countIPv6: true}.run(t)
	m := meta["2026-11"]
	if m.IPv6Addresses != 3 || m.IPv6Prefixes[Any] != 2 || m.IPv6Prefixes["r4.2"] != 1 {
		t.Fatalf("got %d IPv6 addresses and prefixes %v; want 3 addresses, 2 prefixes (r4.2: 1)", m.IPv6Addresses, m.IPv6Prefixes)
	}
}

func TestUpdateMeta(t *testing.T) {
	sc := scenario{logs: map[string]string{"a.log": lines(
		logLine("2001:db8::1", "05/Nov/2026:10:00:00 +0000", get("r4.2"), 200),
		logLine("2001:db8::2", "05/Nov/2026:10:00:00 +0000", get("r4.2"), 200),
		logLine("2001:db8:1::2", "05/Nov/2026:10:00:00 +0000", get("r4.3"), 200),
		logLine("203.0.113.1", "05/Nov/2026:10:00:00 +0000", get("r4.2"), 200),
		`203.0.113.1 - - [05/Nov/2026:10:00:00 +0000] "GET /x HTTP/1.1" 2000 1 "-" "-"`, // dated but malformed
		"garbage",
	)}, months: months("2026-11"), countIPv6: true, now: "2026-12-01T04:00:00Z",
		exitList: exitDoc("2026-11-05 00:00:00", "2026-11-06 00:00:00")}
	_, meta, raw := sc.run(t)
	m := meta["2026-11"]
	if m.Lines != 5 || m.Malformed != 1 || m.PlainRequests != 1 || m.IPv6Addresses != 3 {
		t.Errorf("got %+v", m)
	}
	if m.IPv6Prefixes["any"] != 2 || m.IPv6Prefixes["r4.2"] != 1 || m.IPv6Prefixes["r4.3"] != 1 {
		t.Errorf("got /64 counts %v, want any 2, r4.2 1, r4.3 1", m.IPv6Prefixes)
	}
	if m.ComputedAt != "2026-12-01T04:00:00Z" || m.Complete || m.ExitListCoverage >= 1000 || len(m.ExitListGaps) == 0 {
		t.Errorf("got computed %s complete %v coverage %d gaps %v; want incomplete (uncovered)", m.ComputedAt, m.Complete, m.ExitListCoverage, m.ExitListGaps)
	}
	if strings.Contains(raw, "203.0.113") || strings.Contains(raw, "2001:db8") {
		t.Error("an address leaked into the data file")
	}
}

func TestCompleteMonthAndMonthComputed(t *testing.T) {
	dir := t.TempDir()
	exits := filepath.Join(dir, "exits")
	os.MkdirAll(exits, 0o755)
	// A list every 12 hours from the 1st to past the month's end: each
	// covers the 24 hours before it, so the whole month is covered.
	start := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	for at := start; !at.After(start.AddDate(0, 1, 0).Add(12 * time.Hour)); at = at.Add(12 * time.Hour) {
		os.WriteFile(filepath.Join(exits, at.Format("2006-01-02-15-04-05")), []byte("@type tordnsel 1.0\nDownloaded "+at.Format("2006-01-02 15:04:05")+"\n"), 0o644)
	}
	log := filepath.Join(dir, "access.log")
	os.WriteFile(log, []byte(lines(logLine("203.0.113.1", "05/Oct/2026:10:00:00 +0000", get("r4.2"), 200))), 0o644)
	data := filepath.Join(dir, "stats.json")
	for _, tc := range []struct {
		now      string
		complete bool
	}{
		{"2026-10-31T23:00:00Z", false}, // not over yet
		{"2026-11-02T04:00:00Z", true},
	} {
		t.Run(tc.now, func(t *testing.T) {
			if _, err := Update(context.Background(), Options{Logs: []string{log}, ExitListsDir: exits, DataFile: data, Months: months("2026-10"), Now: fixedNow(tc.now)}); err != nil {
				t.Fatal(err)
			}
			at, complete, err := MonthComputed(data, month.MustParse("2026-10"))
			if err != nil {
				t.Fatal(err)
			}
			if !at.Equal(fixedNow(tc.now)()) || complete != tc.complete {
				t.Errorf("got %v %v, want %s %v", at, complete, tc.now, tc.complete)
			}
		})
	}
	at, complete, err := MonthComputed(data, month.MustParse("2026-09"))
	if err != nil || !at.IsZero() || complete {
		t.Errorf("never-computed month: got %v %v %v", at, complete, err)
	}
}

func TestDataFileKeepsOtherMonths(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "stats.json")
	old := `{
  "2019-01": {"any": {"plain": 3397, "tor": 737}, "r4.0": {"plain": 3000, "tor": 700}},
  "2026-11": {"any": {"plain": 1, "tor": 1}},
  "meta": {"title": "Qubes OS userbase", "source": "https://example.org/stats", "custom": [1, 2]}
}`
	os.WriteFile(data, []byte(old), 0o644)
	log := filepath.Join(dir, "access.log")
	os.WriteFile(log, []byte(lines(logLine("203.0.113.1", "05/Nov/2026:10:00:00 +0000", get("r4.2"), 200))), 0o644)
	if _, err := Update(context.Background(), Options{Logs: []string{log}, DataFile: data, Months: months("2026-11"), Now: fixedNow("2026-11-29T04:00:00Z")}); err != nil {
		t.Fatal(err)
	}
	var before, after map[string]json.RawMessage
	json.Unmarshal([]byte(old), &before)
	b, _ := os.ReadFile(data)
	if err := json.Unmarshal(b, &after); err != nil {
		t.Fatal(err)
	}
	if compact(t, after["2019-01"]) != compact(t, before["2019-01"]) {
		t.Errorf("2019-01 changed: got %s, want %s", after["2019-01"], before["2019-01"])
	}
	if compact(t, after["2026-11"]) != `{"any":{"plain":1,"tor":0},"r4.2":{"plain":1,"tor":0}}` {
		t.Errorf("2026-11 not recomputed: %s", after["2026-11"])
	}
	var meta map[string]json.RawMessage
	json.Unmarshal(after["meta"], &meta)
	for key, want := range map[string]string{"title": `"Qubes OS userbase"`, "source": `"https://example.org/stats"`, "custom": `[1,2]`, "last-updated": `"2026-11-29T04:00:00Z"`} {
		if compact(t, meta[key]) != want {
			t.Errorf("meta.%s: got %s, want %s", key, meta[key], want)
		}
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		t.Errorf("temporary files left behind: %v", ents)
	}
}

func compact(t *testing.T, b []byte) string {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return buf.String()
}

func TestCorruptDataFileUntouched(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "stats.json")
	os.WriteFile(data, []byte(`{"2026-10": {"any": `), 0o644)
	_, err := Update(context.Background(), Options{DataFile: data, Months: months("2026-11"), Now: fixedNow("2026-11-29T04:00:00Z")})
	if err == nil || !strings.Contains(err.Error(), "not valid JSON") {
		t.Errorf("got %v, want a JSON error", err)
	}
	if b, _ := os.ReadFile(data); string(b) != `{"2026-10": {"any": ` {
		t.Error("corrupt data file was overwritten")
	}
}

func TestAtomicWriteLeavesOldFileOnFailure(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "sub", "stats.json")
	os.MkdirAll(filepath.Dir(data), 0o755)
	os.WriteFile(data, []byte(`{"meta":{}}`), 0o644)
	readOnlyDir(t, filepath.Dir(data)) // no temp file can be created
	if _, err := Update(context.Background(), Options{DataFile: data, Months: months("2026-11"), Now: fixedNow("2026-11-29T04:00:00Z")}); err == nil {
		t.Error("write into a read-only directory succeeded")
	}
	if b, _ := os.ReadFile(data); string(b) != `{"meta":{}}` {
		t.Errorf("old file changed: %s", b)
	}
}

func TestChunkBoundaries(t *testing.T) {
	dir := t.TempDir()
	var sb strings.Builder
	for i := 0; i < 500; i++ {
		addr := fmt.Sprintf("203.0.%d.%d", i/200, i%200+1)
		sb.WriteString(logLine(addr, "05/Nov/2026:10:00:00 +0000", get(fmt.Sprintf("r4.%d", i%3)), 200) + "\n")
		if i%7 == 0 {
			sb.WriteString("garbage\n")
		}
	}
	path := filepath.Join(dir, "access.log")
	os.WriteFile(path, []byte(sb.String()), 0o644)
	exits := torexit.NewBuilder().Set()
	count := func(size int64) *tally {
		chunks, _, err := plan([]string{path}, size)
		if err != nil {
			t.Fatal(err)
		}
		tl, err := countFiles(context.Background(), chunks, 1, months("2026-11"), nil, false, exits, &progress{})
		if err != nil {
			t.Fatal(err)
		}
		return tl
	}
	whole := count(1 << 30)
	wholeLines, wholeUndated, _ := whole.sums(nil)
	for _, size := range []int64{1, 97, 150, 211, 4096} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			got := count(size)
			lines, undated, ms := got.sums(nil)
			if lines != wholeLines || got.months[0].any.plain.len() != 500 || ms[0].malformed != 0 || undated != wholeUndated {
				t.Errorf("chunk size %d: got %d lines, %d addresses, %d undated; want %d, 500, %d",
					size, lines, got.months[0].any.plain.len(), undated, wholeLines, wholeUndated)
			}
			// A file's identity does not depend on how it was split: the
			// same file read whole and in chunks, in one run, is a copy.
			if size == 1 {
				return // a chunk per byte is slow, and proves nothing more
			}
			one, _, _ := plan([]string{path}, 1<<30)
			split, _, _ := plan([]string{path}, size)
			for i := range split {
				split[i].file = 1
			}
			both, err := countFiles(context.Background(), append(one, split...), 2, months("2026-11"), nil, false, exits, &progress{})
			if err != nil {
				t.Fatal(err)
			}
			if ids := both.identities(); ids[0] != ids[1] {
				t.Errorf("chunk size %d: identity %+v, read whole %+v", size, ids[1], ids[0])
			}
		})
	}
}

// countingTransport counts round trips and refuses them all.
type countingTransport struct{ n *int }

func (c countingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	*c.n++
	return nil, errors.New("offline")
}

// TestNoNetworkWithoutFetch proves the network is opt-in: the same run
// makes requests through the client with Fetch and none without it.
func TestNoNetworkWithoutFetch(t *testing.T) {
	for _, fetch := range []bool{false, true} {
		t.Run(fmt.Sprint("fetch=", fetch), func(t *testing.T) {
			dir := t.TempDir()
			n := 0
			_, err := Update(context.Background(), Options{
				ExitListsDir: dir, DataFile: filepath.Join(dir, "stats.json"), Fetch: fetch,
				Months: months("2026-10"), Now: fixedNow("2026-11-29T04:00:00Z"),
				HTTPClient: &http.Client{Transport: countingTransport{&n}}, CollecTorURL: "http://collector.invalid/",
			})
			switch {
			case !fetch && (n != 0 || err != nil):
				t.Errorf("without fetch: %d requests, error %v; want none and success", n, err)
			case fetch && (n == 0 || err == nil || !strings.Contains(err.Error(), "offline")):
				t.Errorf("with fetch: %d requests, error %v; want an attempt and a clear offline error", n, err)
			}
		})
	}
}

package stats

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// checks of release from n distinct addresses on day d of month mon
// ("Oct"), numbered from first.
func checks(release string, first, n int, mon string, d int) []string {
	var ls []string
	for i := range n {
		ls = append(ls, logLine(fmt.Sprintf("198.18.%d.%d", (first+i)/250, (first+i)%250+1), fmt.Sprintf("%02d/%s/2026:10:00:00 +0000", d, mon), get(release), 200))
	}
	return ls
}

// minCountLogs: in October r4.2 has 12 addresses, r4.1 3 (and 3 in
// November), r4.0 2 (but 15 in September), r9.9 4 and r8.8 7 (one shared);
// November is in progress.
func minCountLogs() map[string]string {
	var ls []string
	ls = append(ls, checks("r4.0", 100, 15, "Sep", 5)...)
	ls = append(ls, checks("r4.2", 0, 12, "Oct", 5)...)
	ls = append(ls, checks("r4.1", 20, 3, "Oct", 5)...)
	ls = append(ls, checks("r4.0", 30, 2, "Oct", 5)...)
	ls = append(ls, checks("r9.9", 40, 4, "Oct", 6)...)
	ls = append(ls, checks("r8.8", 43, 7, "Oct", 6)...)
	ls = append(ls, checks("r4.2", 0, 30, "Nov", 5)...)
	ls = append(ls, checks("r4.1", 50, 3, "Nov", 5)...)
	return map[string]string{"a.log": lines(ls...)}
}

func TestMinCount(t *testing.T) {
	figs, meta, raw := scenario{logs: minCountLogs(), months: months("2026-09", "2026-10", "2026-11"), now: "2026-11-20T04:00:00Z", minCount: 10}.run(t)
	want := map[string]map[string]Figures{
		"2026-09": {"r4.0": {15, 0}, "any": {15, 0}},
		// r4.0 (2) is below; r4.1, r9.9 and r8.8 are below in every
		// month: folded into other (3 + 4 + 7 - 1 shared = 13).
		"2026-10": {"r4.2": {12, 0}, "other": {13, 0}, "any": {27, 0}},
		// In progress: totals only.
		"2026-11": {"any": {33, 0}},
	}
	if !reflect.DeepEqual(figs, want) {
		t.Fatalf("published %v\nwant      %v", figs, want)
	}
	if got := meta["2026-10"].BelowMinCount; !reflect.DeepEqual(got, []string{"r4.0"}) {
		t.Errorf("October below_min_count %v, want [r4.0]", got)
	}
	if !meta["2026-11"].TotalsOnly || meta["2026-10"].TotalsOnly {
		t.Errorf("totals_only: October %v, November %v; want false, true", meta["2026-10"].TotalsOnly, meta["2026-11"].TotalsOnly)
	}
	if !strings.Contains(raw, `"min_count": 10`) {
		t.Errorf("meta holds no min_count:\n%s", raw)
	}
	for _, small := range []string{`"r4.1"`, `"r9.9"`, `"r8.8"`} {
		if strings.Contains(strings.Split(raw, `"meta"`)[0], small+": {") {
			t.Errorf("%s published in a month object:\n%s", small, raw)
		}
	}
}

// An "other" below the minimum is left out too; "any" below it as well.
func TestMinCountOtherAndAnyBelow(t *testing.T) {
	logs := map[string]string{"a.log": lines(append(checks("r9.9", 0, 2, "Oct", 5), checks("r8.8", 2, 3, "Oct", 5)...)...)}
	figs, meta, _ := scenario{logs: logs, months: months("2026-10"), now: "2026-11-20T04:00:00Z", minCount: 10}.run(t)
	if len(figs["2026-10"]) != 0 || !reflect.DeepEqual(meta["2026-10"].BelowMinCount, []string{"any", "other"}) {
		t.Fatalf("published %v, below %v; want nothing, [any other]", figs["2026-10"], meta["2026-10"].BelowMinCount)
	}
}

// publish_current = false leaves the month in progress out, also when it
// was written before; min_count 0 writes every cell as the reference does.
func TestPublishCurrentAndMinCountZero(t *testing.T) {
	ms := months("2026-10", "2026-11")
	old := `{"2026-11": {"any": {"plain": 1, "tor": 0}}, "meta": {"months": {"2026-11": {"computed_at": "2026-11-19T04:00:00Z"}}}}`
	figs, meta, _ := scenario{logs: minCountLogs(), months: ms, now: "2026-11-20T04:00:00Z", hide: true, data: old}.run(t)
	if _, ok := figs["2026-11"]; ok {
		t.Errorf("the month in progress is published: %v", figs["2026-11"])
	}
	if _, ok := meta["2026-11"]; ok {
		t.Errorf("the month in progress has meta: %+v", meta["2026-11"])
	}
	figs, _, raw := scenario{logs: minCountLogs(), months: ms, now: "2026-11-20T04:00:00Z"}.run(t)
	if len(figs["2026-10"]) != 6 || len(figs["2026-11"]) != 3 || strings.Contains(raw, "min_count") || strings.Contains(raw, "below_min_count") {
		t.Errorf("min_count 0 changed the output: %v\n%s", figs, raw)
	}
	var top map[string]json.RawMessage
	json.Unmarshal([]byte(raw), &top)
	if _, ok := top[Other]; ok {
		t.Error("min_count 0 folded releases into other")
	}
}

// The page shows a cell left out as "< N", and the month in progress as
// totals only.
func TestPageMinCount(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "stats.json")
	log := filepath.Join(dir, "access.log")
	os.WriteFile(log, []byte(minCountLogs()["a.log"]), 0o644)
	now := fixedNow("2026-11-20T04:00:00Z")
	if _, err := Update(context.Background(), Options{Logs: []string{log}, DataFile: data, Months: months("2026-09", "2026-10", "2026-11"), Now: now, MinCount: 10}); err != nil {
		t.Fatal(err)
	}
	page := NewPage(PageOptions{DataFile: data, Prefix: "/s/", Now: now})
	rec := httptest.NewRecorder()
	page.ServeHTTP(rec, httptest.NewRequest("GET", "/s/", nil))
	html := rec.Body.String()
	svg := httptest.NewRecorder()
	page.ServeHTTP(svg, httptest.NewRequest("GET", "/s/stats.svg", nil))
	for _, want := range []string{"r4.0 (&lt; 10 in some months)", "all releases (in progress)"} {
		if !strings.Contains(svg.Body.String(), want) {
			t.Errorf("chart lacks %q", want)
		}
	}
	// Releases: r4.0, r4.2, other, any.
	for _, want := range []string{
		"<tr><th scope=\"row\">2026-10</th><td>&lt; 10</td><td>12 + 0</td><td>13 + 0</td><td>27 + 0</td>",
		"<tr><th scope=\"row\">2026-11</th><td>–</td><td>–</td><td>–</td><td>33 + 0</td>",
		"month in progress: totals only until it ends",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %s:\n%s", want, html)
		}
	}
}

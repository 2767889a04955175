package stats

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// sharedCase is the shared case with known answers, copied into the
// repository's testdata so a clone tests alone.
const sharedCase = "../../testdata/qubes-method"

// copyTree copies the read-only shared case into a temporary directory.
func copyTree(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatalf("shared case not available (it lives in the repository, at testdata/qubes-method): %v", err)
	}
	return dst
}

func fixedNow(s string) func() time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return func() time.Time { return t }
}

func TestSharedCaseReproduced(t *testing.T) {
	dir := copyTree(t, sharedCase)
	data := filepath.Join(dir, "stats.json")
	res, err := Update(context.Background(), Options{
		Logs:         []string{filepath.Join(dir, "logs", "access.log*")},
		ExitListsDir: filepath.Join(dir, "exit-lists"),
		DataFile:     data,
		Months:       months("2026-09", "2026-10", "2026-11"),
		Title:        "Estimated userbase",
		Now:          fixedNow("2026-12-02T04:00:00Z"),
	})
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]map[string]Figures
	readJSON(t, filepath.Join(dir, "expected.json"), &want)
	var got map[string]json.RawMessage
	readJSON(t, data, &got)
	for month, wantMonth := range want {
		var gotMonth map[string]Figures
		if err := json.Unmarshal(got[month], &gotMonth); err != nil {
			t.Fatalf("%s: %v", month, err)
		}
		for rel, w := range wantMonth {
			if g := gotMonth[rel]; g != w {
				t.Errorf("%s %s: got %+v, want %+v", month, rel, g, w)
			}
		}
		for rel := range gotMonth {
			if _, ok := wantMonth[rel]; !ok {
				t.Errorf("%s: unexpected release %q: %+v", month, rel, gotMonth[rel])
			}
		}
	}
	if len(res.Months) != 3 {
		t.Errorf("got %d months in the result, want 3", len(res.Months))
	}
	if !reflect.DeepEqual(keys(got), []string{"2026-09", "2026-10", "2026-11", "meta"}) {
		t.Errorf("top-level keys %v", keys(got))
	}
}

func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func keys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sortStrings(ks)
	return ks
}

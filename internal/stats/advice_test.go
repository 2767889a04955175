package stats

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"depot/internal/torexit"
)

// TestExitListAdvice: the coverage warning asks only for archives that are
// missing and can exist: never for one that is in the directory, never for
// the month in progress (CollecTor archives a month after it ends; until
// then its lists are in recent/).
func TestExitListAdvice(t *testing.T) {
	at := func(s string) time.Time {
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			panic(err)
		}
		return t
	}
	gap := func(from, to string) []torexit.Gap { return []torexit.Gap{{From: at(from), To: at(to)}} }
	tests := []struct {
		name    string
		gaps    []torexit.Gap
		now     string
		present []string
		want    []string
		mustNot []string
	}{
		{"a past month without its archive, and the next one's first day",
			gap("2026-10-01", "2026-11-01"), "2026-12-10", nil,
			[]string{"put CollecTor's exit-list-2026-10.tar.xz and exit-list-2026-11.tar.xz in"}, []string{"recent"}},
		{"its archive is there: not asked for again",
			gap("2026-10-01", "2026-11-01"), "2026-12-10", []string{"exit-list-2026-10.tar.xz"},
			[]string{"put CollecTor's exit-list-2026-11.tar.xz in", "exit-list-2026-10.tar.xz in", "has no list for those days"},
			[]string{"put CollecTor's exit-list-2026-10"}},
		{"the month in progress has no archive yet",
			gap("2026-11-20", "2026-11-29"), "2026-11-29", nil,
			[]string{"the month in progress (2026-11) has no archive until it ends", "recent/exit-lists/"},
			[]string{"exit-list-2026-11.tar.xz"}},
		{"the last day of a month just ended needs the next month's lists, still recent",
			gap("2026-11-30", "2026-12-01"), "2026-12-01", nil,
			[]string{"put CollecTor's exit-list-2026-11.tar.xz in", "the month in progress (2026-12)"},
			[]string{"exit-list-2026-12.tar.xz"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, name := range tt.present {
				os.WriteFile(filepath.Join(dir, name), nil, 0o644)
			}
			got := exitListAdvice(tt.gaps, dir, at(tt.now).Add(4*time.Hour))
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("got %q\nwant it to contain %q", got, w)
				}
			}
			for _, w := range tt.mustNot {
				if strings.Contains(got, w) {
					t.Errorf("got %q\nwant it not to mention %q", got, w)
				}
			}
		})
	}
	if got := exitListAdvice(gap("2026-10-01", "2026-11-01"), "", at("2026-12-10")); !strings.Contains(got, "no exit-list directory is configured") {
		t.Errorf("without a directory: got %q", got)
	}
}

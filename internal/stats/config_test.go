package stats

import (
	"reflect"
	"testing"

	"depot/internal/month"
)

// TestOptionsWith: what a run sets replaces the configuration's value,
// what it leaves unset keeps it; --fetch=false turns off a configured
// fetch, and --count-ipv6 only adds.
func TestOptionsWith(t *testing.T) {
	configured := Options{Logs: []string{"/var/log/depot/access*"}, ExitListsDir: "/x", DataFile: "/d.json", Title: "T", Fetch: true, CountIPv6: true}
	str := func(s string) *string { return &s }
	no := false
	nov := month.MustParse("2026-11")
	tests := []struct {
		name string
		ov   Overrides
		want Options
	}{
		{"nothing set", Overrides{}, configured},
		{"everything set", Overrides{Logs: []string{"a.log"}, ExitListsDir: str("/y"), DataFile: str("/e.json"), Title: str(""), Fetch: &no, Months: []month.Month{nov}, Force: true},
			Options{Logs: []string{"a.log"}, ExitListsDir: "/y", DataFile: "/e.json", Title: "", Fetch: false, CountIPv6: true, Months: []month.Month{nov}, Force: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := configured.With(tt.ov); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
	if got := (Options{}).With(Overrides{CountIPv6: true}); !got.CountIPv6 {
		t.Error("--count-ipv6 did not turn counting on")
	}
}

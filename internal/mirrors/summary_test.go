package mirrors

import (
	"testing"
	"time"
)

func TestSummary(t *testing.T) {
	checked := time.Date(2026, 11, 29, 6, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		mr   MirrorReport
		want string
	}{
		{"never checked", MirrorReport{}, "unchecked"},
		{"all fresh", MirrorReport{LastCheck: checked, Trusted: true, Counts: map[Status]int{Fresh: 3}}, "ok"},
		{"one down", MirrorReport{LastCheck: checked, Counts: map[Status]int{Fresh: 2, Down: 1}}, "down"},
		{"back but not rescanned", MirrorReport{LastCheck: checked, Counts: map[Status]int{Fresh: 3}}, "untrusted"},
		{"stale", MirrorReport{LastCheck: checked, Trusted: true, Counts: map[Status]int{Fresh: 1, Stale: 1}}, "stale"},
		{"behind", MirrorReport{LastCheck: checked, Trusted: true, Counts: map[Status]int{Behind: 1}}, "behind"},
		{"origin holds nothing", MirrorReport{LastCheck: checked, Trusted: true, Counts: map[Status]int{}}, "nothing to check"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.mr.Summary(); got != tt.want {
				t.Errorf("Summary() = %q, want %q", got, tt.want)
			}
		})
	}
}

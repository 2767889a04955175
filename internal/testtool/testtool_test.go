package testtool

import (
	"fmt"
	"testing"
)

// recorder is a testing.TB that notes a skip or a failure instead of
// ending the goroutine.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()                           {}
func (r *recorder) Skip(args ...any)                  { r.skipped = fmt.Sprint(args...) }
func (r *recorder) Fatalf(format string, args ...any) { r.failed = fmt.Sprintf(format, args...) }

func TestMissingProgram(t *testing.T) {
	const absent = "depot-testtool-no-such-program"
	for _, tt := range []struct {
		ci         string
		skip, fail bool
	}{
		{ci: "", skip: true},
		{ci: "false", skip: true},
		{ci: "true", fail: true},
	} {
		t.Run("CI="+tt.ci, func(t *testing.T) {
			t.Setenv("CI", tt.ci)
			r := &recorder{TB: t}
			if p := Path(r, absent); p != "" {
				t.Errorf("Path = %q, want \"\"", p)
			}
			if got := r.skipped != ""; got != tt.skip {
				t.Errorf("skipped = %v (%q), want %v", got, r.skipped, tt.skip)
			}
			if got := r.failed != ""; got != tt.fail {
				t.Errorf("failed = %v (%q), want %v", got, r.failed, tt.fail)
			}
		})
	}
}

func TestPathFindsAnAlternative(t *testing.T) {
	r := &recorder{TB: t}
	// "sh" is on every machine the tests run on.
	if p := Path(r, "depot-testtool-no-such-program", "sh"); p == "" || r.skipped != "" || r.failed != "" {
		t.Errorf("Path = %q (skipped %q, failed %q), want the path of sh", p, r.skipped, r.failed)
	}
}

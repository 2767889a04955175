// Package testtool finds the programs depot's tests run against (dnf,
// apt-get, tor, chromium, xz…). A missing program skips the test on a
// workstation and fails it in CI (CI=true), where .ci/run installs every
// one, so that a test never passes in CI by skipping.
//
// It is for tests only: it runs nothing and installs nothing.
package testtool

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Need ends the test unless every one of programs is in PATH: it is
// skipped, or fails under CI=true.
func Need(tb testing.TB, programs ...string) {
	tb.Helper()
	for _, p := range programs {
		Path(tb, p)
	}
}

// Path returns the path of the first of names found in PATH (names of
// one program, such as "chromium", "chromium-browser"). If none is, the
// test is skipped, or fails under CI=true.
func Path(tb testing.TB, names ...string) string {
	tb.Helper()
	for _, name := range names {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	Missing(tb, "%s is not installed (.ci/run lists the Debian packages CI installs)", strings.Join(names, " or "))
	return ""
}

// Missing ends a test that lacks something it needs from the machine (a
// program, a network namespace, a plugin): it skips the test, or fails it
// under CI=true, where nothing may be missing.
func Missing(tb testing.TB, format string, args ...any) {
	tb.Helper()
	msg := fmt.Sprintf(format, args...)
	if InCI() {
		tb.Fatalf("CI=true and %s", msg)
		return
	}
	tb.Skip(msg)
}

// InCI reports whether the tests run in CI (CI=true), where every program
// a test needs must be installed.
func InCI() bool { return os.Getenv("CI") == "true" }

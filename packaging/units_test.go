// Package packaging holds what the Debian package installs besides the
// binary (systemd units, maintainer scripts) and the script that builds
// it. Its tests check the units with systemd's own analyzer.
package packaging

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"depot/internal/testtool"
)

var units = []string{"depot.service", "depot-stats.service", "depot-stats.timer"}

// stagedUnits copies the units to a temporary directory with /usr/bin/depot
// replaced by an executable that exists, since verify checks that every
// command can run; the package installs the real binary at /usr/bin/depot.
func stagedUnits(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	stub := filepath.Join(dir, "depot")
	if err := os.WriteFile(stub, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, u := range units {
		b, err := os.ReadFile(filepath.Join("systemd", u))
		if err != nil {
			t.Fatal(err)
		}
		text := strings.ReplaceAll(string(b), "/usr/bin/depot ", stub+" ")
		if err := os.WriteFile(filepath.Join(dir, u), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestUnitsVerify runs systemd-analyze verify on the shipped units: any
// message (an unknown directive, a bad value, a missing command) fails.
// Man pages are checked after installing the package, where they exist
// (.ci/package.sh).
func TestUnitsVerify(t *testing.T) {
	testtool.Need(t, "systemd-analyze") // Debian package systemd
	dir := stagedUnits(t)
	args := []string{"verify", "--man=no"}
	for _, u := range units {
		args = append(args, filepath.Join(dir, u))
	}
	out, err := exec.Command("systemd-analyze", args...).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

var exposure = regexp.MustCompile(`Overall exposure level for (\S+): (\d+\.\d) (\S+)`)

// TestUnitsExposure holds the services' exposure score (systemd-analyze
// security, 0 safest to 10) below 2.0, "OK", and checks that the README
// records depot.service's score as it is.
func TestUnitsExposure(t *testing.T) {
	testtool.Need(t, "systemd-analyze") // Debian package systemd
	dir := stagedUnits(t)
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"depot.service", "depot-stats.service"} {
		out, err := exec.Command("systemd-analyze", "security", "--offline=yes", filepath.Join(dir, u)).CombinedOutput()
		m := exposure.FindStringSubmatch(string(out))
		if err != nil || m == nil {
			t.Fatalf("systemd-analyze security --offline=yes %s: %v\n%s", u, err, out)
		}
		if score, _ := strconv.ParseFloat(m[2], 64); score >= 2.0 || m[3] != "OK" {
			t.Errorf("%s: exposure %s %s, want below 2.0 and OK:\n%s", u, m[2], m[3], out)
		}
		if u == "depot.service" && !strings.Contains(string(readme), "exposure level for depot.service: "+m[2]+" OK") {
			t.Errorf("README.md does not record depot.service's exposure as measured: want the line %q", m[0])
		}
	}
}

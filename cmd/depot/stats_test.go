package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestStatsExitCodes(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "access.log")
	os.WriteFile(log, []byte(`203.0.113.1 - - [05/Nov/2026:10:00:00 +0000] "GET /r4.2/current/repodata/repomd.xml HTTP/1.1" 200 1 "-" "-"`+"\n"), 0o644)
	data := filepath.Join(dir, "stats.json")
	chart := filepath.Join(dir, "chart")
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"update", []string{"stats", "update", "--logs", log, "--data", data, "--month", "2026-11", "--chart", chart}, 0},
		{"show", []string{"stats", "show", "--data", data}, 0},
		{"a mistyped glob does not wipe a month", []string{"stats", "update", "--logs", log + ".nothing", "--data", data, "--month", "2026-11"}, 1},
		{"unless forced", []string{"stats", "update", "--logs", log + ".nothing", "--data", data, "--month", "2026-11", "--force"}, 0},
		{"bad month", []string{"stats", "update", "--logs", log, "--data", data, "--month", "2026-13"}, 2},
		{"no logs", []string{"stats", "update", "--data", data}, 2},
		{"no data", []string{"stats", "update", "--logs", log}, 2},
		{"unknown flag", []string{"stats", "update", "--log", log}, 2},
		{"missing exit lists", []string{"stats", "update", "--logs", log, "--data", data, "--exit-lists", filepath.Join(dir, "none")}, 1},
		{"show missing file", []string{"stats", "show", "--data", filepath.Join(dir, "none.json")}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := run(tt.args); got != tt.want {
				t.Errorf("depot %v: exit status %d, want %d", tt.args, got, tt.want)
			}
		})
	}
	for _, ext := range []string{".svg", ".png"} {
		if _, err := os.Stat(chart + ext); err != nil {
			t.Errorf("--chart wrote no %s: %v", ext, err)
		}
	}
}

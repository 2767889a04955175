package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestProxyExitCodes(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"no config", []string{"proxy"}, 2},
		{"extra argument", []string{"proxy", "x"}, 2},
		{"no proxy table", []string{"proxy", "--config", write("none.toml", "log_dir = \"/tmp\"\n")}, 1},
		{"open proxy", []string{"proxy", "--config", write("open.toml", "[proxy]\nlisten = \"127.0.0.1:0\"\nallow = [\"*\"]\n")}, 1},
		{"missing file", []string{"proxy", "--config", filepath.Join(dir, "missing.toml")}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := run(tt.args); got != tt.want {
				t.Errorf("depot %s: exit %d, want %d", strings.Join(tt.args, " "), got, tt.want)
			}
		})
	}
}

package config

import (
	"strings"
	"testing"
)

func TestFileCache(t *testing.T) {
	tests := []struct {
		name, toml       string
		maxFile, maxSize Size
		off              bool
		problem          string
	}{
		{name: "defaults", maxFile: 64 << 10, maxSize: 64 << 20},
		{name: "set", toml: "[file_cache]\nmax_file = \"1MiB\"\nmax_size = \"1GiB\"\n", maxFile: 1 << 20, maxSize: 1 << 30},
		{name: "off", toml: "[file_cache]\noff = true\n", maxFile: 64 << 10, maxSize: 64 << 20, off: true},
		{name: "file over total", toml: "[file_cache]\nmax_file = \"2MiB\"\nmax_size = \"1MiB\"\n",
			problem: "file_cache.max_file: 2097152 bytes is more than max_size (1048576)"},
		{name: "not a size", toml: "[file_cache]\nmax_file = \"big\"\n", problem: "max_file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(writeConfig(t, minimal+tt.toml))
			if tt.problem != "" {
				if err == nil || !strings.Contains(err.Error(), tt.problem) {
					t.Fatalf("got error %v, want one with %q", err, tt.problem)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := c.FileCache; got.MaxFile != tt.maxFile || got.MaxSize != tt.maxSize || got.Off != tt.off {
				t.Errorf("got %+v, want max_file %d max_size %d off %v", got, tt.maxFile, tt.maxSize, tt.off)
			}
		})
	}
}

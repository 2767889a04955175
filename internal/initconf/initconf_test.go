package initconf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"depot/examples"
)

func TestRender(t *testing.T) {
	tests := []struct {
		name    string
		n       Names
		want    []string // lines the result holds
		wantErr string
	}{
		{"defaults are the example", Names{}, []string{`  "www.example.org",`, `  "example.org",`}, ""},
		{"domain", Names{Domain: "Example.COM."}, []string{`  "www.example.com",`, `  "example.com",`, `hosts = ["yum.example.com"]`, `base_url = "https://deb.example.com/"`}, ""},
		{"a host inside the domain", Names{Domain: "x.org", Yum: "yum.x.org.mirror.x.org"}, []string{`hosts = ["yum.x.org.mirror.x.org"]`, `  "www.x.org",`}, ""},
		{"onion", Names{Domain: "x.org", Onion: "http://" + strings.Repeat("a", 55) + "d.onion/"},
			[]string{`onion_location = "http://` + strings.Repeat("a", 55) + `d.onion"`, `  "www.x.org",`, `  "` + strings.Repeat("a", 55) + `d.onion",`}, ""},
		{"bad domain", Names{Domain: "x"}, nil, "--domain"},
		{"quote", Names{WWW: `a".org`}, nil, "--www"},
		{"onion as a host", Names{Deb: strings.Repeat("a", 55) + "d.onion"}, nil, "--deb"},
		{"v2 onion", Names{Onion: "abcdefghijklmnop.onion"}, nil, "--onion"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Render(tt.n)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want an error naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(got, "\n"+w+"\n") {
					t.Errorf("result lacks the line %q", w)
				}
			}
		})
	}
}

func TestPlaceholders(t *testing.T) {
	text, err := Render(Names{Domain: "example.com"})
	if err != nil {
		t.Fatal(err)
	}
	left := Placeholders(text)
	if len(left) != 2 || !strings.Contains(left[0], `name = "mirror.example.net"`) || !strings.Contains(left[1], "url =") {
		t.Errorf("got %q, want the mirror's name and url lines", left)
	}
	if len(Placeholders(examples.DepotTOML)) < 9 {
		t.Error("the example itself should be full of placeholders")
	}
}

// TestWriteNeverOverwrites: depot init writes depot.toml whole, and never
// over a file or through a symbolic link that has its name.
func TestWriteNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	path, err := Write(dir, "first\n")
	if err != nil || path != filepath.Join(dir, FileName) {
		t.Fatalf("Write: %q, %v", path, err)
	}
	if _, err := Write(dir, "second\n"); err == nil || !strings.Contains(err.Error(), "never overwrites") {
		t.Errorf("a second Write: got %v, want a refusal", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "first\n" {
		t.Errorf("%s holds %q after a refused Write, want the first text", path, b)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("%s: %v, %v; want mode 0644", path, st, err)
	}

	linked := t.TempDir()
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.Symlink(victim, filepath.Join(linked, FileName)); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(linked, "text\n"); err == nil {
		t.Error("Write over a dangling symbolic link succeeded")
	}
	if _, err := os.Lstat(victim); !os.IsNotExist(err) {
		t.Errorf("Write wrote through the link: %v", err)
	}
	if ents, _ := os.ReadDir(linked); len(ents) != 1 {
		t.Errorf("%s holds %d entries, want only the link (no temporary file)", linked, len(ents))
	}
}

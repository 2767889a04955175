package torrc

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"depot/internal/config"
)

func TestWrite(t *testing.T) {
	tests := []struct {
		name   string
		listen []config.Listen
		want   []string // lines that must appear, in order
	}{
		{"unix", []config.Listen{{Address: "127.0.0.1:80"}, {Address: "unix:/run/depot/onion.sock", Onion: true}},
			[]string{"HiddenServiceDir /var/lib/tor/depot/", "HiddenServicePort 80 unix:/run/depot/onion.sock"}},
		{"loopback", []config.Listen{{Address: "127.0.0.1:8081", Onion: true}},
			[]string{"HiddenServiceDir /var/lib/tor/depot/", "HiddenServicePort 80 127.0.0.1:8081"}},
		{"two services, quoted path", []config.Listen{{Address: "unix:/run/a.sock", Onion: true}, {Address: "unix:/run/my \"b\".sock", Onion: true}},
			[]string{"HiddenServiceDir /var/lib/tor/depot/", "HiddenServicePort 80 unix:/run/a.sock",
				"HiddenServiceDir /var/lib/tor/depot-2/", `HiddenServicePort 80 unix:"/run/my \"b\".sock"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			if err := Write(&b, "test.toml", "/var/lib/tor/depot/", tt.listen); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, line := range strings.Split(b.String(), "\n") {
				if line != "" && !strings.HasPrefix(line, "#") {
					got = append(got, line)
				}
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestWriteNoOnionListener(t *testing.T) {
	var b strings.Builder
	err := Write(&b, "test.toml", "/var/lib/tor/depot/", []config.Listen{{Address: "127.0.0.1:80"}})
	if err == nil || !strings.Contains(err.Error(), "no onion listener") {
		t.Fatalf("err = %v, want one saying there is no onion listener", err)
	}
}

// TestWriteThenRead: what Write prints, Read reads back as the same
// services, quoted paths and all, so depot audit understands the lines
// depot onion torrc gave the operator.
func TestWriteThenRead(t *testing.T) {
	listen := []config.Listen{
		{Address: "127.0.0.1:80"},
		{Address: "unix:/run/depot/onion.sock", Onion: true},
		{Address: "unix:/run/my \"b\" dir/x.sock", Onion: true},
		{Address: "127.0.0.1:8081", Onion: true},
	}
	var b strings.Builder
	if err := Write(&b, "test.toml", "/var/lib/tor/depot/", listen); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "torrc")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	ports, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"/var/lib/tor/depot/ 80 unix:/run/depot/onion.sock",
		"/var/lib/tor/depot-2/ 80 unix:/run/my \"b\" dir/x.sock",
		"/var/lib/tor/depot-3/ 80 127.0.0.1:8081",
	}
	var got []string
	for _, p := range ports {
		got = append(got, fmt.Sprintf("%s %d %s", p.Dir, p.Virt, p.Target))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("read back\n%s\nwant\n%s\nfrom\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), b.String())
	}
}

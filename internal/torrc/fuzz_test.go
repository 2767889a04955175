package torrc

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzRead: any torrc parses or fails with an error naming the
// file; every port found has a target a listener could be compared to.
func FuzzRead(f *testing.F) {
	for _, s := range []string{
		"HiddenServiceDir /var/lib/tor/depot/\nHiddenServicePort 80 127.0.0.1:2\n",
		"HiddenServicePort 2\n", "hiddenserviceport 80 unix:\"/run/x y.sock\"\n", "HiddenServicePort 80 \\\n 8080\n",
		"HiddenServicePort 80 [::1]:8081 # c\n", "%include /nonexistent\n", "HiddenServicePort eighty\n", "HiddenServicePort 70000\n",
	} {
		f.Add(s)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, s string) {
		p := filepath.Join(dir, "torrc")
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		ports, err := Read(p)
		if err != nil {
			if !strings.Contains(err.Error(), dir) && !strings.Contains(err.Error(), "nested") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		for _, hp := range ports {
			if hp.Virt < 1 || hp.Virt > 65535 || hp.Target == "" {
				t.Fatalf("port %+v", hp)
			}
		}
	})
}

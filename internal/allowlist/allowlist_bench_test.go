package allowlist

import "testing"

func BenchmarkAllows(b *testing.B) {
	list, err := ParseList([]string{"yum.qubes-os.org", "*.debian.org", "*.fedoraproject.org", "localhost:8080"})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		t, err := ParseAuthority("Deb.Debian.org:443", 0)
		if err != nil || !list.Allows(t) {
			b.Fatal("deb.debian.org:443 not allowed")
		}
	}
}

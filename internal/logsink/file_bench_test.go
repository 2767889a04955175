package logsink

import (
	"path/filepath"
	"testing"
)

var benchAccessLine = []byte(`203.0.113.7 - - [29/Nov/2026:04:28:39 +0000] "GET /r4.2/current/host/fc37/repodata/repomd.xml.metalink HTTP/1.1" 200 3859 "-" "libdnf (Fedora 37; generic; Linux.x86_64)"` + "\n")

// BenchmarkFileWrite is the cost of logging one line: the hot path of
// every clearnet request.
func BenchmarkFileWrite(b *testing.B) {
	f, err := Open(filepath.Join(b.TempDir(), "access.log"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	b.ReportAllocs()
	b.SetBytes(int64(len(benchAccessLine)))
	for b.Loop() {
		if _, err := f.Write(benchAccessLine); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFileWriteParallel(b *testing.B) {
	f, err := Open(filepath.Join(b.TempDir(), "access.log"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	b.ReportAllocs()
	b.SetBytes(int64(len(benchAccessLine)))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := f.Write(benchAccessLine); err != nil {
				b.Fatal(err)
			}
		}
	})
}

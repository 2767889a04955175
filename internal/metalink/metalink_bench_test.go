package metalink

import (
	"testing"
	"time"
)

func BenchmarkAppendV3(b *testing.B) {
	f := sampleFile()
	for i := range 20 {
		f.URLs = append(f.URLs, URL{URL: "https://mirror" + string(rune('a'+i)) + ".example.net/qubes/r4.2/current/host/fc37/repodata/repomd.xml", Location: "DE", Preference: 100 - i})
	}
	buf := make([]byte, 0, 16<<10)
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendV3(buf[:0], f, now, "depot")
	}
}

package audit

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkScanFile reads one plain access log as the retention check
// does: time and address of every line, addresses collected.
func BenchmarkScanFile(b *testing.B) {
	p := filepath.Join(b.TempDir(), "access.log")
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	start := day("2026-10-01")
	const n = 200_000
	for i := range n {
		a := uint32(i%50_000)*2654435761 + 0x0b000000
		fmt.Fprintf(w, `%d.%d.%d.%d - - [%s] "GET /r4.2/current/vm/fc41/repodata/repomd.xml HTTP/1.1" 200 3456 "-" "libdnf (Fedora 41; generic; Linux.x86_64)"`+"\n",
			a>>24, a>>16&255, a>>8&255, a&255, start.Add(time.Duration(i)*time.Second).Format("02/Jan/2006:15:04:05 -0700"))
	}
	w.Flush()
	f.Close()
	st, _ := os.Stat(p)
	b.SetBytes(st.Size())
	b.ReportAllocs()
	for b.Loop() {
		if fs := scanFile(part{path: p, to: -1}, day("2026-09-01"), time.Time{}, testNow); fs.err != nil || fs.lines != n {
			b.Fatalf("%v, %d lines", fs.err, fs.lines)
		}
	}
}

package stats

import (
	"hash/maphash"
	"testing"

	"depot/internal/torexit"
)

// BenchmarkClassify is the hot path: parse one line and classify it.
func BenchmarkClassify(b *testing.B) {
	line := []byte(logLine("203.0.113.7", "29/Nov/2026:04:28:39 +0000", "GET /r4.2/current/host/fc37/repodata/repomd.xml.metalink?countme=1 HTTP/1.1", 200) + "\n")
	c := newClassifier(nil)
	var out classified
	b.ReportAllocs()
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		if c.classify(line, &out) != countedV4 {
			b.Fatal("not counted")
		}
	}
}

// BenchmarkClassifyPseudonym is the same line from a pseudonymised month.
func BenchmarkClassifyPseudonym(b *testing.B) {
	line := []byte(logLine("100::4:1:9c3f:27d1", "29/Nov/2026:04:28:39 +0000", "GET /r4.2/current/host/fc37/repodata/repomd.xml.metalink?countme=1 HTTP/1.1", 200) + "\n")
	c := newClassifier(nil)
	var out classified
	b.ReportAllocs()
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		if c.classify(line, &out) != countedV4 || !out.pseudo {
			b.Fatal("not counted as a pseudonym")
		}
	}
}

// BenchmarkClassifyAndCount adds the per-month, per-release counting, the
// Tor lookup and the file's identity.
func BenchmarkClassifyAndCount(b *testing.B) {
	lines := [][]byte{
		[]byte(logLine("203.0.113.7", "29/Nov/2026:04:28:39 +0000", "GET /r4.2/current/host/fc37/repodata/repomd.xml.metalink HTTP/1.1", 200)),
		[]byte(logLine("198.51.100.23", "29/Nov/2026:04:28:39 +0000", "GET /yum/r4.3/current/vm/fc41/repodata/repomd.xml HTTP/1.1", 304)),
		[]byte(logLine("192.0.2.9", "29/Nov/2026:04:28:40 +0000", "GET /iso/Qubes-R4.2.4-x86_64.iso HTTP/1.1", 206)),
		[]byte(logLine("203.0.113.8", "29/Nov/2026:04:28:41 +0000", "GET /r4.1/templates-itl/repodata/repomd.xml HTTP/1.1", 404)),
	}
	c := newClassifier(nil)
	t := newTally(months("2026-11"), false, 1, maphash.MakeSeed())
	f := t.file(0)
	exits := torexit.NewBuilder().Set()
	var out classified
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		v := c.classify(lines[i&3], &out)
		f.id.add(t.seed, lines[i&3])
		t.count(v, &out, exits, f)
		i++
	}
}

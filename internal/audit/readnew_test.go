package audit

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"depot/internal/config"
)

// TestReadNewReadsLogsAsTheLogReaderDoes: the live logging check reads
// what was written since it started with the one log reader: a file that
// grew is read from its old size (a marker before it is not counted
// again), a new file is read whatever its compression (an onion marker in
// a freshly compressed file is found, even one still being written), and a line longer than the scanner's
// old 1 MiB limit neither hides a marker after it nor goes unnoticed.
func TestReadNewReadsLogsAsTheLogReaderDoes(t *testing.T) {
	const clearMark, onionMark = "clear-7f3a", "onion-9c2e"
	dir := t.TempDir()
	cfg := &config.Config{LogDir: dir}
	write := func(name string, b []byte) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old := "203.0.113.7 - - [01/Dec/2026:00:00:00 +0000] \"GET /" + clearMark + "/old HTTP/1.1\" 404 0 \"-\" \"-\"\n"
	write("access.log", []byte(old))
	write("error.log", nil)
	before := sizes(cfg, []string{dir})

	f, err := os.OpenFile(filepath.Join(dir, "access.log"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	newLine := "203.0.113.7 - - [01/Dec/2026:00:00:01 +0000] \"GET /" + clearMark + "/new HTTP/1.1\" 404 0 \"-\" \"-\"\n"
	f.WriteString(newLine)
	f.Close()
	write("error.log", []byte("2026/12/01 00:00:01 [error] open() \"/"+clearMark+"\" failed, client: 203.0.113.7\n"))
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("- - - [01/Dec/2026:00:00:01 +0000] \"GET /" + onionMark + " HTTP/1.1\" 404 0 \"-\" \"-\"\n"))
	zw.Close()
	write("access.log-20261201.gz", gz.Bytes())
	gz.Reset()
	zw = gzip.NewWriter(&gz)
	zw.Write([]byte("- - - [01/Dec/2026:00:00:01 +0000] \"GET /" + onionMark + "/2 HTTP/1.1\" 404 0 \"-\" \"-\"\n"))
	zw.Flush() // still being compressed: no end yet
	write("error.log-20261201.gz", gz.Bytes())
	write("long.log", []byte(strings.Repeat("x", 2<<20)+"\n"+onionMark+"\n"))

	access, errorLines, onionHits, err := readNew(cfg, []string{dir}, before, clearMark, onionMark)
	if err != nil {
		t.Fatal(err)
	}
	if len(access) != 1 || access[0] != strings.TrimSuffix(newLine, "\n") {
		t.Errorf("access lines: got %q, want only the line written after the start", access)
	}
	if errorLines != 1 {
		t.Errorf("error.log lines with the client: got %d, want 1", errorLines)
	}
	want := []string{filepath.Join(dir, "access.log-20261201.gz"), filepath.Join(dir, "error.log-20261201.gz"), filepath.Join(dir, "long.log")}
	if strings.Join(onionHits, ",") != strings.Join(want, ",") {
		t.Errorf("files holding the onion marker: got %q, want %q", onionHits, want)
	}
}

package e2e

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"depot/internal/testtool"
)

// TestGoAccessReadsTheAccessLog: the access log depot writes, hostile
// requests included, is read by GoAccess's COMBINED format with no failed
// line. (Log analyzers choking on lines is GoAccess users' commonest
// complaint; depot's lines must never be the cause.)
func TestGoAccessReadsTheAccessLog(t *testing.T) {
	testtool.Need(t, "goaccess")
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "index.html"), []byte("home"))
	d := startDepot(t, serveConfig(t, root))
	requests := []string{"/", "/missing", "/a%20b?q=%22quoted%22", "/%E2%9C%93", "/.git/config"}
	for _, p := range requests {
		req, _ := http.NewRequest(http.MethodGet, d.URL(p), nil)
		req.Header.Set("User-Agent", "agent \"with quotes\" and \\ backslash")
		req.Header.Set("Referer", "http://ref.example/é") // obs-text: escaped as \xHH in the log
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	rawGet(t, d.Addr, `/raw"quote\back`) // bytes the log must escape
	if c, err := net.Dial("tcp", d.Addr); err == nil {
		c.Write([]byte("\x16\x03\x01garbage\r\n\r\n")) // refused by net/http, logged anyway
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		io.ReadAll(c)
		c.Close()
	}
	d.Stop(t)
	lines := readLog(t, d.AccessLog())
	if len(lines) != len(requests)+2 {
		t.Fatalf("access.log has %d lines, want %d", len(lines), len(requests)+2)
	}

	out := runStdout(t, ".", "goaccess", d.AccessLog(), "--log-format=COMBINED", "-o", "json", "--no-global-config")
	var report struct {
		General struct {
			Total  int `json:"total_requests"`
			Valid  int `json:"valid_requests"`
			Failed int `json:"failed_requests"`
		} `json:"general"`
	}
	// Progress ("[Parsing...] {0} @ {0/s}") goes to stderr, which is not
	// read; should a version print it on stdout, the report still starts
	// at its first key.
	if err := json.Unmarshal([]byte(out[max(0, strings.Index(out, `{"`)):]), &report); err != nil {
		t.Fatalf("goaccess output is not JSON: %v\n%s", err, out)
	}
	g := report.General
	if g.Failed != 0 || g.Valid != len(lines) {
		t.Errorf("goaccess read %d lines: %d valid, %d failed; want all %d valid", g.Total, g.Valid, g.Failed, len(lines))
	}
}

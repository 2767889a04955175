package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestLogRotateLosesNoLine renames access.log as logrotate does, sends SIGHUP,
// and expects later lines in a new access.log and none lost.
func TestLogRotateLosesNoLine(t *testing.T) {
	www := t.TempDir()
	writeFile(t, filepath.Join(www, "index.html"), []byte("<!DOCTYPE html><title>t</title>\n"))
	d := startDepot(t, serveConfig(t, www))

	get(t, http.DefaultClient, d.URL("/?before-rotation"))
	waitForLog(t, d.AccessLog(), "the request before rotation", func(l logLine) bool {
		return l.Request == "GET /?before-rotation HTTP/1.1"
	})
	rotated := d.AccessLog() + ".1"
	if err := os.Rename(d.AccessLog(), rotated); err != nil {
		t.Fatal(err)
	}
	// A line written between the rename and the reopen goes to the rotated
	// file; that is what logrotate expects, and it is not lost.
	get(t, http.DefaultClient, d.URL("/?during-rotation"))
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	// The reopen is asynchronous: keep asking until a line reaches the
	// new file.
	waitForLogWhile(t, d.AccessLog(), "a request after SIGHUP", func() {
		get(t, http.DefaultClient, d.URL("/?after-rotation"))
	}, func(l logLine) bool {
		return l.Request == "GET /?after-rotation HTTP/1.1" && l.Status == "200"
	})
	d.Stop(t)
	all := append(readLog(t, rotated), readLog(t, d.AccessLog())...)
	for _, want := range []string{"GET /?before-rotation HTTP/1.1", "GET /?during-rotation HTTP/1.1"} {
		found := false
		for _, l := range all {
			found = found || l.Request == want
		}
		if !found {
			t.Errorf("%q was lost in the rotation", want)
		}
	}
}

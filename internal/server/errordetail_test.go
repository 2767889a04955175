package server

import (
	"strings"
	"testing"

	"depot/internal/config"
)

// log_not_found = false: a 404 gets its access line and no error line;
// other errors of the site still get theirs.
func TestLogNotFoundOff(t *testing.T) {
	ts := startServer(t, "log_not_found = false\n", Options{})
	body(t, get(t, ts.clearnet, "/r9.9/missing"))
	body(t, get(t, ts.clearnet, "/.git/config")) // 404 too: hidden
	body(t, get(t, ts.clearnet, "/"))
	// Lines are written after the response: stop the server (it finishes
	// its requests and flushes) before reading them.
	ts.stop(t)
	if access := ts.readLogAfterStop(t, "access.log"); strings.Count(access, "\n") != 3 || !strings.Contains(access, `"GET /r9.9/missing HTTP/1.1" 404 `) {
		t.Errorf("access.log should hold all three requests:\n%s", access)
	}
	if errs := ts.readLogAfterStop(t, "error.log"); errs != "" {
		t.Errorf("error.log should be empty with log_not_found = false:\n%s", errs)
	}
	// The default logs them, as nginx does.
	ts = startServer(t, "", Options{})
	body(t, get(t, ts.clearnet, "/r9.9/missing"))
	ts.stop(t)
	if errs := ts.readLogAfterStop(t, "error.log"); !strings.Contains(errs, `/r9.9/missing" failed (2: No such file or directory)`) {
		t.Errorf("by default a 404 has an error line:\n%s", errs)
	}
}

// error_log_detail = "minimal": error lines keep time, level, client and
// the reason, and drop the request line and Host, refused requests'
// included; a reload switches it.
func TestErrorLogDetailMinimal(t *testing.T) {
	ts := startServer(t, "", Options{})
	cfg := *ts.cfg
	cfg.ErrorLogDetail = config.ErrorLogMinimal
	if err := ts.srv.Reload(&cfg); err != nil {
		t.Fatal(err)
	}
	body(t, get(t, ts.clearnet, "/r9.9/secret-path?token=1", "Host", "yum.example.org"))
	raw(t, ts.clearnet, "\x16\x03\x01garbage-request\r\n\r\n")
	ts.stop(t)
	errs := ts.readLogAfterStop(t, "error.log")
	lines := strings.Split(strings.TrimSuffix(errs, "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("error.log has %d lines, want 2:\n%s", len(lines), errs)
	}
	for _, l := range lines {
		for _, gone := range []string{"request: ", "host: ", "token=1", "garbage-request", "yum.example.org"} {
			if strings.Contains(l, gone) {
				t.Errorf("minimal error line holds %q: %s", gone, l)
			}
		}
		if !strings.Contains(l, "client: 127.0.0.1") || !(strings.Contains(l, "[error]") || strings.Contains(l, "[info]")) {
			t.Errorf("minimal error line lacks its client or level: %s", l)
		}
	}
	if !strings.Contains(lines[0], "failed (2: No such file or directory)") || !strings.Contains(lines[1], "client sent invalid request") {
		t.Errorf("minimal error lines lost their reason:\n%s", errs)
	}
	if access := ts.readLogAfterStop(t, "access.log"); !strings.Contains(access, "token=1") {
		t.Errorf("the access log keeps the request line:\n%s", access)
	}
}

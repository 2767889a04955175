package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"depot/internal/site"
)

func TestSiteCommands(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "docs")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "index.md"), []byte("# Docs\n\nSee [the guide](guide.md) and [code](https://git.example.net/x).\n"), 0o644)
	os.WriteFile(filepath.Join(src, "guide.md"), []byte("# Guide\n"), 0o644)
	dst := filepath.Join(dir, "public")

	out, _, err := runDepot(t, "site", "build", src, dst)
	if err != nil || !strings.Contains(out, "audit passed") {
		t.Fatalf("build: err %v, output %q", err, out)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "index.txt")); !strings.Contains(string(b), "[the guide](guide.txt)") {
		t.Fatalf("index.txt: got %q", b)
	}

	out, _, err = runDepot(t, "site", "audit", dst, "--links")
	if err != nil || !strings.Contains(out, "https://git.example.net/x") || !strings.Contains(out, "no third-party resources") {
		t.Fatalf("audit --links: err %v, output %q", err, out)
	}

	bad := filepath.Join(dir, "bad")
	os.MkdirAll(bad, 0o755)
	os.WriteFile(filepath.Join(bad, "p.html"), []byte("<p>\n<img src=\"https://cdn.example.net/a.png\" onclick=\"x()\">"), 0o644)
	out, _, err = runDepot(t, "site", "audit", bad)
	if code := exitCode(err); code != 1 || !strings.Contains(out, "p.html:2") || !strings.Contains(out, "third-party") || !strings.Contains(out, "event-handler") {
		t.Fatalf("audit of a bad site: exit %d, err %v, output %q; want exit 1 and both findings at p.html:2", code, err, out)
	}
	out, _, err = runDepot(t, "site", "audit", bad, "--json")
	var rep site.Report
	if jerr := json.Unmarshal([]byte(out), &rep); jerr != nil || len(rep.Findings) != 2 || exitCode(err) != 1 {
		t.Fatalf("audit --json: %v, %+v, err %v", jerr, rep, err)
	}

	// Building a site that fails its audit leaves DST as it was.
	os.WriteFile(filepath.Join(src, "guide.md"), []byte("# Guide\n\n<iframe src=\"https://video.example.net/embed\"></iframe>\n"), 0o644)
	_, errOut, err := runDepot(t, "site", "build", src, dst)
	if exitCode(err) != 1 || !strings.Contains(errOut, "guide.html") {
		t.Fatalf("build failing its audit: err %v, stderr %q", err, errOut)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "guide.html")); strings.Contains(string(b), "iframe") {
		t.Fatal("a build that failed its audit replaced DST")
	}

	for _, args := range [][]string{
		{"site"},
		{"site", "audit"},
		{"site", "build", src},
		{"site", "audit", dst, "--origin", "www.example.org"},
	} {
		if _, _, err := runDepot(t, args...); exitCode(err) != 2 {
			t.Errorf("depot %v: exit %d (%v), want 2", args, exitCode(err), err)
		}
	}
}

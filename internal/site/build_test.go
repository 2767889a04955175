package site

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tree reads every file under dir into a map from slash path to content.
func tree(t testing.TB, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		m[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// build builds src into a fresh directory and returns it.
func build(t testing.TB, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "site")
	if _, err := Build(src, dst, BuildOptions{}); err != nil {
		t.Fatalf("Build(%s): %v", src, err)
	}
	return dst
}

func TestBuildDocs(t *testing.T) {
	got := tree(t, build(t, "testdata/docs"))
	var names []string
	for n := range got {
		names = append(names, n)
	}
	want := []string{".depot-site", "KEY.asc", "guide/install.html", "guide/install.txt", "index.html", "index.txt", "style.css"}
	if strings.Join(sortStrings(names), " ") != strings.Join(want, " ") {
		t.Fatalf("got files %q, want %q", sortStrings(names), want)
	}
	contains := []struct{ file, want string }{
		{"index.html", "<title>Example project documentation</title>"},
		{"index.html", `<link rel="stylesheet" href="style.css">`},
		{"index.html", `<a href="guide/install.html">Installing</a>`},
		{"index.html", `<a href="guide/install.html#verify">`},
		{"index.html", `<a href="https://git.example.net/project">`},
		{"index.html", `<a href="index.txt">Plain text</a> · <a href="./">Home</a>`},
		{"index.html", "<main>\n<h1>Example project documentation</h1>\n<p>Welcome."},
		{"guide/install.html", `<a href="../">Home</a>`},
		{"guide/install.html", "<title>Installing the example</title>"},
		{"guide/install.html", `<link rel="stylesheet" href="../style.css">`},
		{"guide/install.html", `<h2 id="verify">Verify</h2>`},
		{"guide/install.html", `<th align="left">Step</th>`},
		{"guide/install.html", `<a href="../index.html">index</a>`},
		{"guide/install.html", `<a href="../KEY.asc">key</a>`},
		{"index.txt", "# Example project documentation\n\nWelcome."},
		{"index.txt", "[Installing](guide/install.txt)"},
		{"index.txt", "[Verifying downloads](guide/install.txt#verify)"},
		{"index.txt", "[ref]: guide/install.txt\n"},
		{"guide/install.txt", "Back to the [index](../index.txt)."},
		{"guide/install.txt", "[key](../KEY.asc)"},
	}
	for _, c := range contains {
		t.Run(c.file+" has "+c.want, func(t *testing.T) {
			if !strings.Contains(got[c.file], c.want) {
				t.Errorf("%s: got\n%s\nwant it to contain %q", c.file, got[c.file], c.want)
			}
		})
	}
	for _, bad := range []string{"title:", "---", "layout: default"} {
		if strings.Contains(got["index.txt"], bad) {
			t.Errorf("index.txt still has front matter %q:\n%s", bad, got["index.txt"])
		}
	}
	if strings.Contains(got["guide/install.html"], "style=") {
		t.Errorf("install.html has a style= attribute, which the CSP blocks")
	}
}

func sortStrings(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestBuildDeterministic(t *testing.T) {
	a, b := tree(t, build(t, "testdata/docs")), tree(t, build(t, "testdata/docs"))
	if len(a) != len(b) {
		t.Fatalf("got %d and %d files", len(a), len(b))
	}
	for n, c := range a {
		if b[n] != c {
			t.Errorf("%s differs between two builds", n)
		}
	}
}

func TestBuildLayout(t *testing.T) {
	src := t.TempDir()
	write(t, src, "_layout.html", `<!DOCTYPE html><title>{{.Title}} - Example</title><nav><a href="{{.Root}}index.html">Home</a></nav>{{.Content}}<a href="{{.Text}}">txt</a>`)
	write(t, src, "a/b.md", "# B & C\n\ntext <b>bold</b>")
	write(t, src, "_drafts/x.md", "draft")
	write(t, src, ".git/config", "x")
	got := tree(t, build(t, src))
	want := `<!DOCTYPE html><title>B &amp; C - Example</title><nav><a href="../index.html">Home</a></nav><h1 id="b--c">B &amp; C</h1>
<p>text <b>bold</b></p>
<a href="b.txt">txt</a>`
	if got["a/b.html"] != want {
		t.Errorf("a/b.html: got\n%s\nwant\n%s", got["a/b.html"], want)
	}
	for _, n := range []string{"_layout.html", "_drafts/x.md", "_drafts/x.html", ".git/config"} {
		if _, ok := got[n]; ok {
			t.Errorf("%s was copied; names starting with _ or . must not be", n)
		}
	}
}

func write(t testing.TB, dir, name, content string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestBuildErrors(t *testing.T) {
	outside := t.TempDir()
	write(t, outside, "secret.txt", "secret")
	tests := []struct {
		name  string
		setup func(src string)
		want  string
	}{
		{"symlink out of SRC", func(src string) {
			os.Symlink(filepath.Join(outside, "secret.txt"), filepath.Join(src, "leak.txt"))
		}, "leak.txt: symlink leads out of SRC"},
		{"relative symlink out of SRC", func(src string) {
			os.Symlink("../../../../../../../../"+outside+"/secret.txt", filepath.Join(src, "leak.txt"))
		}, "leak.txt: symlink leads out of SRC"},
		{"symlinked directory", func(src string) {
			os.Mkdir(filepath.Join(src, "real"), 0o755)
			os.Symlink("real", filepath.Join(src, "alias"))
		}, "alias: symlinks to directories are not followed"},
		{"unclosed front matter", func(src string) {
			write(t, src, "doc/p.md", "---\ntitle: x\n\nbody")
		}, "doc/p.md:1: front matter opened with --- is never closed"},
		{"md next to html", func(src string) {
			write(t, src, "p.html", "<p>")
			write(t, src, "p.md", "# p")
		}, "p.html: would be written twice"},
		{"bad layout", func(src string) {
			write(t, src, "_layout.html", "{{.Title")
		}, "_layout.html"},
		{"audit fails", func(src string) {
			write(t, src, "p.md", `<script src="https://cdn.example.net/x.js"></script>`)
		}, "fails its audit with 1 problem"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := t.TempDir()
			write(t, src, "index.md", "# ok")
			tt.setup(src)
			parent := t.TempDir()
			dst := filepath.Join(parent, "site")
			_, err := Build(src, dst, BuildOptions{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got error %v, want one containing %q", err, tt.want)
			}
			if ents, _ := os.ReadDir(parent); len(ents) != 0 {
				t.Errorf("after a failed build, %s holds %v, want nothing", parent, ents)
			}
		})
	}
}

func TestBuildSymlinkInsideSRC(t *testing.T) {
	src := t.TempDir()
	write(t, src, "real.txt", "hello")
	if err := os.Symlink("real.txt", filepath.Join(src, "alias.txt")); err != nil {
		t.Fatal(err)
	}
	if got := tree(t, build(t, src)); got["alias.txt"] != "hello" {
		t.Fatalf("alias.txt: got %q, want the content of real.txt", got["alias.txt"])
	}
}

func TestBuildReplacesOnlyItsOwnSite(t *testing.T) {
	src := t.TempDir()
	write(t, src, "index.md", "# one")
	dst := filepath.Join(t.TempDir(), "site")
	if _, err := Build(src, dst, BuildOptions{}); err != nil {
		t.Fatal(err)
	}
	write(t, src, "index.md", "# two")
	write(t, dst, "stale.txt", "from the old build")
	if _, err := Build(src, dst, BuildOptions{}); err != nil {
		t.Fatalf("rebuilding over its own site: %v", err)
	}
	got := tree(t, dst)
	if !strings.Contains(got["index.html"], "<title>two</title>") || got["stale.txt"] != "" {
		t.Fatalf("after a rebuild got %v, want the new site only", got)
	}
	ents, _ := os.ReadDir(filepath.Dir(dst))
	if len(ents) != 1 {
		t.Errorf("beside DST: got %v, want only DST (no temporary directory left)", ents)
	}

	foreign := t.TempDir()
	write(t, foreign, "precious.txt", "keep me")
	_, err := Build(src, foreign, BuildOptions{})
	if err == nil || !strings.Contains(err.Error(), "was not built by depot") {
		t.Fatalf("building over a foreign directory: got %v, want a refusal", err)
	}
	if b, _ := os.ReadFile(filepath.Join(foreign, "precious.txt")); string(b) != "keep me" {
		t.Fatal("a foreign DST was modified")
	}
	if _, err := Build(src, filepath.Join(src, "out"), BuildOptions{}); err == nil {
		t.Fatal("DST inside SRC: got nil error, want a refusal")
	}
}

func TestBuildDemoTree(t *testing.T) {
	dst := build(t, "../demo/tree")
	b, err := os.ReadFile(filepath.Join(dst, "index.html"))
	if err != nil || !strings.Contains(string(b), "<title>depot demo</title>") {
		t.Fatalf("demo index.html: %v %q", err, b)
	}
}

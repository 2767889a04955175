package demo

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestExtract(t *testing.T) {
	dir := t.TempDir()
	root, err := Extract(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "demo-root"); root != want {
		t.Fatalf("root = %q, want %q", root, want)
	}
	assertSameTree(t, root)

	// A second extraction replaces the first, stray files included, and
	// leaves no temporary directories behind.
	stray := filepath.Join(root, "yum", "stray")
	if err := os.WriteFile(stray, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(root, "index.html")); err != nil {
		t.Fatal(err)
	}
	if root2, err := Extract(dir); err != nil || root2 != root {
		t.Fatalf("second Extract = %q, %v; want %q, nil", root2, err, root)
	}
	assertSameTree(t, root)
	if _, err := os.Stat(stray); !os.IsNotExist(err) {
		t.Errorf("stray file survived re-extraction: stat err = %v", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("%s holds %q, want only demo-root", dir, names)
	}
	if st, err := os.Stat(root); err != nil || st.Mode().Perm() != 0o755 {
		t.Errorf("root mode = %v (%v), want 0755", st.Mode().Perm(), err)
	}
}

// assertSameTree checks that root holds exactly the embedded tree.
func assertSameTree(t *testing.T, root string) {
	t.Helper()
	want := map[string][]byte{}
	err := fs.WalkDir(Tree(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(Tree(), p)
		want[p] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if w, ok := want[filepath.ToSlash(rel)]; !ok {
			t.Errorf("extracted %s is not in the embedded tree", rel)
		} else if !bytes.Equal(b, w) {
			t.Errorf("extracted %s differs from the embedded file", rel)
		}
		got++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got != len(want) {
		t.Errorf("extracted %d files, want %d", got, len(want))
	}
}

func TestConfig(t *testing.T) {
	dataDir := t.TempDir()
	c, err := Config(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if c.LogDir != dataDir || c.DataDir != dataDir {
		t.Errorf("log_dir, data_dir = %q, %q; want both %q", c.LogDir, c.DataDir, dataDir)
	}
	if c.Path != "" {
		t.Errorf("Path = %q, want \"\" for the embedded demo", c.Path)
	}
	if len(c.Listen) != 2 {
		t.Fatalf("got %d listeners, want 2: %+v", len(c.Listen), c.Listen)
	}
	if l := c.Listen[0]; l.Address != "127.0.0.1:8080" || l.Onion || l.TLS() {
		t.Errorf("listen[0] = %+v, want plain logged 127.0.0.1:8080", l)
	}
	if l := c.Listen[1]; l.Address != "127.0.0.1:8081" || !l.Onion || l.TLS() {
		t.Errorf("listen[1] = %+v, want plain onion 127.0.0.1:8081", l)
	}
	if len(c.Site) != 1 {
		t.Fatalf("got %d sites, want 1", len(c.Site))
	}
	s := c.Site[0]
	if len(s.Hosts) != 1 || s.Hosts[0] != "*" || !s.Autoindex {
		t.Errorf("site = %+v, want hosts [*] with autoindex", s)
	}
	if s.Root != filepath.Join(dataDir, "demo-root") {
		t.Errorf("site root = %q, want the extraction under %q", s.Root, dataDir)
	}
	if _, err := os.Stat(filepath.Join(s.Root, "index.html")); err != nil {
		t.Errorf("site root has no index.html: %v", err)
	}
}

func TestConfigRelativeDataDir(t *testing.T) {
	if _, err := Config("depot-data"); err == nil || !strings.Contains(err.Error(), "absolute") {
		t.Fatalf("Config(relative) error = %v, want one saying it must be absolute", err)
	}
}

func TestTreeSmall(t *testing.T) {
	var total int64
	fs.WalkDir(Tree(), ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			info, _ := d.Info()
			total += info.Size()
		}
		return err
	})
	if total > 200<<10 {
		t.Errorf("demo tree is %d bytes, want under 200 KiB", total)
	}
}

// TestWebsiteLocal checks the promise the demo website makes about itself:
// no scripts and no resource from anywhere else.
func TestWebsiteLocal(t *testing.T) {
	attr := regexp.MustCompile(`(?i)\b(src|href|action|srcset)\s*=\s*"([^"]*)"`)
	pages, _ := fs.Glob(Tree(), "*.html")
	if len(pages) < 2 {
		t.Fatalf("found pages %q, want index.html and at least one more", pages)
	}
	for _, p := range append(pages, "style.css") {
		b, _ := fs.ReadFile(Tree(), p)
		if bytes.Contains(bytes.ToLower(b), []byte("<script")) {
			t.Errorf("%s has a <script>", p)
		}
		if bytes.Contains(b, []byte("url(")) || bytes.Contains(b, []byte("@import")) {
			t.Errorf("%s loads a stylesheet resource", p)
		}
		for _, m := range attr.FindAllSubmatch(b, -1) {
			ref := string(m[2])
			if strings.Contains(ref, "//") || strings.Contains(ref, ":") {
				t.Errorf("%s: %s=%q is not a local reference", p, m[1], ref)
				continue
			}
			target := strings.TrimSuffix(strings.TrimPrefix(ref, "/"), "/")
			if target == "" {
				continue
			}
			if _, err := fs.Stat(Tree(), target); err != nil {
				t.Errorf("%s: %s=%q points at nothing in the tree", p, m[1], ref)
			}
		}
	}
}

// TestYumTree checks that repomd.xml describes the metadata files beside
// it, so that the tree was not edited by hand after make-tree.sh.
func TestYumTree(t *testing.T) {
	const repo = "yum/r4.2/current/host/fc37"
	b, err := fs.ReadFile(Tree(), repo+"/repodata/repomd.xml")
	if err != nil {
		t.Fatal(err)
	}
	var md struct {
		Data []struct {
			Type     string `xml:"type,attr"`
			Checksum string `xml:"checksum"`
			Location struct {
				Href string `xml:"href,attr"`
			} `xml:"location"`
			Size int `xml:"size"`
		} `xml:"data"`
	}
	if err := xml.Unmarshal(b, &md); err != nil {
		t.Fatal(err)
	}
	types := map[string]bool{}
	for _, d := range md.Data {
		types[d.Type] = true
		f, err := fs.ReadFile(Tree(), repo+"/"+d.Location.Href)
		if err != nil {
			t.Errorf("%s: %v", d.Type, err)
			continue
		}
		if sum := sha256.Sum256(f); hex.EncodeToString(sum[:]) != d.Checksum || len(f) != d.Size {
			t.Errorf("%s: %s does not match repomd.xml's checksum and size", d.Type, d.Location.Href)
		}
	}
	for _, want := range []string{"primary", "filelists", "other"} {
		if !types[want] {
			t.Errorf("repomd.xml has no %s data", want)
		}
	}
	for _, f := range []string{repo + "/repodata/repomd.xml.asc", repo + "/rpm/depot-demo-hello-1.0-1.noarch.rpm", "KEY.asc"} {
		if _, err := fs.Stat(Tree(), f); err != nil {
			t.Error(err)
		}
	}
}

// TestAptTree checks the SHA256 section of Release against the indexes.
func TestAptTree(t *testing.T) {
	const dist = "deb/r4.2/vm/dists/bookworm"
	b, err := fs.ReadFile(Tree(), dist+"/Release")
	if err != nil {
		t.Fatal(err)
	}
	inSHA256, checked := false, 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, " ") {
			inSHA256 = line == "SHA256:"
			continue
		}
		if !inSHA256 {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 {
			t.Fatalf("bad SHA256 line %q", line)
		}
		data, err := fs.ReadFile(Tree(), dist+"/"+f[2])
		if err != nil {
			t.Error(err)
			continue
		}
		sum := sha256.Sum256(data)
		if size, _ := strconv.Atoi(f[1]); hex.EncodeToString(sum[:]) != f[0] || size != len(data) {
			t.Errorf("%s does not match Release", f[2])
		}
		checked++
	}
	if checked == 0 {
		t.Error("Release lists no SHA256 entries")
	}
	in, err := fs.ReadFile(Tree(), dist+"/InRelease")
	if err != nil || !bytes.Contains(in, b) {
		t.Errorf("InRelease does not hold Release (err %v)", err)
	}
	pkgs, _ := fs.ReadFile(Tree(), dist+"/main/binary-amd64/Packages")
	for _, line := range strings.Split(string(pkgs), "\n") {
		if name, ok := strings.CutPrefix(line, "Filename: "); ok {
			if _, err := fs.Stat(Tree(), "deb/r4.2/vm/"+name); err != nil {
				t.Errorf("Packages names %s: %v", name, err)
			}
			return
		}
	}
	t.Error("Packages has no Filename")
}

// TestExtractIdenticalKept checks that extracting over an identical tree
// leaves the directory in place, so a server reloading the demo never sees
// its root vanish.
func TestExtractIdenticalKept(t *testing.T) {
	dir := t.TempDir()
	root, err := Extract(dir)
	if err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat(root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Extract(dir); err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(root)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Error("re-extracting an identical tree replaced the directory")
	}
}

package site

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	gmhtml "github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/text"

	"depot/internal/atomicfile"
)

// LayoutFile is the optional template in SRC that wraps every page.
const LayoutFile = "_layout.html"

// markerFile is written into every built site. Build replaces an existing
// DST only if it holds this file (or is empty), so that a mistyped DST
// never deletes someone's home directory.
const markerFile = ".depot-site"

// BuildOptions tune Build. The zero value audits the result.
type BuildOptions struct {
	// NoAudit skips the audit of the built site before it is swapped in.
	NoAudit bool
	// Audit is passed to the audit of the built site.
	Audit AuditOptions
}

// Page is what a layout template sees.
type Page struct {
	Title   string        // from front matter title:, else the first # heading, else the file name
	Lang    string        // from front matter lang:, else "en"
	Content template.HTML // the rendered Markdown
	Root    string        // relative path to the site root: "", "../", "../../"
	Text    string        // file name of the plain-text copy, for a relative link: "page.txt"
	Source  string        // the Markdown file, relative to SRC: "doc/page.md"
	// Heading is true if the Markdown has its own "# " heading; the
	// built-in layout otherwise shows the title as one.
	Heading bool
	// Stylesheet is true if SRC has a style.css at its root; the built-in
	// layout then links to it.
	Stylesheet bool
}

// builtinLayout is used when SRC has no _layout.html. It loads nothing but
// the site's own style.css, and runs no script.
const builtinLayout = `<!DOCTYPE html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
{{if .Stylesheet}}<link rel="stylesheet" href="{{.Root}}style.css">
{{end}}</head>
<body>
<main>
{{if not .Heading}}<h1>{{.Title}}</h1>
{{end}}{{.Content}}</main>
<footer><a href="{{.Text}}">Plain text</a> · <a href="{{if .Root}}{{.Root}}{{else}}./{{end}}">Home</a></footer>
</body>
</html>
`

// BuildError is a problem with one input file, found while building.
type BuildError struct {
	File string // relative to SRC, slash-separated
	Line int    // 0 if not about one line
	Err  error
}

func (e *BuildError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

func (e *BuildError) Unwrap() error { return e.Err }

// AuditFailedError is returned by Build when the built site fails its
// audit; DST is left as it was.
type AuditFailedError struct{ Report Report }

func (e *AuditFailedError) Error() string {
	return fmt.Sprintf("the built site fails its audit with %d problem(s); %s was left as it was", len(e.Report.Findings), "the destination")
}

// Build turns the documentation in src into a static site in dst.
//
// Every Markdown file (page.md) becomes page.html, rendered through the
// layout, and page.txt, its Markdown text for terminals, with links to
// other .md files rewritten to .html and .txt respectively. Other files
// are copied unchanged. Names starting with "." or "_" are not copied.
//
// The site is built in a temporary directory beside dst and swapped in
// whole; on any error dst is untouched. The output depends only on the
// input: no timestamps, files in a fixed order. Symlinks are followed only
// when they stay inside src. An existing dst is replaced only if it is
// empty or was built by Build.
func Build(src, dst string, opts BuildOptions) (Report, error) {
	var rep Report
	srcAbs, err := filepath.Abs(src)
	if err != nil {
		return rep, err
	}
	dstAbs, err := filepath.Abs(dst)
	if err != nil {
		return rep, err
	}
	if within(dstAbs, srcAbs) || within(srcAbs, dstAbs) {
		return rep, fmt.Errorf("SRC %s and DST %s overlap; choose a DST outside SRC", src, dst)
	}
	if err := checkReplaceable(dstAbs); err != nil {
		return rep, err
	}
	root, err := os.OpenRoot(srcAbs)
	if err != nil {
		return rep, err
	}
	defer root.Close()

	if err := os.MkdirAll(filepath.Dir(dstAbs), 0o755); err != nil {
		return rep, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dstAbs), "."+filepath.Base(dstAbs)+".build-*")
	if err != nil {
		return rep, err
	}
	defer os.RemoveAll(tmp) // after a swap, tmp holds the old site
	if err := os.Chmod(tmp, 0o755); err != nil {
		return rep, err
	}

	b, err := newBuilder(root, tmp)
	if err != nil {
		return rep, err
	}
	if err := b.run(); err != nil {
		return rep, err
	}
	if err := os.WriteFile(filepath.Join(tmp, markerFile), []byte("built by depot site build; depot replaces this directory whole\n"), 0o644); err != nil {
		return rep, err
	}
	if !opts.NoAudit {
		rep, err = Audit(tmp, opts.Audit)
		rep.Dir = dst
		if err != nil {
			return rep, err
		}
		if !rep.OK() {
			return rep, &AuditFailedError{Report: rep}
		}
	}
	return rep, atomicfile.ReplaceDir(tmp, dstAbs)
}

// within reports whether p is dir or inside it.
func within(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && filepath.IsLocal(rel) || rel == "."
}

// checkReplaceable refuses to replace a dst that Build did not make.
func checkReplaceable(dst string) error {
	fi, err := os.Lstat(dst)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("DST %s exists and is not a directory; remove it or choose another DST", dst)
	}
	ents, err := os.ReadDir(dst)
	if err != nil {
		return err
	}
	if len(ents) == 0 {
		return nil
	}
	if _, err := os.Stat(filepath.Join(dst, markerFile)); err != nil {
		return fmt.Errorf("DST %s is not empty and was not built by depot (no %s); depot replaces DST whole, so empty it or choose another DST", dst, markerFile)
	}
	return nil
}

type builder struct {
	root       *os.Root
	out        string
	layout     *template.Template
	md         goldmark.Markdown
	stylesheet bool
}

func newBuilder(root *os.Root, out string) (*builder, error) {
	b := &builder{root: root, out: out}
	lb, err := fs.ReadFile(root.FS(), LayoutFile)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		b.layout = template.Must(template.New("builtin").Parse(builtinLayout))
	case err != nil:
		return nil, &BuildError{File: LayoutFile, Err: err}
	default:
		t, err := template.New(LayoutFile).Option("missingkey=error").Parse(string(lb))
		if err != nil {
			return nil, fmt.Errorf("%w; fix the template (it sees .Title, .Content, .Root, .Text, .Lang, .Source)", err)
		}
		b.layout = t
	}
	if fi, err := root.Stat("style.css"); err == nil && fi.Mode().IsRegular() {
		b.stylesheet = true
	}
	b.md = goldmark.New(
		goldmark.WithExtensions(
			extension.Strikethrough, extension.Linkify, extension.TaskList,
			// The CSP forbids style=, so table alignment uses align=.
			extension.NewTable(extension.WithTableCellAlignMethod(extension.TableCellAlignAttribute)),
		),
		goldmark.WithParserOptions(parser.WithAutoHeadingID()),
		// Raw HTML in Markdown is kept; the audit of the built site
		// rejects anything in it that loads from elsewhere or runs.
		goldmark.WithRendererOptions(gmhtml.WithUnsafe()),
	)
	return b, nil
}

func (b *builder) run() error {
	fsys := b.root.FS()
	// fs.WalkDir visits names in lexical order, which keeps output
	// deterministic.
	return fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return &BuildError{File: name, Err: err}
		}
		if name == "." {
			return nil
		}
		base := path.Base(name)
		if strings.HasPrefix(base, ".") || strings.HasPrefix(base, "_") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		out := filepath.Join(b.out, filepath.FromSlash(name))
		if d.Type()&fs.ModeSymlink != 0 {
			// os.Root follows a symlink only if it stays inside SRC.
			fi, err := b.root.Stat(name)
			if err != nil {
				return &BuildError{File: name, Err: fmt.Errorf("symlink leads out of SRC or nowhere (%v); replace it with a copy of the file", err)}
			}
			if !fi.Mode().IsRegular() {
				return &BuildError{File: name, Err: errors.New("symlinks to directories are not followed; replace it with the directory itself")}
			}
		} else if d.IsDir() {
			return os.Mkdir(out, 0o755)
		} else if !d.Type().IsRegular() {
			return &BuildError{File: name, Err: errors.New("not a regular file; remove it from SRC")}
		}
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return &BuildError{File: name, Err: err}
		}
		if strings.EqualFold(path.Ext(name), ".md") {
			return b.page(name, data)
		}
		if err := b.claim(name); err != nil {
			return err
		}
		return os.WriteFile(out, data, 0o644)
	})
}

// claim refuses to write an output file twice (page.md next to page.html).
func (b *builder) claim(name string) error {
	if _, err := os.Lstat(filepath.Join(b.out, filepath.FromSlash(name))); err == nil {
		return &BuildError{File: name, Err: errors.New("would be written twice: a Markdown file next to it has the same name; rename one of them")}
	}
	return nil
}

// page renders one Markdown file into .html and .txt.
func (b *builder) page(name string, data []byte) error {
	fm, body, err := frontMatter(data)
	if err != nil {
		var be *BuildError
		if errors.As(err, &be) {
			be.File = name
		}
		return err
	}
	stem := strings.TrimSuffix(name, path.Ext(name))
	htmlName, txtName := stem+".html", stem+".txt"
	for _, n := range []string{htmlName, txtName} {
		if err := b.claim(n); err != nil {
			return err
		}
	}

	doc := b.md.Parser().Parse(text.NewReader(body))
	var mdLinks []string
	firstH1 := ""
	ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.Heading:
			if n.Level == 1 && firstH1 == "" {
				firstH1 = plainText(n, body)
			}
		case *ast.Link:
			if d, ok := rewriteMD(string(n.Destination), ".html"); ok {
				mdLinks = append(mdLinks, string(n.Destination))
				n.Destination = []byte(d)
			}
		}
		return ast.WalkContinue, nil
	})
	var content bytes.Buffer
	if err := b.md.Renderer().Render(&content, body, doc); err != nil {
		return &BuildError{File: name, Err: err}
	}
	p := Page{
		Title:      fm["title"],
		Lang:       fm["lang"],
		Content:    template.HTML(content.String()),
		Root:       strings.Repeat("../", strings.Count(name, "/")),
		Text:       path.Base(txtName),
		Source:     name,
		Stylesheet: b.stylesheet,
		Heading:    firstH1 != "",
	}
	if p.Title == "" {
		p.Title = firstH1
	}
	if p.Title == "" {
		p.Title = path.Base(stem)
	}
	if p.Lang == "" {
		p.Lang = "en"
	}
	var page bytes.Buffer
	if err := b.layout.Execute(&page, p); err != nil {
		return &BuildError{File: LayoutFile, Err: fmt.Errorf("rendering %s: %w", name, err)}
	}
	if err := os.WriteFile(filepath.Join(b.out, filepath.FromSlash(htmlName)), page.Bytes(), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(b.out, filepath.FromSlash(txtName)), plainCopy(body, fm["title"], firstH1, mdLinks), 0o644)
}

// plainCopy is the Markdown for terminals: the body without front matter,
// under a "# title" heading if the title came from front matter, with
// links to .md files pointing at their .txt copies.
func plainCopy(body []byte, fmTitle, firstH1 string, mdLinks []string) []byte {
	s := string(body)
	for _, l := range mdLinks {
		d, _ := rewriteMD(l, ".txt")
		s = strings.ReplaceAll(s, "]("+l, "]("+d)
		s = strings.ReplaceAll(s, "]: "+l, "]: "+d)
		s = strings.ReplaceAll(s, "](<"+l+">", "](<"+d+">")
	}
	if fmTitle != "" && firstH1 == "" {
		s = "# " + fmTitle + "\n\n" + strings.TrimLeft(s, "\n")
	}
	if !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	return []byte(s)
}

// rewriteMD turns a relative link to a .md file into one to ext, keeping
// its query and fragment. It reports false for absolute URLs and links to
// anything else.
func rewriteMD(dest, ext string) (string, bool) {
	if dest == "" || strings.HasPrefix(dest, "/") && strings.HasPrefix(dest, "//") || strings.Contains(dest, "://") || strings.HasPrefix(dest, "#") {
		return "", false
	}
	if i := strings.IndexByte(dest, ':'); i >= 0 && !strings.ContainsAny(dest[:i], "/?#") {
		return "", false // mailto:, other schemes
	}
	p, rest := dest, ""
	if i := strings.IndexAny(dest, "?#"); i >= 0 {
		p, rest = dest[:i], dest[i:]
	}
	if !strings.EqualFold(path.Ext(p), ".md") {
		return "", false
	}
	return strings.TrimSuffix(p, path.Ext(p)) + ext + rest, true
}

// plainText returns the text of an inline container such as a heading.
func plainText(n ast.Node, src []byte) string {
	var sb strings.Builder
	ast.Walk(n, func(c ast.Node, entering bool) (ast.WalkStatus, error) {
		if entering {
			switch t := c.(type) {
			case *ast.Text:
				sb.Write(t.Segment.Value(src))
				if t.SoftLineBreak() {
					sb.WriteByte(' ')
				}
			case *ast.String:
				sb.Write(t.Value)
			}
		}
		return ast.WalkContinue, nil
	})
	return strings.TrimSpace(sb.String())
}

// frontMatter splits a Jekyll-style "---" block off the start of data and
// reads its "key: value" lines. Other YAML is ignored.
func frontMatter(data []byte) (map[string]string, []byte, error) {
	fm := map[string]string{}
	s := string(data)
	s = strings.TrimPrefix(s, "\ufeff")
	if !strings.HasPrefix(s, "---\n") && !strings.HasPrefix(s, "---\r\n") {
		return fm, []byte(s), nil
	}
	lines := strings.SplitAfter(s, "\n")
	for i := 1; i < len(lines); i++ {
		l := strings.TrimRight(lines[i], "\r\n")
		if l == "---" || l == "..." {
			return fm, []byte(strings.Join(lines[i+1:], "")), nil
		}
		k, v, ok := strings.Cut(l, ":")
		if !ok || strings.HasPrefix(l, " ") || strings.HasPrefix(l, "#") || strings.HasPrefix(l, "-") {
			continue
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"' || v[0] == '\'' && v[len(v)-1] == '\'') {
			v = v[1 : len(v)-1]
		}
		fm[strings.TrimSpace(k)] = v
	}
	return nil, nil, &BuildError{Line: 1, Err: errors.New("front matter opened with --- is never closed; add a --- line after it")}
}

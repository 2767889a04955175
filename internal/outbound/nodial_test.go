package outbound

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// forbidden are the package-level names that open a connection, resolve a
// name or pick a proxy without this package: any reference to them outside
// it is refused.
var forbidden = map[string][]string{
	"net": {"Dial", "DialTimeout", "DialTCP", "DialUDP", "DialIP", "DialUnix", "Dialer",
		"DefaultResolver", "LookupAddr", "LookupCNAME", "LookupHost", "LookupIP", "LookupMX",
		"LookupNS", "LookupPort", "LookupSRV", "LookupTXT"},
	"net/http":               {"Get", "Head", "Post", "PostForm", "DefaultClient", "DefaultTransport", "ProxyFromEnvironment", "ProxyURL"},
	"crypto/tls":             {"Dial", "DialWithDialer", "Dialer"},
	"golang.org/x/net/proxy": {"*"}, // FromEnvironment, SOCKS5, Direct...: the whole package is ours
	"golang.org/x/net/http2": {"Transport"},
	"net/smtp":               {"Dial", "SendMail"},
	"net/rpc":                {"Dial", "DialHTTP", "DialHTTPPath"},
	"net/rpc/jsonrpc":        {"Dial"},
	"log/syslog":             {"Dial"},
	"syscall":                {"Connect"},
	"golang.org/x/sys/unix":  {"Connect"},
	"golang.org/x/net/icmp":  {"ListenPacket"},
	"golang.org/x/net/ipv4":  {"NewRawConn"},
	"golang.org/x/net/ipv6":  {"NewPacketConn"},
}

// constructed are types whose values dial with defaults of their own
// (http.Transport dials with a net.Dialer, a net.Resolver may be given a
// Dial function): building one outside this package is refused, naming
// the type (in a signature or a type assertion) is not.
var constructed = map[string][]string{
	"net/http": {"Transport"},
	"net":      {"Resolver"},
}

// finding is one refused use, "file:line: what".
type finding string

// checkFile returns the refused uses in one parsed file.
func checkFile(fset *token.FileSet, f *ast.File) []finding {
	names := map[string]string{} // local name → import path
	var out []finding
	report := func(n ast.Node, format string, args ...any) {
		out = append(out, finding(fmt.Sprintf("%s: %s", fset.Position(n.Pos()), fmt.Sprintf(format, args...))))
	}
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		name := path.Base(p)
		if imp.Name != nil {
			name = imp.Name.Name
		}
		if name == "." {
			if _, ok := forbidden[p]; ok {
				report(imp, "dot import of %s hides what is dialled", p)
			}
			continue
		}
		names[name] = p
	}
	// ref returns the import path and name of pkg.Name, if e is one.
	ref := func(e ast.Expr) (string, string, bool) {
		sel, ok := e.(*ast.SelectorExpr)
		if !ok {
			return "", "", false
		}
		id, ok := sel.X.(*ast.Ident)
		if !ok || id.Obj != nil { // a local variable, not a package
			return "", "", false
		}
		p, ok := names[id.Name]
		return p, sel.Sel.Name, ok
	}
	is := func(e ast.Expr, pkg, name string) bool {
		p, n, ok := ref(e)
		return ok && p == pkg && n == name
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			if p, name, ok := ref(n); ok {
				if list := forbidden[p]; slices.Contains(list, name) || slices.Contains(list, "*") {
					report(n, "%s.%s", p, name)
				}
			}
		case *ast.CompositeLit:
			for pkg, types := range constructed {
				for _, t := range types {
					if is(n.Type, pkg, t) {
						report(n, "builds a %s.%s", pkg, t)
					}
				}
			}
			if is(n.Type, "net/http", "Client") && !hasKey(n, "Transport") {
				report(n, "an http.Client without Transport uses http.DefaultTransport")
			}
		case *ast.CallExpr:
			if id, ok := n.Fun.(*ast.Ident); ok && id.Name == "new" && id.Obj == nil && len(n.Args) == 1 {
				for pkg, types := range constructed {
					for _, t := range types {
						if is(n.Args[0], pkg, t) {
							report(n, "builds a %s.%s", pkg, t)
						}
					}
				}
				if is(n.Args[0], "net/http", "Client") {
					report(n, "new(http.Client) uses http.DefaultTransport")
				}
			}
		case *ast.AssignStmt:
			// A transport from NewTransport may get a DialContext of the
			// caller's (which can only dial through this package, since
			// everything else is refused), but never a proxy, nor a nil
			// dialer, which means net/http's own.
			for i, lhs := range n.Lhs {
				sel, ok := lhs.(*ast.SelectorExpr)
				if !ok || i >= len(n.Rhs) {
					continue
				}
				id, isIdent := n.Rhs[i].(*ast.Ident)
				isNil := isIdent && id.Name == "nil"
				switch sel.Sel.Name {
				case "Proxy", "OnProxyConnectResponse", "GetProxyConnectHeader":
					if !isNil {
						report(n, "sets a proxy (%s)", sel.Sel.Name)
					}
				case "DialContext", "Dial", "DialTLS", "DialTLSContext":
					if isNil {
						report(n, "sets %s to nil, which dials with net/http's own dialer", sel.Sel.Name)
					}
				}
			}
		case *ast.ValueSpec:
			if len(n.Values) == 0 && n.Type != nil {
				for pkg, types := range constructed {
					for _, t := range types {
						if is(n.Type, pkg, t) {
							report(n, "declares a usable %s.%s", pkg, t)
						}
					}
				}
				if is(n.Type, "net/http", "Client") {
					report(n, "a zero http.Client uses http.DefaultTransport")
				}
			}
		}
		return true
	})
	return out
}

func hasKey(lit *ast.CompositeLit, key string) bool {
	for _, e := range lit.Elts {
		if kv, ok := e.(*ast.KeyValueExpr); ok {
			if id, ok := kv.Key.(*ast.Ident); ok && id.Name == key {
				return true
			}
		}
	}
	return false
}

func TestCheckFileRefuses(t *testing.T) {
	tests := []struct {
		name, src string
		want      int // findings
	}{
		{"net.Dial", `import "net"; func f() { net.Dial("tcp", "a:1") }`, 1},
		{"net.DialTimeout", `import "net"; func f() { net.DialTimeout("tcp", "a:1", 0) }`, 1},
		{"net.Dialer literal", `import "net"; func f() { d := &net.Dialer{}; d.Dial("tcp", "a:1") }`, 1},
		{"net.Dialer var", `import "net"; func f() { var d net.Dialer; d.Dial("tcp", "a:1") }`, 1},
		{"renamed import", `import n "net"; func f() { n.Dial("tcp", "a:1") }`, 1},
		{"lookup", `import "net"; func f() { net.LookupHost("example.org") }`, 1},
		{"default resolver", `import "net"; func f() { net.DefaultResolver.LookupHost(nil, "x") }`, 1},
		{"resolver literal", `import "net"; var r = &net.Resolver{PreferGo: true}`, 1},
		{"http.Get", `import "net/http"; func f() { http.Get("http://x/") }`, 1},
		{"http.Head", `import "net/http"; func f() { http.Head("http://x/") }`, 1},
		{"http.Post", `import "net/http"; func f() { http.Post("http://x/", "", nil) }`, 1},
		{"http.DefaultClient", `import "net/http"; func f() { http.DefaultClient.Do(nil) }`, 1},
		{"http.DefaultTransport", `import "net/http"; var t = http.DefaultTransport`, 1},
		{"proxy from environment", `import "net/http"; var t = &http.Transport{Proxy: http.ProxyFromEnvironment}`, 2},
		{"transport literal", `import "net/http"; var t = &http.Transport{}`, 1},
		{"new transport", `import "net/http"; var t = new(http.Transport)`, 1},
		{"client without transport", `import "net/http"; var c = &http.Client{Timeout: 1}`, 1},
		{"zero client", `import "net/http"; func f() { var c http.Client; c.Get("x") }`, 1},
		{"tls.Dial", `import "crypto/tls"; func f() { tls.Dial("tcp", "a:1", nil) }`, 1},
		{"tls.Dialer", `import "crypto/tls"; var d tls.Dialer`, 1},
		{"x/net/proxy", `import "golang.org/x/net/proxy"; var d = proxy.FromEnvironment()`, 1},
		{"x/net/proxy SOCKS5", `import xproxy "golang.org/x/net/proxy"; func f() { xproxy.SOCKS5("tcp", "a:1", nil, xproxy.Direct) }`, 2},
		{"raw connect", `import "syscall"; func f() { syscall.Connect(0, nil) }`, 1},
		{"dot import", `import . "net"; func f() { Dial("tcp", "a:1") }`, 1},
		{"proxy set later", `func f(tr *T) { tr.Proxy = env }`, 1},
		{"dialer unset", `func f(tr *T) { tr.DialContext = nil }`, 1},
		{"own dial function", `func f(tr *T) { tr.DialContext = s.dial; tr.Proxy = nil }`, 0},
		// Allowed: naming a type, listening, a client over a given transport.
		{"client with transport", `import "net/http"; var c = &http.Client{Transport: t}`, 0},
		{"transport type", `import "net/http"; func f(c *http.Client) { c.Transport.(*http.Transport).CloseIdleConnections() }`, 0},
		{"resolver type", `import "net"; type O struct{ R *net.Resolver }`, 0},
		{"listen", `import "net"; func f() { net.Listen("tcp", ":0") }`, 0},
		{"shadowed name", `import "net/http"; func f(http struct{ Get func() }) { http.Get() }`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, "x.go", "package x; "+tt.src, 0)
			if err != nil {
				t.Fatal(err)
			}
			if got := checkFile(fset, f); len(got) != tt.want {
				t.Errorf("got %d findings %q, want %d", len(got), got, tt.want)
			}
		})
	}
}

// TestNoDialOutsideOutbound reads every non-test Go file of the module and
// fails on any connection, lookup or proxy choice made without this
// package. Test fakes (packages named *test, such as mirrorstest) may
// dial, and are checked to be imported by tests only.
func TestNoDialOutsideOutbound(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found at %s: %v", root, err)
	}
	self, _ := filepath.Abs(".")
	fset := token.NewFileSet()
	var files []string
	var findings []finding
	fakes := map[string]bool{} // import paths of test fakes
	type use struct{ file, path string }
	var imports []use
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, 0)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		files = append(files, filepath.ToSlash(rel))
		for _, imp := range f.Imports {
			ip, _ := strconv.Unquote(imp.Path.Value)
			imports = append(imports, use{filepath.ToSlash(rel), ip})
		}
		if strings.HasSuffix(f.Name.Name, "test") {
			fakes["depot/"+filepath.ToSlash(filepath.Dir(rel))] = true
			return nil
		}
		if filepath.Dir(p) == self {
			return nil
		}
		findings = append(findings, checkFile(fset, f)...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, must := range []string{"internal/proxy/server.go", "internal/mirrors/check.go", "internal/torexit/fetch.go", "cmd/depot/serve.go"} {
		if !slices.Contains(files, must) {
			t.Fatalf("the walk did not read %s (read %d files): the test proves nothing", must, len(files))
		}
	}
	for _, u := range imports {
		if fakes[u.path] && !fakes["depot/"+path.Dir(u.file)] {
			findings = append(findings, finding(u.file+": imports the test fake "+u.path+", which may dial freely"))
		}
	}
	for _, f := range findings {
		t.Errorf("%s: dial through internal/outbound (a Dialer, NewClient, SOCKS5, or DialSelf for depot's own listeners)", f)
	}
}

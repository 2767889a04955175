package audit

import (
	"context"
	"fmt"
	"html"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"depot/internal/config"
)

// onionName is the onion host name of site s: its onion_location's, or a
// .onion name among its hosts, or "".
func onionName(s config.Site) string {
	if u, err := url.Parse(s.OnionLocation); err == nil && u.Hostname() != "" {
		return strings.ToLower(u.Hostname())
	}
	for _, h := range s.Hosts {
		if strings.HasSuffix(strings.ToLower(h), ".onion") {
			return strings.ToLower(h)
		}
	}
	return ""
}

// probe is a request that tells one site's answer apart: a path and what
// its answer must be.
type probe struct {
	path string
	size int64 // the file's size, or -1 for a listing
}

// probeFor picks what to ask site s for: its index.html, else (with
// autoindex) its listing, else its first file in walk order.
func probeFor(s config.Site) (probe, bool) {
	if st, err := os.Stat(filepath.Join(s.Root, "index.html")); err == nil && st.Mode().IsRegular() {
		return probe{path: "/", size: st.Size()}, true
	}
	if s.Autoindex {
		return probe{path: "/", size: -1}, true
	}
	var pr probe
	found := false
	filepath.WalkDir(s.Root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") && p != s.Root {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if info, err := d.Info(); err == nil && info.Mode().IsRegular() {
			rel, _ := filepath.Rel(s.Root, p)
			pr, found = probe{path: (&url.URL{Path: "/" + filepath.ToSlash(rel)}).EscapedPath(), size: info.Size()}, true
			return filepath.SkipAll
		}
		return nil
	})
	return pr, found
}

// checkOnionReachable asks each onion listener for each site with an
// onion name, with that name as Host as Tor Browser sends it, and expects
// the site's own answer with 200.
func checkOnionReachable(ctx context.Context, cfg *config.Config) Result {
	r := Result{ID: "onion-reachable", Policy: policyOnion}
	var bad, good, none []string
	for i, s := range cfg.Site {
		name := onionName(s)
		if name == "" {
			none = append(none, fmt.Sprintf("site[%d]", i))
			continue
		}
		pr, ok := probeFor(s)
		if !ok {
			bad = append(bad, fmt.Sprintf("site[%d]: nothing to request in %s", i, s.Root))
			continue
		}
		for j, l := range cfg.Listen {
			if !l.Onion {
				continue
			}
			a, err := fetch(ctx, l, http.MethodHead, name, pr.path)
			switch {
			case err != nil:
				bad = append(bad, fmt.Sprintf("listen[%d] %v", j, err))
			case a.status != http.StatusOK:
				bad = append(bad, fmt.Sprintf("site[%d]: %s%s on listen[%d] %s answers %d, want 200; add %q to site[%d].hosts", i, name, pr.path, j, l.Address, a.status, name, i))
			case pr.size >= 0 && a.header.Get("Content-Length") != strconv.FormatInt(pr.size, 10):
				bad = append(bad, fmt.Sprintf("site[%d]: %s%s on listen[%d] %s answers another site's file (%s bytes, want %d); add %q to site[%d].hosts", i, name, pr.path, j, l.Address, a.header.Get("Content-Length"), pr.size, name, i))
			default:
				good = append(good, fmt.Sprintf("http://%s%s on listen[%d]", name, pr.path, j))
			}
		}
	}
	switch {
	case len(bad) > 0:
		r.Status, r.Detail = Fail, strings.Join(bad, "; ")
	case len(good) == 0:
		r.Status, r.Detail = Warn, "no site has an onion name (onion_location or a .onion host): "+strings.Join(none, ", ")
	default:
		r.Status, r.Detail = Pass, "200 for "+strings.Join(good, ", ")
	}
	return r
}

// urlElem finds the URLs of a Metalink 3 or 4 document.
var urlElem = regexp.MustCompile(`<url\b[^>]*>([^<]*)</url>`)

// findRepomd returns the tree path of the first repodata/repomd.xml under
// root, in walk order, or "".
func findRepomd(root string) string {
	found := ""
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || found != "" {
			return filepath.SkipDir
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") && p != root {
			return filepath.SkipDir
		}
		if d.Name() == "repomd.xml" && filepath.Base(filepath.Dir(p)) == "repodata" {
			rel, _ := filepath.Rel(root, p)
			found = filepath.ToSlash(rel)
			return filepath.SkipAll
		}
		return nil
	})
	return found
}

// checkOnionOnly asks each onion listener for the metalinks of each site
// that serves them, with the site's clearnet name as Host (what a client
// behind a misconfigured proxy would send), and fails on any URL that is
// not an onion address: whether a request is onion is the listener's to
// say, not the Host's.
func checkOnionOnly(ctx context.Context, cfg *config.Config) Result {
	r := Result{ID: "onion-answers-onion-only", Policy: policyOnion}
	var bad, good []string
	for i, s := range cfg.Site {
		if !s.Metalinks && !s.Redirect {
			continue
		}
		name := findRepomd(s.Root)
		if name == "" {
			continue
		}
		var paths []string
		if s.Metalinks {
			paths = append(paths, "/"+name+".metalink")
		}
		paths = append(paths, "/"+name+".meta4")
		for j, l := range cfg.Listen {
			if !l.Onion {
				continue
			}
			for _, p := range paths {
				a, err := fetch(ctx, l, http.MethodGet, siteHost(cfg, i), p)
				if err != nil {
					bad = append(bad, fmt.Sprintf("listen[%d] %v", j, err))
					continue
				}
				if a.status != http.StatusOK {
					bad = append(bad, fmt.Sprintf("site[%d]: %s on listen[%d] answers %d, want 200", i, p, j, a.status))
					continue
				}
				var clear []string
				n := 0
				for _, m := range urlElem.FindAllSubmatch(a.body, -1) {
					n++
					u, err := url.Parse(strings.TrimSpace(html.UnescapeString(string(m[1]))))
					if err != nil || !strings.HasSuffix(strings.ToLower(u.Hostname()), ".onion") {
						clear = append(clear, string(m[1]))
					}
				}
				if len(clear) > 0 {
					bad = append(bad, fmt.Sprintf("site[%d]: %s on listen[%d] (Host %s) names clearnet URLs to an onion client: %s", i, p, j, siteHost(cfg, i), strings.Join(first(clear, 3), ", ")))
				} else {
					good = append(good, fmt.Sprintf("%s on listen[%d]: %d onion URLs", p, j, n))
				}
			}
		}
	}
	switch {
	case len(bad) > 0:
		r.Status, r.Detail = Fail, strings.Join(bad, "; ")
	case len(good) == 0:
		r.Status, r.Detail = Skip, "no site serves metalinks or redirects from a repodata/repomd.xml"
	default:
		r.Status, r.Detail = Pass, strings.Join(good, "; ")
	}
	return r
}

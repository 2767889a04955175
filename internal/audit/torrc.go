package audit

import (
	"bufio"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"depot/internal/config"
)

// hsPort is one HiddenServicePort line of a torrc.
type hsPort struct {
	Dir    string // the HiddenServiceDir it belongs to
	Virt   int    // the onion service's port
	Target string // "unix:/path" or "host:port"
	Where  string // file:line
}

// maxIncludeDepth bounds %include recursion, as tor does.
const maxIncludeDepth = 8

// parseTorrc reads the onion services of a torrc, following %include of
// files and directories. It reads only.
func parseTorrc(path string) ([]hsPort, error) {
	var out []hsPort
	dir := ""
	err := parseTorrcFile(path, 0, &dir, &out)
	return out, err
}

func parseTorrcFile(path string, depth int, dir *string, out *[]hsPort) error {
	if depth > maxIncludeDepth {
		return fmt.Errorf("%s: %%include nested more than %d deep", path, maxIncludeDepth)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	lines := torrcLines(string(b))
	for _, l := range lines {
		key, val, _ := strings.Cut(l.text, " ")
		val = strings.TrimSpace(val)
		where := fmt.Sprintf("%s:%d", path, l.n)
		switch strings.ToLower(key) {
		case "%include":
			files, err := includeFiles(unquoteTor(val), filepath.Dir(path))
			if err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
			for _, f := range files {
				if err := parseTorrcFile(f, depth+1, dir, out); err != nil {
					return fmt.Errorf("%s: %w", where, err)
				}
			}
		case "hiddenservicedir":
			*dir = unquoteTor(val)
		case "hiddenserviceport":
			p, err := parseHSPort(val)
			if err != nil {
				return fmt.Errorf("%s: HiddenServicePort %s: %w", where, val, err)
			}
			p.Dir, p.Where = *dir, where
			*out = append(*out, p)
		}
	}
	return nil
}

type torrcLine struct {
	n    int
	text string
}

// torrcLines splits a torrc into logical lines: comments dropped, a
// backslash at the end of a line continues it, keys and values separated
// by one space.
func torrcLines(s string) []torrcLine {
	var out []torrcLine
	sc := bufio.NewScanner(strings.NewReader(s))
	n, start := 0, 0
	var cur strings.Builder
	for sc.Scan() {
		n++
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 && !strings.Contains(line[:i], "\"") {
			line = line[:i]
		}
		if cur.Len() == 0 {
			start = n
		}
		if strings.HasSuffix(line, "\\") {
			cur.WriteString(strings.TrimSuffix(line, "\\"))
			continue
		}
		cur.WriteString(line)
		if f := strings.Fields(cur.String()); len(f) > 0 {
			out = append(out, torrcLine{n: start, text: strings.Join(f, " ")})
		}
		cur.Reset()
	}
	return out
}

// unquoteTor removes tor's C-style quotes from a value, if it has them.
func unquoteTor(s string) string {
	if len(s) >= 2 && s[0] == '"' {
		if u, err := strconv.Unquote(s); err == nil {
			return u
		}
	}
	return s
}

// includeFiles are the files an %include names: the file, or a
// directory's files (not dot-files), sorted, as tor reads them.
func includeFiles(p, base string) ([]string, error) {
	if !filepath.IsAbs(p) {
		p = filepath.Join(base, p)
	}
	st, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{p}, nil
	}
	ents, err := os.ReadDir(p)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		f := filepath.Join(p, e.Name())
		if st, err := os.Stat(f); err == nil && st.Mode().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, f)
		}
	}
	slices.Sort(out)
	return out, nil
}

// parseHSPort parses "VIRTPORT [TARGET]" as tor does: TARGET is a port,
// addr:port or unix:path; without it, 127.0.0.1:VIRTPORT.
func parseHSPort(val string) (hsPort, error) {
	virtS, target, _ := strings.Cut(val, " ")
	virt, err := strconv.Atoi(virtS)
	if err != nil || virt < 1 || virt > 65535 {
		return hsPort{}, fmt.Errorf("%q is not a port", virtS)
	}
	target = strings.TrimSpace(target)
	switch {
	case target == "":
		target = net.JoinHostPort("127.0.0.1", virtS)
	case strings.HasPrefix(target, "unix:"):
		target = "unix:" + unquoteTor(strings.TrimPrefix(target, "unix:"))
	default:
		if n, err := strconv.Atoi(target); err == nil {
			if n < 1 || n > 65535 {
				return hsPort{}, fmt.Errorf("%q is not a port", target)
			}
			target = net.JoinHostPort("127.0.0.1", target)
		} else if _, _, err := net.SplitHostPort(target); err != nil {
			return hsPort{}, err
		}
	}
	return hsPort{Virt: virt, Target: target}, nil
}

// listenerFor returns the index of the listener that a torrc target
// reaches, or -1.
func listenerFor(cfg *config.Config, target string) int {
	for i, l := range cfg.Listen {
		if reaches(target, l) {
			return i
		}
	}
	return -1
}

func reaches(target string, l config.Listen) bool {
	if path, ok := strings.CutPrefix(target, "unix:"); ok {
		return l.IsUnix() && config.Resolve(path) == config.Resolve(l.SocketPath())
	}
	if l.IsUnix() {
		return false
	}
	th, tp, err1 := net.SplitHostPort(target)
	lh, lp, err2 := net.SplitHostPort(l.Address)
	if err1 != nil || err2 != nil || tp != lp {
		return false
	}
	ta, lt := hostAddr(th), hostAddr(lh)
	switch {
	case lh == "" || lt.IsValid() && lt.IsUnspecified():
		return true // a wildcard listener takes every local address
	case ta.IsValid() && lt.IsValid():
		return ta.Unmap() == lt.Unmap()
	}
	return strings.EqualFold(th, lh)
}

func hostAddr(h string) netip.Addr {
	if h == "localhost" {
		return netip.MustParseAddr("127.0.0.1")
	}
	a, _ := netip.ParseAddr(h)
	return a
}

// checkTorrc reads tor's configuration and fails when an onion service
// forwards to a clearnet (logged) listener, or when no onion listener has
// an onion service.
func checkTorrc(cfg *config.Config, path string) Result {
	r := Result{ID: "torrc", Policy: policyOnion}
	if path == "" {
		path = cfg.Torrc
	}
	if path == "" {
		r.Status, r.Detail = Skip, "no torrc to read: pass --torrc /etc/tor/torrc or set torrc in the configuration"
		return r
	}
	ports, err := parseTorrc(path)
	if err != nil {
		r.Status, r.Detail = Fail, fmt.Sprintf("cannot read tor's configuration: %v", err)
		return r
	}
	served := map[int]bool{}
	var bad, good []string
	for _, p := range ports {
		i := listenerFor(cfg, p.Target)
		switch {
		case i < 0:
			continue // another service of this machine
		case !cfg.Listen[i].Onion:
			bad = append(bad, fmt.Sprintf("%s: HiddenServicePort %d %s (HiddenServiceDir %s) forwards onion visitors to listen[%d] %s, a clearnet listener that logs them; point it at an onion listener ('depot onion torrc' prints the lines)",
				p.Where, p.Virt, p.Target, p.Dir, i, cfg.Listen[i].Address))
		default:
			served[i] = true
			good = append(good, fmt.Sprintf("%s → listen[%d]", p.Dir, i))
		}
	}
	var onions, unserved []string
	for i, l := range cfg.Listen {
		if l.Onion {
			onions = append(onions, l.Address)
			if !served[i] {
				unserved = append(unserved, fmt.Sprintf("listen[%d] %s", i, l.Address))
			}
		}
	}
	switch {
	case len(bad) > 0:
		r.Status, r.Detail = Fail, strings.Join(bad, "; ")
	case len(onions) > 0 && len(served) == 0:
		r.Status, r.Detail = Fail, fmt.Sprintf("%s has no HiddenServicePort that reaches an onion listener (%s): no onion service serves depot; add the lines 'depot onion torrc' prints", path, strings.Join(onions, ", "))
	case len(onions) == 0:
		r.Status, r.Detail = Fail, "no onion listener for tor to forward to"
	case len(unserved) > 0:
		r.Status, r.Detail = Warn, fmt.Sprintf("%s: %s; no onion service reaches %s", path, strings.Join(good, ", "), strings.Join(unserved, ", "))
	default:
		r.Status, r.Detail = Pass, fmt.Sprintf("%s: %s; no onion service reaches a clearnet listener", path, strings.Join(good, ", "))
	}
	return r
}

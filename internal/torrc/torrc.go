// Package torrc writes and reads the lines of tor's configuration that
// concern depot: the onion services (HiddenServiceDir, HiddenServicePort)
// that forward to depot's onion listeners, in one syntax for
// `depot onion torrc`, which writes them, and `depot audit`, which reads
// them back.
//
// It never runs or signals tor and never writes a file: Write writes to
// the writer it is given, and Read only reads the torrc it is given and
// the files that torrc includes.
package torrc

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"depot/internal/config"
)

// Write writes the lines that make tor forward port 80 of an onion service
// to each onion listener of listen: the first service's keys in hsDir, the
// next ones' in the same name with -2, -3... source names where listen
// came from, in a comment. It fails when no listener is an onion one.
func Write(w io.Writer, source, hsDir string, listen []config.Listen) error {
	n := 0
	for _, l := range listen {
		if !l.Onion {
			continue
		}
		n++
		dir := hsDir
		if n > 1 {
			dir = strings.TrimSuffix(hsDir, "/") + "-" + strconv.Itoa(n) + "/"
		}
		target := l.Address
		if l.IsUnix() {
			target = "unix:" + quote(l.SocketPath())
		}
		fmt.Fprintf(w, "# depot onion listener %s, from %s; nothing reaching it is logged.\n", l.Address, source)
		if l.IsUnix() {
			group := "depot's own group"
			if l.SocketGroup != "" {
				group = "group " + l.SocketGroup
			}
			fmt.Fprintf(w, "# The socket is mode 0660, %s: tor's user must be in it (see socket_group).\n", group)
		}
		fmt.Fprintf(w, "HiddenServiceDir %s\n", quote(dir))
		fmt.Fprintf(w, "HiddenServicePort 80 %s\n", target)
	}
	if n == 0 {
		return fmt.Errorf("%s has no onion listener; add a [[listen]] table with address = \"unix:/run/depot/onion.sock\" and onion = true", source)
	}
	return nil
}

// quote quotes a torrc value that holds spaces, quotes or backslashes
// (tor's config parser accepts C-style escapes in quoted values); unquote
// reads it back.
func quote(s string) string {
	if !strings.ContainsAny(s, " \t\"\\#") {
		return s
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(s) + `"`
}

// HiddenServicePort is one HiddenServicePort line of a torrc.
type HiddenServicePort struct {
	Dir    string // the HiddenServiceDir it belongs to
	Virt   int    // the onion service's port
	Target string // "unix:/path" or "host:port"
	Where  string // file:line
}

// maxIncludeDepth bounds %include recursion, as tor does.
const maxIncludeDepth = 8

// Read reads the onion services of a torrc, following %include of files
// and directories. It reads only.
func Read(path string) ([]HiddenServicePort, error) {
	var out []HiddenServicePort
	dir := ""
	err := readFile(path, 0, &dir, &out)
	return out, err
}

func readFile(path string, depth int, dir *string, out *[]HiddenServicePort) error {
	if depth > maxIncludeDepth {
		return fmt.Errorf("%s: %%include nested more than %d deep", path, maxIncludeDepth)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	lines := logicalLines(string(b))
	for _, l := range lines {
		key, val, _ := strings.Cut(l.text, " ")
		val = strings.TrimSpace(val)
		where := fmt.Sprintf("%s:%d", path, l.n)
		switch strings.ToLower(key) {
		case "%include":
			files, err := includeFiles(unquote(val), filepath.Dir(path))
			if err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
			for _, f := range files {
				if err := readFile(f, depth+1, dir, out); err != nil {
					return fmt.Errorf("%s: %w", where, err)
				}
			}
		case "hiddenservicedir":
			*dir = unquote(val)
		case "hiddenserviceport":
			p, err := parsePort(val)
			if err != nil {
				return fmt.Errorf("%s: HiddenServicePort %s: %w", where, val, err)
			}
			p.Dir, p.Where = *dir, where
			*out = append(*out, p)
		}
	}
	return nil
}

type logicalLine struct {
	n    int
	text string
}

// logicalLines splits a torrc into logical lines: comments dropped, a
// backslash at the end of a line continues it, keys and values separated
// by one space.
func logicalLines(s string) []logicalLine {
	var out []logicalLine
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
			out = append(out, logicalLine{n: start, text: strings.Join(f, " ")})
		}
		cur.Reset()
	}
	return out
}

// unquote removes tor's C-style quotes from a value, if it has them.
func unquote(s string) string {
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
func parsePort(val string) (HiddenServicePort, error) {
	virtS, target, _ := strings.Cut(val, " ")
	virt, err := strconv.Atoi(virtS)
	if err != nil || virt < 1 || virt > 65535 {
		return HiddenServicePort{}, fmt.Errorf("%q is not a port", virtS)
	}
	target = strings.TrimSpace(target)
	switch {
	case target == "":
		target = net.JoinHostPort("127.0.0.1", virtS)
	case strings.HasPrefix(target, "unix:"):
		target = "unix:" + unquote(strings.TrimPrefix(target, "unix:"))
	default:
		if n, err := strconv.Atoi(target); err == nil {
			if n < 1 || n > 65535 {
				return HiddenServicePort{}, fmt.Errorf("%q is not a port", target)
			}
			target = net.JoinHostPort("127.0.0.1", target)
		} else if _, _, err := net.SplitHostPort(target); err != nil {
			return HiddenServicePort{}, err
		}
	}
	return HiddenServicePort{Virt: virt, Target: target}, nil
}

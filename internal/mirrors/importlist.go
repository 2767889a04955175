package mirrors

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path"
	"strings"
	"unicode/utf8"

	"depot/internal/config"
)

// maxListLine bounds one line of an imported mirror list.
const maxListLine = 4096

// ParseList reads a mirror list in the format Qubes OS publishes: one
// mirror per line, "URL [SUBDIR]", with blank lines and "#" comments
// allowed. Each mirror is named after its host (with "-2", "-3"... when a
// host appears more than once). Every bad line is reported with its
// number; the mirrors of the good lines are returned with the error.
func ParseList(r io.Reader) ([]config.Mirror, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1024), maxListLine)
	var out []config.Mirror
	var errs []error
	names := map[string]int{}
	urls := map[string]int{}
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if !utf8.ValidString(line) {
			errs = append(errs, fmt.Errorf("line %d: not valid UTF-8", n))
			continue
		}
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if len(fields) > 2 {
			errs = append(errs, fmt.Errorf("line %d: %d fields; want \"URL [SUBDIR]\"", n, len(fields)))
			continue
		}
		m, err := listEntry(fields)
		if err != nil {
			errs = append(errs, fmt.Errorf("line %d: %w", n, err))
			continue
		}
		if prev, dup := urls[m.URL]; dup {
			errs = append(errs, fmt.Errorf("line %d: %s is already on line %d", n, m.URL, prev))
			continue
		}
		urls[m.URL] = n
		names[m.Name]++
		if c := names[m.Name]; c > 1 {
			m.Name = fmt.Sprintf("%s-%d", m.Name, c)
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			err = fmt.Errorf("a line is longer than %d bytes; is this a mirror list?", maxListLine)
		}
		errs = append(errs, err)
	}
	return out, errors.Join(errs...)
}

func listEntry(fields []string) (config.Mirror, error) {
	raw := fields[0]
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return config.Mirror{}, fmt.Errorf("%q is not an absolute http or https URL", raw)
	}
	if p := config.URLHostProblem(u); p != "" {
		return config.Mirror{}, fmt.Errorf("%q: %s", raw, p)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return config.Mirror{}, fmt.Errorf("%q must be a plain base URL (no user, query or fragment)", raw)
	}
	raw = u.Scheme + raw[len(u.Scheme):] // "HTTPS://" → "https://"
	if !strings.HasSuffix(raw, "/") {
		raw += "/"
	}
	m := config.Mirror{Name: u.Hostname(), URL: raw}
	if len(fields) == 2 {
		sub := fields[1]
		if strings.HasPrefix(sub, "/") || path.Clean(sub) != strings.TrimSuffix(sub, "/") || strings.HasPrefix(path.Clean(sub), "..") {
			return config.Mirror{}, fmt.Errorf("subdir %q must be a relative path without . or .. segments", sub)
		}
		m.Subdir = sub
	}
	return m, nil
}

// WriteTOML writes mirrors as [[mirror]] tables to append to depot.toml.
// Fields the list does not carry (country, continent, content) are written
// as comments to fill in.
func WriteTOML(w io.Writer, mirrors []config.Mirror) error {
	var b strings.Builder
	for i, m := range mirrors {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString("[[mirror]]\n")
		fmt.Fprintf(&b, "name = %s\nurl = %s\n", tomlString(m.Name), tomlString(m.URL))
		if m.Subdir != "" {
			fmt.Fprintf(&b, "subdir = %s\n", tomlString(m.Subdir))
		}
		line := func(key, val, hint string) {
			if val != "" {
				fmt.Fprintf(&b, "%s = %s\n", key, tomlString(val))
			} else {
				fmt.Fprintf(&b, "# %s = %s\n", key, hint)
			}
		}
		line("country", m.Country, `"DE"`)
		line("continent", m.Continent, `"EU"`)
		if len(m.Content) > 0 {
			quoted := make([]string, len(m.Content))
			for j, c := range m.Content {
				quoted[j] = tomlString(c)
			}
			fmt.Fprintf(&b, "content = [%s]\n", strings.Join(quoted, ", "))
		} else {
			b.WriteString("# content = [\"yum\", \"deb\", \"iso\"]   # default: all\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// tomlString quotes s as a TOML basic string.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, "\\u%04X", r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

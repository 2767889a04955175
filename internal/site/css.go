package site

import "strings"

// cssURL is a URL referenced from CSS, with the 1-based line it starts on.
type cssURL struct {
	URL  string
	Line int
	// Import is true for @import, false for url() and src().
	Import bool
}

// cssURLs returns every url(...), src(...) and @import URL in css, in
// order. It is a small scanner, not a full CSS tokenizer: it skips
// comments and strings outside of those constructs, and it returns URLs as
// they are written (CSS escapes are not decoded), so every returned URL is
// a substring of css. It never panics on malformed input; an unterminated
// construct yields what it has read so far.
func cssURLs(css string) []cssURL {
	var out []cssURL
	line := 1
	i := 0
	n := len(css)
	// advance moves i to j, counting newlines.
	advance := func(j int) {
		if j > n {
			j = n
		}
		line += strings.Count(css[i:j], "\n")
		i = j
	}
	for i < n {
		c := css[i]
		switch {
		case c == '/' && i+1 < n && css[i+1] == '*':
			end := strings.Index(css[i+2:], "*/")
			if end < 0 {
				advance(n)
			} else {
				advance(i + 2 + end + 2)
			}
		case c == '"' || c == '\'':
			advance(stringEnd(css, i))
		case c == '@' && hasPrefixFold(css[i+1:], "import") && !isIdentByte(at(css, i+7)):
			advance(i + 7)
			advance(skipSpace(css, i))
			if i < n && (css[i] == '"' || css[i] == '\'') {
				start := line
				end := stringEnd(css, i)
				out = append(out, cssURL{URL: unquote(css[i:end]), Line: start, Import: true})
				advance(end)
			} else if u, ok, end := funcURL(css, i); ok {
				out = append(out, cssURL{URL: u, Line: line, Import: true})
				advance(end)
			}
		case isIdentByte(c):
			j := i
			for j < n && isIdentByte(css[j]) {
				j++
			}
			if i == 0 || !isIdentByte(css[i-1]) {
				if u, ok, end := funcURL(css, i); ok {
					out = append(out, cssURL{URL: u, Line: line})
					// Count the newlines inside the construct too.
					advance(end)
					continue
				}
			}
			advance(j)
		default:
			advance(i + 1)
		}
	}
	return out
}

// funcURL reads url(...) or src(...) starting at i. It reports the URL,
// whether one was there, and the index just past the construct.
func funcURL(css string, i int) (string, bool, int) {
	var name string
	switch {
	case hasPrefixFold(css[i:], "url("):
		name = "url("
	case hasPrefixFold(css[i:], "src("):
		name = "src("
	default:
		return "", false, i
	}
	j := skipSpace(css, i+len(name))
	if j < len(css) && (css[j] == '"' || css[j] == '\'') {
		end := stringEnd(css, j)
		u := unquote(css[j:end])
		k := strings.IndexByte(css[end:], ')')
		if k < 0 {
			return u, true, len(css)
		}
		return u, true, end + k + 1
	}
	if name == "src(" {
		// src() takes only a string.
		return "", false, i
	}
	k := strings.IndexByte(css[j:], ')')
	if k < 0 {
		return strings.TrimSpace(css[j:]), true, len(css)
	}
	return strings.TrimSpace(css[j : j+k]), true, j + k + 1
}

// stringEnd returns the index just past the quoted string starting at i.
func stringEnd(css string, i int) int {
	q := css[i]
	for j := i + 1; j < len(css); j++ {
		switch css[j] {
		case '\\':
			j++
		case q, '\n':
			return j + 1
		}
	}
	return len(css)
}

// unquote strips the quotes of a CSS string as written.
func unquote(s string) string {
	if len(s) > 0 {
		s = s[1:]
	}
	if len(s) > 0 && (s[len(s)-1] == '"' || s[len(s)-1] == '\'' || s[len(s)-1] == '\n') {
		s = s[:len(s)-1]
	}
	return s
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r' || s[i] == '\f') {
		i++
	}
	return i
}

func at(s string, i int) byte {
	if i < len(s) {
		return s[i]
	}
	return 0
}

func isIdentByte(c byte) bool {
	return c == '-' || c == '_' || c >= 0x80 ||
		('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

package metalink

import "unicode/utf8"

const utf8RuneError = utf8.RuneError

func decodeRune(s string) (rune, int) {
	r, n := utf8.DecodeRuneInString(s)
	// XML 1.0 excludes the surrogates (which DecodeRune already rejects)
	// and U+FFFE, U+FFFF.
	if r == 0xFFFE || r == 0xFFFF {
		return utf8.RuneError, 1
	}
	return r, n
}

package metalink

import (
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ContentType3 is the media type of a Metalink 3 document.
const ContentType3 = "application/metalink+xml"

// Version is one version of a file: what a client verifies it against.
type Version struct {
	Timestamp int64 // repomd.xml's largest data timestamp; 0 if unknown
	Size      int64
	Hashes    Hashes
}

// URL is one place a file can be fetched from.
type URL struct {
	URL string
	// Location is an ISO 3166 country code ("DE"), or "" when unknown.
	Location string
	// Preference orders URLs, 1–100, higher first (Metalink 3); Metalink 4
	// priorities are derived from it.
	Preference int
}

// File is a Metalink 3 file entry: the current version, the recent ones a
// lagging mirror may still hold (newest first), and where to fetch it.
type File struct {
	Name       string
	Current    Version
	Alternates []Version
	URLs       []URL
}

// AppendV3 appends a Metalink 3 document for f in MirrorManager's dialect,
// the one DNF and librepo read: mm0:timestamp, mm0:alternates and the four
// hashes. pubdate is written in RFC 1123 form, in GMT.
func AppendV3(dst []byte, f *File, pubdate time.Time, generator string) []byte {
	dst = append(dst, `<?xml version="1.0" encoding="utf-8"?>
<metalink version="3.0" xmlns="http://www.metalinker.org/" type="dynamic" pubdate="`...)
	dst = pubdate.UTC().AppendFormat(dst, "Mon, 02 Jan 2006 15:04:05 GMT") // RFC 1123, as HTTP dates
	dst = append(dst, `" generator="`...)
	dst = appendEscaped(dst, generator)
	dst = append(dst, `" xmlns:mm0="http://fedorahosted.org/mirrormanager">
 <files>
  <file name="`...)
	dst = appendEscaped(dst, f.Name)
	dst = append(dst, "\">\n   <mm0:timestamp>"...)
	dst = strconv.AppendInt(dst, f.Current.Timestamp, 10)
	dst = append(dst, "</mm0:timestamp>\n   <size>"...)
	dst = strconv.AppendInt(dst, f.Current.Size, 10)
	dst = append(dst, "</size>\n"...)
	if len(f.Alternates) > 0 {
		dst = append(dst, "   <mm0:alternates>\n"...)
		for _, a := range f.Alternates {
			dst = append(dst, "    <mm0:alternate>\n     <mm0:timestamp>"...)
			dst = strconv.AppendInt(dst, a.Timestamp, 10)
			dst = append(dst, "</mm0:timestamp>\n     <size>"...)
			dst = strconv.AppendInt(dst, a.Size, 10)
			dst = append(dst, "</size>\n"...)
			dst = appendVerification(dst, "     ", &a.Hashes)
			dst = append(dst, "    </mm0:alternate>\n"...)
		}
		dst = append(dst, "   </mm0:alternates>\n"...)
	}
	dst = appendVerification(dst, "   ", &f.Current.Hashes)
	dst = append(dst, "   <resources maxconnections=\"1\">\n"...)
	for _, u := range f.URLs {
		proto := scheme(u.URL)
		dst = append(dst, `    <url protocol="`...)
		dst = appendEscaped(dst, proto)
		dst = append(dst, `" type="`...)
		dst = appendEscaped(dst, proto)
		if u.Location != "" {
			dst = append(dst, `" location="`...)
			dst = appendEscaped(dst, strings.ToUpper(u.Location))
		}
		dst = append(dst, `" preference="`...)
		dst = strconv.AppendInt(dst, int64(clampPreference(u.Preference)), 10)
		dst = append(dst, `">`...)
		dst = appendEscaped(dst, u.URL)
		dst = append(dst, "</url>\n"...)
	}
	dst = append(dst, "   </resources>\n  </file>\n </files>\n</metalink>\n"...)
	return dst
}

func appendVerification(dst []byte, indent string, h *Hashes) []byte {
	dst = append(dst, indent...)
	dst = append(dst, "<verification>\n"...)
	for _, kv := range [4][2]string{{"md5", h.MD5}, {"sha1", h.SHA1}, {"sha256", h.SHA256}, {"sha512", h.SHA512}} {
		if kv[1] == "" {
			continue
		}
		dst = append(dst, indent...)
		dst = append(dst, ` <hash type="`...)
		dst = append(dst, kv[0]...)
		dst = append(dst, `">`...)
		dst = appendEscaped(dst, kv[1])
		dst = append(dst, "</hash>\n"...)
	}
	dst = append(dst, indent...)
	return append(dst, "</verification>\n"...)
}

func clampPreference(p int) int {
	return min(max(p, 1), 100)
}

// scheme is the URL's scheme as Metalink 3's protocol attribute wants it.
func scheme(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return "http"
	}
	return strings.ToLower(u.Scheme)
}

// appendEscaped appends s with the five XML special characters escaped,
// and any byte that XML 1.0 cannot hold (control characters, invalid
// UTF-8) replaced by U+FFFD, so that the document always parses.
func appendEscaped(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < 0x80 {
			switch c {
			case '&':
				dst = append(dst, "&amp;"...)
			case '<':
				dst = append(dst, "&lt;"...)
			case '>':
				dst = append(dst, "&gt;"...)
			case '"':
				dst = append(dst, "&quot;"...)
			case '\'':
				dst = append(dst, "&apos;"...)
			case '\t', '\n', '\r':
				dst = append(dst, c)
			default:
				if c < 0x20 || c == 0x7f {
					dst = append(dst, "\uFFFD"...)
				} else {
					dst = append(dst, c)
				}
			}
			i++
			continue
		}
		r, n := decodeRune(s[i:])
		if r == utf8RuneError && n == 1 {
			dst = append(dst, "\uFFFD"...)
		} else {
			dst = append(dst, s[i:i+n]...)
		}
		i += n
	}
	return dst
}

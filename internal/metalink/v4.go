package metalink

import (
	"strconv"
	"strings"
	"time"
)

// ContentType4 is the media type of a Metalink 4 document (RFC 5854 §4.1).
const ContentType4 = "application/metalink4+xml"

// File4 is one Metalink 4 file: size, SHA-256 and where to get it.
type File4 struct {
	Name   string
	Size   int64
	SHA256 string
	URLs   []URL // best first
}

// AppendV4 appends a Metalink 4 document (RFC 5854) for f. URL priorities
// follow the order of f.URLs, 1 first (RFC 5854 §4.2.16: lower is more
// preferred); equal preferences share a priority. location is lowercase
// ISO 3166-1 alpha-2 (§4.2.16.1).
func AppendV4(dst []byte, f *File4, published time.Time, generator string) []byte {
	dst = append(dst, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<metalink xmlns=\"urn:ietf:params:xml:ns:metalink\">\n <generator>"...)
	dst = appendEscaped(dst, generator)
	dst = append(dst, "</generator>\n <published>"...)
	dst = published.UTC().AppendFormat(dst, time.RFC3339)
	dst = append(dst, "</published>\n <file name=\""...)
	dst = appendEscaped(dst, f.Name)
	dst = append(dst, "\">\n  <size>"...)
	dst = strconv.AppendInt(dst, f.Size, 10)
	dst = append(dst, "</size>\n"...)
	if f.SHA256 != "" {
		dst = append(dst, "  <hash type=\"sha-256\">"...)
		dst = appendEscaped(dst, f.SHA256)
		dst = append(dst, "</hash>\n"...)
	}
	prio, last := 0, -1
	for _, u := range f.URLs {
		if u.Preference != last {
			prio++
			last = u.Preference
		}
		dst = append(dst, "  <url"...)
		if u.Location != "" {
			dst = append(dst, " location=\""...)
			dst = appendEscaped(dst, strings.ToLower(u.Location))
			dst = append(dst, '"')
		}
		dst = append(dst, " priority=\""...)
		dst = strconv.AppendInt(dst, int64(min(prio, 999999)), 10)
		dst = append(dst, "\">"...)
		dst = appendEscaped(dst, u.URL)
		dst = append(dst, "</url>\n"...)
	}
	return append(dst, " </file>\n</metalink>\n"...)
}

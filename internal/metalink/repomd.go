package metalink

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// MaxRepomdSize bounds the repomd.xml RepomdTimestamp reads; real ones are
// a few kilobytes.
const MaxRepomdSize = 4 << 20

// RepomdTimestamp returns the largest /repomd/data/timestamp of a
// repomd.xml, which is what DNF compares with the metalink's
// mm0:timestamp. A repomd.xml without any data timestamp is an error.
func RepomdTimestamp(data []byte) (int64, error) {
	if len(data) > MaxRepomdSize {
		return 0, fmt.Errorf("repomd.xml is %d bytes, more than the %d allowed", len(data), MaxRepomdSize)
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	// depth 0: outside; 1: in <repomd>; 2: in <data>; 3: in <timestamp>.
	depth := 0
	var best int64
	found := false
	var text strings.Builder
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("repomd.xml: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch {
			case depth == 0 && t.Name.Local == "repomd",
				depth == 1 && t.Name.Local == "data",
				depth == 2 && t.Name.Local == "timestamp":
				depth++
				text.Reset()
			default:
				if err := d.Skip(); err != nil {
					return 0, fmt.Errorf("repomd.xml: %w", err)
				}
			}
		case xml.CharData:
			if depth == 3 && text.Len() < 64 {
				text.Write(t)
			}
		case xml.EndElement:
			if depth == 3 {
				s := strings.TrimSpace(text.String())
				// createrepo_c writes integers; some tools write "123.0".
				s, _, _ = strings.Cut(s, ".")
				v, err := strconv.ParseInt(s, 10, 64)
				if err != nil || v < 0 {
					return 0, fmt.Errorf("repomd.xml: timestamp %q is not a non-negative integer", text.String())
				}
				if !found || v > best {
					best, found = v, true
				}
			}
			depth--
		}
	}
	if !found {
		return 0, errors.New("repomd.xml: no /repomd/data/timestamp element")
	}
	return best, nil
}

package metalink

import (
	"encoding/xml"
	"testing"
	"time"
)

func FuzzRepomdTimestamp(f *testing.F) {
	for _, tc := range repomdCases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ts, err := RepomdTimestamp(data)
		if err != nil && ts != 0 {
			t.Fatalf("error %v with timestamp %d", err, ts)
		}
		if ts < 0 {
			t.Fatalf("negative timestamp %d", ts)
		}
	})
}

// FuzzAppendV3 checks the escaping invariant: whatever a name or URL holds,
// the document parses.
func FuzzAppendV3(f *testing.F) {
	f.Add("repomd.xml", "https://m.example/a?b=1&c=2", "DE")
	f.Add("<&>\"'", "\x00\x1b\xff\xfe", "\"")
	f.Fuzz(func(t *testing.T, name, u, loc string) {
		fl := &File{Name: name, URLs: []URL{{URL: u, Location: loc, Preference: 50}}}
		out := AppendV3(nil, fl, time.Unix(0, 0), name)
		var p parsed3
		if err := xml.Unmarshal(out, &p); err != nil {
			t.Fatalf("document does not parse: %v\n%q", err, out)
		}
		out4 := AppendV4(nil, &File4{Name: name, URLs: fl.URLs}, time.Unix(0, 0), u)
		var v struct{}
		if err := xml.Unmarshal(out4, &v); err != nil {
			t.Fatalf("metalink 4 does not parse: %v\n%q", err, out4)
		}
	})
}

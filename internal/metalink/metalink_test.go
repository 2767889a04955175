package metalink

import (
	"encoding/xml"
	"strings"
	"testing"
	"time"
)

var repomdCases = []struct {
	name    string
	in      string
	want    int64
	wantErr bool
}{
	{"createrepo", `<?xml version="1.0" encoding="UTF-8"?>
<repomd xmlns="http://linux.duke.edu/metadata/repo" xmlns:rpm="http://linux.duke.edu/metadata/rpm">
  <revision>1764390519</revision>
  <data type="primary"><checksum type="sha256">ab</checksum><timestamp>1764390500</timestamp><size>1</size></data>
  <data type="filelists"><timestamp>1764390519</timestamp></data>
  <data type="other"><timestamp>1764390000</timestamp></data>
</repomd>`, 1764390519, false},
	{"float timestamp", `<repomd><data><timestamp> 17.0 </timestamp></data></repomd>`, 17, false},
	{"revision is not a data timestamp", `<repomd><revision>99</revision><timestamp>5</timestamp></repomd>`, 0, true},
	{"nested timestamp ignored", `<repomd><data><x><timestamp>99</timestamp></x><timestamp>3</timestamp></data></repomd>`, 3, false},
	{"negative", `<repomd><data><timestamp>-1</timestamp></data></repomd>`, 0, true},
	{"garbage", `<repomd><data><timestamp>x</timestamp></data></repomd>`, 0, true},
	{"not xml", `hello`, 0, true},
	{"truncated", `<repomd><data><timestamp>1</timestamp>`, 0, true},
	{"empty", ``, 0, true},
	{"other root", `<metalink><data><timestamp>1</timestamp></data></metalink>`, 0, true},
}

func TestRepomdTimestamp(t *testing.T) {
	for _, tc := range repomdCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := RepomdTimestamp([]byte(tc.in))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("got %d, want %d", got, tc.want)
			}
		})
	}
}

// parsed3 is what a client reads from a Metalink 3 document.
type parsed3 struct {
	XMLName xml.Name `xml:"http://www.metalinker.org/ metalink"`
	Files   []struct {
		Name      string `xml:"name,attr"`
		Timestamp int64  `xml:"http://fedorahosted.org/mirrormanager timestamp"`
		Size      int64  `xml:"size"`
		Alts      []struct {
			Timestamp int64 `xml:"http://fedorahosted.org/mirrormanager timestamp"`
			Size      int64 `xml:"size"`
			Hashes    []struct {
				Type  string `xml:"type,attr"`
				Value string `xml:",chardata"`
			} `xml:"verification>hash"`
		} `xml:"http://fedorahosted.org/mirrormanager alternates>alternate"`
		Hashes []struct {
			Type  string `xml:"type,attr"`
			Value string `xml:",chardata"`
		} `xml:"verification>hash"`
		URLs []struct {
			Protocol   string `xml:"protocol,attr"`
			Location   string `xml:"location,attr"`
			Preference int    `xml:"preference,attr"`
			Value      string `xml:",chardata"`
		} `xml:"resources>url"`
	} `xml:"files>file"`
}

func sampleFile() *File {
	return &File{
		Name:    "repomd.xml",
		Current: Version{Timestamp: 1764390519, Size: 3859, Hashes: Hashes{MD5: "m", SHA1: "s1", SHA256: "s256", SHA512: "s512"}},
		Alternates: []Version{
			{Timestamp: 1764300000, Size: 3851, Hashes: Hashes{SHA256: "old"}},
		},
		URLs: []URL{
			{URL: "https://mirror.example.net/q/?a=1&b=<2>", Location: "de", Preference: 100},
			{URL: "http://origin.example.org/r/repodata/repomd.xml", Preference: 0},
		},
	}
}

func TestAppendV3(t *testing.T) {
	f := sampleFile()
	out := AppendV3(nil, f, time.Unix(1764390519, 0), "depot/\"1&2\"")
	var p parsed3
	if err := xml.Unmarshal(out, &p); err != nil {
		t.Fatalf("output does not parse: %v\n%s", err, out)
	}
	if len(p.Files) != 1 {
		t.Fatalf("got %d files, want 1", len(p.Files))
	}
	pf := p.Files[0]
	checks := []struct {
		name      string
		got, want any
	}{
		{"name", pf.Name, "repomd.xml"},
		{"timestamp", pf.Timestamp, int64(1764390519)},
		{"size", pf.Size, int64(3859)},
		{"hashes", len(pf.Hashes), 4},
		{"sha256", pf.Hashes[2].Type + "=" + pf.Hashes[2].Value, "sha256=s256"},
		{"alternates", len(pf.Alts), 1},
		{"alt timestamp", pf.Alts[0].Timestamp, int64(1764300000)},
		{"alt hash", pf.Alts[0].Hashes[0].Value, "old"},
		{"urls", len(pf.URLs), 2},
		{"escaped url", pf.URLs[0].Value, "https://mirror.example.net/q/?a=1&b=<2>"},
		{"location", pf.URLs[0].Location, "DE"},
		{"protocol", pf.URLs[0].Protocol, "https"},
		{"preference clamped", pf.URLs[1].Preference, 1},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
	if !strings.Contains(string(out), `pubdate="Sat, 29 Nov 2025 04:28:39 GMT"`) {
		t.Errorf("pubdate missing:\n%s", out)
	}
}

func TestAppendV4(t *testing.T) {
	f := &File4{Name: "Qubes & co.iso", Size: 42, SHA256: "abc", URLs: []URL{
		{URL: "https://a/x.iso", Location: "DE", Preference: 100},
		{URL: "https://b/x.iso", Location: "US", Preference: 100},
		{URL: "https://origin/x.iso", Preference: 1},
	}}
	out := AppendV4(nil, f, time.Date(2026, 11, 29, 4, 28, 39, 0, time.UTC), "depot")
	var p struct {
		XMLName   xml.Name `xml:"urn:ietf:params:xml:ns:metalink metalink"`
		Published string   `xml:"published"`
		Generator string   `xml:"generator"`
		File      struct {
			Name string `xml:"name,attr"`
			Size int64  `xml:"size"`
			Hash struct {
				Type  string `xml:"type,attr"`
				Value string `xml:",chardata"`
			} `xml:"hash"`
			URLs []struct {
				Location string `xml:"location,attr"`
				Priority int    `xml:"priority,attr"`
				Value    string `xml:",chardata"`
			} `xml:"url"`
		} `xml:"file"`
	}
	if err := xml.Unmarshal(out, &p); err != nil {
		t.Fatalf("output does not parse: %v\n%s", err, out)
	}
	if p.File.Name != f.Name || p.File.Size != 42 || p.File.Hash.Type != "sha-256" || p.File.Hash.Value != "abc" {
		t.Errorf("got file %+v", p.File)
	}
	if p.Published != "2026-11-29T04:28:39Z" || p.Generator != "depot" {
		t.Errorf("got published %q generator %q", p.Published, p.Generator)
	}
	prios := []int{p.File.URLs[0].Priority, p.File.URLs[1].Priority, p.File.URLs[2].Priority}
	if prios[0] != 1 || prios[1] != 1 || prios[2] != 2 {
		t.Errorf("got priorities %v, want [1 1 2]", prios)
	}
	if p.File.URLs[0].Location != "de" || p.File.URLs[2].Location != "" {
		t.Errorf("got locations %q %q", p.File.URLs[0].Location, p.File.URLs[2].Location)
	}
}

func TestSum(t *testing.T) {
	h, n, err := Sum(strings.NewReader("abc"))
	if err != nil || n != 3 {
		t.Fatalf("Sum: %v %d", err, n)
	}
	want := Hashes{
		MD5:    "900150983cd24fb0d6963f7d28e17f72",
		SHA1:   "a9993e364706816aba3e25717850c26c9cd0d89d",
		SHA256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		SHA512: "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
	}
	if h != want {
		t.Errorf("got %+v, want %+v", h, want)
	}
}

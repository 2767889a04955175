package torexit

import (
	"strings"
	"testing"
	"time"
)

func mustTime(s string) time.Time {
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		panic(err)
	}
	return t
}

// parseCases seed the fuzz target too.
var parseCases = []struct {
	name      string
	doc       string
	entries   int
	addrs     int
	malformed int
	dl        string
}{
	{"collector document", `@type tordnsel 1.0
Downloaded 2026-10-05 11:00:00
ExitNode 2F1AED6287EF217D31841199320D37CAAE1F1EE1
Published 2026-10-05 10:41:23
LastStatus 2026-10-05 23:41:23
ExitAddress 185.220.102.174 2026-10-05 11:16:23
`, 1, 1, 0, "2026-10-05 11:00:00"},
	{"two addresses and unknown keyword", `ExitNode A
Published 2026-10-05 10:41:23
Flavour vanilla
LastStatus 2026-10-05 23:41:23
ExitAddress 185.220.102.174 2026-10-05 11:16:23
ExitAddress 2001:db8::1 2026-10-05 11:16:23
`, 1, 2, 0, ""},
	{"crlf line ends", "ExitNode A\r\nPublished 2026-10-05 10:41:23\r\nLastStatus 2026-10-05 23:41:23\r\nExitAddress 1.2.3.4 2026-10-05 11:16:23\r\n", 1, 1, 0, ""},
	{"bad published skipped", `ExitNode A
Published yesterday
LastStatus 2026-10-05 23:41:23
ExitAddress 1.2.3.4 2026-10-05 11:16:23
ExitNode B
Published 2026-10-05 10:41:23
LastStatus 2026-10-05 23:41:23
ExitAddress 5.6.7.8 2026-10-05 11:16:23
`, 1, 1, 1, ""},
	{"no address", "ExitNode A\nPublished 2026-10-05 10:41:23\nLastStatus 2026-10-05 23:41:23\n", 0, 0, 1, ""},
	{"bad address", "ExitNode A\nPublished 2026-10-05 10:41:23\nLastStatus 2026-10-05 23:41:23\nExitAddress 1.2.3 x\n", 0, 0, 1, ""},
	{"status before published", "ExitNode A\nPublished 2026-10-06 10:41:23\nLastStatus 2026-10-05 23:41:23\nExitAddress 1.2.3.4 x\n", 0, 0, 1, ""},
	{"fields outside an entry", "Published 2026-10-06 10:41:23\nExitAddress 1.2.3.4 x\n", 0, 0, 0, ""},
	{"empty", "", 0, 0, 0, ""},
	{"binary junk", "\x00\xff\xfe ExitNode\n\n\n", 0, 0, 0, ""},
}

func TestParse(t *testing.T) {
	for _, tc := range parseCases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse(strings.NewReader(tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			addrs := 0
			for _, e := range f.Entries {
				addrs += len(e.Addrs)
			}
			if len(f.Entries) != tc.entries || addrs != tc.addrs || f.Malformed != tc.malformed {
				t.Errorf("got %d entries, %d addresses, %d malformed; want %d, %d, %d",
					len(f.Entries), addrs, f.Malformed, tc.entries, tc.addrs, tc.malformed)
			}
			if tc.dl != "" && !f.Downloaded.Equal(mustTime(tc.dl)) {
				t.Errorf("got Downloaded %v, want %s", f.Downloaded, tc.dl)
			}
		})
	}
}

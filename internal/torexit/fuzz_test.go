package torexit

import (
	"strings"
	"testing"
)

// FuzzParse: any input parses without panic, and every kept entry
// satisfies the invariants IsTor relies on.
func FuzzParse(f *testing.F) {
	for _, tc := range parseCases {
		f.Add(tc.doc)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		file, err := Parse(strings.NewReader(doc))
		if err != nil {
			return // a line longer than the scanner's limit, or a document beyond the bounds
		}
		for _, e := range file.Entries {
			if e.Published.IsZero() || e.LastStatus.Before(e.Published) || len(e.Addrs) == 0 {
				t.Fatalf("invalid entry kept: %+v", e)
			}
			for _, a := range e.Addrs {
				if !a.IsValid() || a.Is4In6() {
					t.Fatalf("bad address kept: %v", a)
				}
			}
		}
		b := NewBuilder()
		b.Add(file, file.Downloaded)
		s := b.Set()
		for _, e := range file.Entries {
			for _, a := range e.Addrs {
				if !s.IsTor(a, e.Published) || !s.IsTor(a, e.LastStatus) {
					t.Fatalf("%v not Tor within its own interval", a)
				}
			}
		}
	})
}

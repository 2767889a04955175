package month

import "testing"

// FuzzParse checks that a parsed month writes itself back as its input,
// and that its bounds hold it.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"2026-11", "0001-01", "9999-12", "2026-13", "2026-1", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := Parse(s)
		if err != nil {
			return
		}
		if m.String() != s {
			t.Fatalf("Parse(%q).String() = %q", s, m.String())
		}
		if Of(m.Start()) != m || Of(m.End()) != m.Next() || m.Next().Prev() != m {
			t.Fatalf("%s: bounds and neighbours disagree", m)
		}
	})
}

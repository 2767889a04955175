package logsink

import (
	"go/build"
	"strings"
	"testing"
)

// TestSinkStaysSmall: the request path's log code imports the standard
// library and, of depot, atomicfile alone (to open without following a
// link), so that what every logged request runs through can be read in
// one sitting. Reading, rotating, compressing and deleting log files
// belong to logfiles, which must not creep back in.
func TestSinkStaysSmall(t *testing.T) {
	bp, err := build.Import("depot/internal/logsink", ".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range bp.Imports {
		first, _, _ := strings.Cut(imp, "/")
		switch {
		case imp == "depot/internal/atomicfile":
		case first == "depot":
			t.Errorf("logsink imports %s; of depot it may import only atomicfile", imp)
		case strings.Contains(first, "."):
			t.Errorf("logsink imports %s; it uses the standard library only", imp)
		}
	}
}

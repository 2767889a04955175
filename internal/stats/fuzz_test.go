package stats

import (
	"bytes"
	"testing"
)

// FuzzClassify: no line crashes the classifier, and a counted line obeys
// the counting rules whatever its bytes.
func FuzzClassify(f *testing.F) {
	for _, tc := range classifyCases {
		f.Add(tc.line)
	}
	c := newClassifier(nil)
	f.Fuzz(func(t *testing.T, line string) {
		var out classified
		v := c.classify([]byte(line), &out)
		if v != countedV4 && v != countedV6 {
			return
		}
		l := &c.line
		if string(l.Method) != "GET" || l.Status < 200 || l.Status > 399 {
			t.Fatalf("counted %q with method %q status %d", line, l.Method, l.Status)
		}
		rel := out.release
		if len(rel) == 0 || bytes.IndexByte(rel, '/') >= 0 || rel[0] == '~' ||
			bytes.Contains(rel, []byte("contrib")) || string(rel) == "repo" || string(rel) == "yum" {
			t.Fatalf("counted %q with release %q", line, rel)
		}
		if bytes.Contains(c.path, []byte("$releasever")) {
			t.Fatalf("counted %q although its path has $releasever", line)
		}
		if !bytes.HasSuffix(c.path, []byte("/repomd.xml")) && !bytes.HasSuffix(c.path, []byte("/repomd.xml.metalink")) {
			t.Fatalf("counted %q with path %q", line, c.path)
		}
	})
}

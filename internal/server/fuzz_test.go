package server

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"depot/internal/docroot"
)

// FuzzServeCached holds serveCached to http.ServeContent for any
// precondition and range headers: the cache parses If-None-Match and
// If-Modified-Since itself, and must answer every value as net/http does.
func FuzzServeCached(f *testing.F) {
	mod := time.Date(2026, 11, 3, 10, 20, 30, 0, time.UTC)
	etag := `"68f0a1e6-1f"`
	lm := mod.Format(http.TimeFormat)
	for _, tt := range diffRequests(etag, lm, mod.Add(-time.Hour).Format(http.TimeFormat), mod.Add(time.Hour).Format(http.TimeFormat)) {
		var v [4]string
		for i := 0; i+1 < len(tt.header); i += 2 {
			switch tt.header[i] {
			case "If-None-Match":
				v[0] = tt.header[i+1]
			case "If-Modified-Since":
				v[1] = tt.header[i+1]
			case "Range":
				v[2] = tt.header[i+1]
			case "If-Match":
				v[3] = tt.header[i+1]
			}
		}
		f.Add(tt.method == "HEAD", v[0], v[1], v[2], v[3])
	}
	body := []byte("<?xml version=\"1.0\"?><repomd/>\n")
	e := newCached(cacheKey{}, nil, "repomd.xml", docroot.Version{}, mod, "application/xml", etag, body)
	f.Fuzz(func(t *testing.T, head bool, inm, ims, rng, im string) {
		req := func() *http.Request {
			r := httptest.NewRequest(http.MethodGet, "/repomd.xml", nil)
			if head {
				r.Method = http.MethodHead
			}
			for k, v := range map[string]string{"If-None-Match": inm, "If-Modified-Since": ims, "Range": rng, "If-Match": im} {
				if v != "" {
					r.Header[k] = []string{v}
				}
			}
			return r
		}
		want := record(func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/xml")
			w.Header().Set("Etag", etag)
			http.ServeContent(w, req(), "", mod, bytes.NewReader(body))
		})
		got := record(func(w http.ResponseWriter) { serveCached(w, req(), e) })
		if got.String() != want.String() {
			t.Errorf("cached answer differs from http.ServeContent's\ngot:\n%s\nwant:\n%s", got, want)
		}
	})
}

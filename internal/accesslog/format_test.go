package accesslog

import (
	"strings"
	"testing"
	"time"
)

func TestAppendCombined(t *testing.T) {
	at := time.Date(2026, 11, 29, 4, 28, 39, 0, time.UTC)
	tests := []struct {
		name string
		e    Entry
		want string
	}{
		{
			name: "dnf metalink",
			e: Entry{RemoteAddr: "203.0.113.7", Time: at, Request: "GET /r4.2/current/host/fc37/repodata/repomd.xml.metalink HTTP/1.1",
				Status: 200, BodyBytes: 3859, UserAgent: "libdnf (Fedora 37; generic; Linux.x86_64)"},
			want: `203.0.113.7 - - [29/Nov/2026:04:28:39 +0000] "GET /r4.2/current/host/fc37/repodata/repomd.xml.metalink HTTP/1.1" 200 3859 "-" "libdnf (Fedora 37; generic; Linux.x86_64)"` + "\n",
		},
		{
			name: "injection is escaped",
			e: Entry{RemoteAddr: "2001:db8::1", Time: at.In(time.FixedZone("", -5*3600)), Request: "GET /\"x\\\n HTTP/1.1",
				Status: 404, BodyBytes: 0, Referer: "a\"b", UserAgent: "\x00\x7f\xff"},
			want: `2001:db8::1 - - [28/Nov/2026:23:28:39 -0500] "GET /\x22x\x5C\x0A HTTP/1.1" 404 0 "a\x22b" "\x00\x7F\xFF"` + "\n",
		},
		{
			name: "request in parts",
			e: Entry{RemoteAddr: "203.0.113.7", Time: at, Method: "GET", URI: "/\"x\\\n", Proto: "HTTP/1.1",
				Status: 404, UserAgent: "u"},
			want: `203.0.113.7 - - [29/Nov/2026:04:28:39 +0000] "GET /\x22x\x5C\x0A HTTP/1.1" 404 0 "-" "u"` + "\n",
		},
		{
			name: "empty request",
			e:    Entry{RemoteAddr: "127.0.0.1", Time: at, Status: 400},
			want: `127.0.0.1 - - [29/Nov/2026:04:28:39 +0000] "-" 400 0 "-" "-"` + "\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(AppendCombined(nil, &tt.e))
			if got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestTimeIsFormattedAsAlways checks the line's once-a-second time
// (logtime.Stamps, whose own tests cover it in depth) against time.Format
// over instants that share a second, cross one, and are the same second in
// other zones, in the order a busy server meets them.
func TestTimeIsFormattedAsAlways(t *testing.T) {
	base := time.Date(2026, 3, 29, 0, 59, 59, 0, time.UTC) // Europe's DST starts at 01:00 UTC
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		paris = time.FixedZone("CET", 3600)
	}
	zones := []*time.Location{time.UTC, time.Local, paris, time.FixedZone("", -5*3600)}
	for i := range 12 {
		at := base.Add(time.Duration(i) * 250 * time.Millisecond)
		for _, z := range zones {
			e := Entry{Time: at.In(z)}
			want := "- - - [" + e.Time.Format(TimeLayout) + "]"
			if got := string(AppendCombined(nil, &e)); !strings.HasPrefix(got, want) {
				t.Fatalf("%v in %v: got %q, want it to start %q", at, z, got, want)
			}
		}
	}
}

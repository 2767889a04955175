package logfiles

import (
	"errors"
	"net/netip"
	"testing"
	"time"
)

func TestParseQuery(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC) }
	tests := []struct {
		name  string
		text  QueryText
		check func(Query) bool
		field string // of the error; "" for none
	}{
		{"empty", QueryText{}, func(q Query) bool {
			return q.Since.IsZero() && q.Until.IsZero() && q.Path == nil && q.Status == 0 && len(q.IPs) == 0
		}, ""},
		{"address and network", QueryText{IPs: []string{"203.0.113.7", "2001:db8::/32", "::ffff:198.51.100.9"}}, func(q Query) bool {
			return len(q.IPs) == 3 && q.IPs[0] == netip.MustParsePrefix("203.0.113.7/32") && q.IPs[1] == netip.MustParsePrefix("2001:db8::/32") && q.IPs[2] == netip.MustParsePrefix("198.51.100.9/32")
		}, ""},
		{"dates: until includes its day", QueryText{Since: "2026-11-01", Until: "2026-11-15"}, func(q Query) bool { return q.Since.Equal(day(1)) && q.Until.Equal(day(16)) }, ""},
		{"times: until includes its second", QueryText{Since: "2026-11-29T04:28:39Z", Until: "2026-11-29T05:28:39+01:00"}, func(q Query) bool {
			return q.Since.Equal(time.Date(2026, 11, 29, 4, 28, 39, 0, time.UTC)) && q.Until.Equal(time.Date(2026, 11, 29, 4, 28, 40, 0, time.UTC))
		}, ""},
		{"status", QueryText{Status: "404"}, func(q Query) bool { return q.Status == 404 }, ""},
		{"class", QueryText{Status: "4xx"}, func(q Query) bool { return q.Status == 4 }, ""},
		{"path and errors", QueryText{Path: `^/r4\.2/`, Errors: true}, func(q Query) bool { return q.Path.MatchString("/r4.2/x") && q.Errors }, ""},
		{"bad address", QueryText{IPs: []string{"203.0.113.7", "example.org"}}, nil, "ip"},
		{"bad since", QueryText{Since: "yesterday"}, nil, "since"},
		{"bad until", QueryText{Until: "2026-13-01"}, nil, "until"},
		{"bad path", QueryText{Path: "("}, nil, "path"},
		{"bad class", QueryText{Status: "6xx"}, nil, "status"},
		{"bad status", QueryText{Status: "99"}, nil, "status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := ParseQuery(tt.text)
			var qe *QueryError
			switch {
			case tt.field == "" && err != nil:
				t.Fatalf("got %v, want no error", err)
			case tt.field != "" && (!errors.As(err, &qe) || qe.Field != tt.field):
				t.Fatalf("got %v, want an error of field %s", err, tt.field)
			case tt.field == "" && !tt.check(q):
				t.Errorf("got %+v", q)
			}
		})
	}
}

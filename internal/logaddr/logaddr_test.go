package logaddr

import (
	"net/netip"
	"testing"
)

func TestParseIPv4(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" means refused
	}{
		{"203.0.113.7", "203.0.113.7"},
		{"0.0.0.0", "0.0.0.0"},
		{"255.255.255.255", "255.255.255.255"},
		{"256.0.0.1", ""},
		{"010.0.0.1", ""},
		{"1.2.3", ""},
		{"1.2.3.4.5", ""},
		{"1..2.3", ""},
		{"1.2.3.", ""},
		{".1.2.3", ""},
		{"1.2.3.4 ", ""},
		{"1.2.3.1000", ""},
		{"::ffff:1.2.3.4", ""},
		{"example.org", ""},
		{"", ""},
	}
	for _, tt := range tests {
		a, ok := ParseIPv4([]byte(tt.in))
		got := ""
		if ok {
			got = V4(a).String()
		}
		if got != tt.want {
			t.Errorf("ParseIPv4(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseIPv4Value(t *testing.T) {
	for in, want := range map[string]uint32{"1.2.3.4": 0x01020304, "255.255.255.255": 0xffffffff, "0.0.0.0": 0} {
		if got, ok := ParseIPv4([]byte(in)); !ok || got != want {
			t.Errorf("ParseIPv4(%q) = %08x, %v; want %08x", in, got, ok, want)
		}
	}
}

func TestParse(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.7":     "203.0.113.7",
		"2001:db8::1":     "2001:db8::1",
		"fe80::1%eth0":    "fe80::1",
		"::ffff:1.2.3.4":  "::ffff:1.2.3.4",
		"example.org":     "",
		"2001:db8::zz":    "",
		"[2001:db8::1]":   "",
		"203.0.113.7:443": "",
	} {
		a, ok := Parse([]byte(in))
		got := ""
		if ok {
			got = a.String()
		}
		if got != want {
			t.Errorf("Parse(%q) = %q, want %q", in, got, want)
		}
	}
	if got := Uint32(netip.MustParseAddr("::ffff:1.2.3.4")); V4(got).String() != "1.2.3.4" {
		t.Errorf("Uint32 of a mapped address = %v", V4(got))
	}
}

func TestParseIPv4DoesNotAllocate(t *testing.T) {
	b := []byte("203.0.113.7")
	if n := testing.AllocsPerRun(100, func() { Parse(b) }); n != 0 {
		t.Errorf("Parse of an IPv4 address allocates %v times", n)
	}
}

func BenchmarkParseIPv4(b *testing.B) {
	in := []byte("203.0.113.77")
	b.ReportAllocs()
	for b.Loop() {
		ParseIPv4(in)
	}
}

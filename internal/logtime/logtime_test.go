package logtime

import (
	"testing"
	"time"
)

func TestAccessLogMatchesTimePackage(t *testing.T) {
	for _, s := range []string{
		"29/Feb/2024:23:59:59 +1400", "01/Jan/1970:00:00:00 +0000", "31/Dec/2099:12:00:00 -1200",
		"01/Mar/2000:00:00:00 +0530", "28/Feb/2100:01:02:03 -0045",
	} {
		want, err := time.Parse("02/Jan/2006:15:04:05 -0700", s)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := AccessLog([]byte(s)); !ok || got != want.Unix() {
			t.Errorf("AccessLog(%q) = %d, %v; want %d", s, got, ok, want.Unix())
		}
	}
	for _, s := range []string{"29/Feb/2100:00:00:00 +0000", "31/Nov/2026:00:00:00 +0000", "01/Foo/2026:00:00:00 +0000", "01/Jan/2026:24:00:00 +0000", "01/Jan/2026:00:00:00 0000"} {
		if _, ok := AccessLog([]byte(s)); ok {
			t.Errorf("AccessLog(%q) accepted", s)
		}
	}
}

func TestErrorLogMatchesTimePackage(t *testing.T) {
	for _, s := range []string{"2026/11/29 04:28:39", "2024/02/29 23:59:59", "1970/01/01 00:00:00"} {
		want, err := time.Parse("2006/01/02 15:04:05", s)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := ErrorLog([]byte(s)); !ok || got != want.Unix() {
			t.Errorf("ErrorLog(%q) = %d, %v; want %d", s, got, ok, want.Unix())
		}
	}
	for _, s := range []string{"2025/02/29 00:00:00", "2026/13/01 00:00:00", "2026-11-29 04:28:39", "2026/11/29 04:28"} {
		if _, ok := ErrorLog([]byte(s)); ok {
			t.Errorf("ErrorLog(%q) accepted", s)
		}
	}
}

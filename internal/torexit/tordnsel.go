package torexit

import (
	"bufio"
	"bytes"
	"io"
	"net/netip"
	"time"
)

// Entry is one TorDNSEL entry: an exit relay and the addresses it exits
// from. Times are UTC.
type Entry struct {
	Node       string
	Published  time.Time
	LastStatus time.Time
	Addrs      []netip.Addr
}

// File is what one TorDNSEL document held.
type File struct {
	// Downloaded is the document's "Downloaded" annotation, or the zero
	// time when it had none.
	Downloaded time.Time
	Entries    []Entry
	// Malformed counts entries that were skipped: a missing or unreadable
	// Published or LastStatus, no readable ExitAddress, or LastStatus
	// before Published.
	Malformed int
}

const timeLayout = "2006-01-02 15:04:05"

// Parse reads a TorDNSEL document. It never fails on content: unknown
// keywords are ignored and malformed entries are skipped and counted. The
// error is only ever a read error of r.
func Parse(r io.Reader) (*File, error) {
	f := &File{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	var cur *Entry
	bad := false
	flush := func() {
		if cur == nil {
			return
		}
		if bad || cur.Published.IsZero() || cur.LastStatus.IsZero() || len(cur.Addrs) == 0 ||
			cur.LastStatus.Before(cur.Published) {
			f.Malformed++
		} else {
			f.Entries = append(f.Entries, *cur)
		}
		cur, bad = nil, false
	}
	for sc.Scan() {
		line := bytes.TrimRight(sc.Bytes(), "\r")
		key, val, _ := bytes.Cut(line, []byte(" "))
		switch string(key) {
		case "@type":
			// "@type tordnsel 1.0": nothing to check beyond being a
			// document boundary; the format has had one version.
			flush()
		case "Downloaded":
			flush()
			if t, ok := parseTime(val); ok {
				f.Downloaded = t
			}
		case "ExitNode":
			flush()
			cur = &Entry{Node: string(val)}
		case "Published", "LastStatus":
			if cur == nil {
				continue // outside an entry: ignored like an unknown keyword
			}
			t, ok := parseTime(val)
			if !ok {
				bad = true
				continue
			}
			if string(key) == "Published" {
				cur.Published = t
			} else {
				cur.LastStatus = t
			}
		case "ExitAddress":
			if cur == nil {
				continue
			}
			addrText, _, _ := bytes.Cut(val, []byte(" "))
			a, err := netip.ParseAddr(string(addrText))
			if err != nil {
				bad = true
				continue
			}
			cur.Addrs = append(cur.Addrs, a.Unmap())
		}
	}
	flush()
	return f, sc.Err()
}

func parseTime(b []byte) (time.Time, bool) {
	t, err := time.Parse(timeLayout, string(bytes.TrimSpace(b)))
	return t, err == nil
}

package torexit

import (
	"bufio"
	"bytes"
	"fmt"
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

// Bounds on one TorDNSEL document. CollecTor's documents list a few
// thousand exit relays with one or two addresses each; these are far
// above that, and keep a hostile document (a small .tar.xz can hold
// millions of entries) from taking the machine's memory.
const (
	MaxDocumentEntries   = 50_000
	MaxDocumentAddresses = 100_000
)

// Parse reads a TorDNSEL document. Unknown keywords are ignored and
// malformed entries are skipped and counted; the error is a read error of
// r, a line longer than 1 MiB, or a document beyond MaxDocumentEntries
// entries or MaxDocumentAddresses addresses, which is not an exit list.
func Parse(r io.Reader) (*File, error) {
	f := &File{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	var cur *Entry
	bad := false
	addrs := 0
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
			if len(f.Entries)+f.Malformed >= MaxDocumentEntries {
				return nil, fmt.Errorf("more than %d entries (CollecTor's exit lists hold a few thousand): not a TorDNSEL exit list", MaxDocumentEntries)
			}
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
			if addrs++; addrs > MaxDocumentAddresses {
				return nil, fmt.Errorf("more than %d exit addresses (CollecTor's exit lists hold a few thousand): not a TorDNSEL exit list", MaxDocumentAddresses)
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

// Command genlog writes a deterministic synthetic access log in the
// combined format for benchmarking `depot stats update` against GoAccess:
// update checks of several releases from a pool of distinct addresses, mixed
// with other requests, errors, HEAD requests and a little garbage, spread in
// time order over three months. Nodes of one project are logs of different
// -seed over the same -addrs pool: their clients overlap as the clients of
// round-robin nodes do.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"time"
)

func main() {
	n := flag.Int("n", 5_000_000, "number of lines")
	addrs := flag.Int("addrs", 1_000_000, "size of the address pool")
	out := flag.String("o", "access.log", "output file")
	from := flag.String("from", "2026-09-01", "first day of the lines (UTC)")
	to := flag.String("to", "2026-12-01", "day after the last line (UTC)")
	seed := flag.Uint64("seed", 0, "another seed gives another log over the same address pool (another node)")
	flag.Parse()
	start, err1 := time.Parse(time.DateOnly, *from)
	end, err2 := time.Parse(time.DateOnly, *to)
	if err1 != nil || err2 != nil || !end.After(start) {
		fmt.Fprintln(os.Stderr, "genlog: -from and -to are YYYY-MM-DD, -to after -from")
		os.Exit(2)
	}
	if err := write(*out, *n, *addrs, *seed, start, end); err != nil {
		fmt.Fprintln(os.Stderr, "genlog:", err)
		os.Exit(1)
	}
}

func write(path string, n, pool int, seed uint64, start, end time.Time) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	rng := rand.New(rand.NewPCG(2026, 11+seed))
	span := end.Sub(start)
	releases := []string{"r4.1", "r4.2", "r4.2", "r4.3", "r4.3", "r4.3"}
	repos := []string{"current", "current-testing", "templates-itl", "templates-community"}
	agents := []string{
		"libdnf (Fedora 37; generic; Linux.x86_64)",
		"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
		"Debian APT-HTTP/1.3 (2.6.1)",
	}
	for i := 0; i < n; i++ {
		t := start.Add(time.Duration(int64(span) / int64(n) * int64(i)))
		// Addresses: a bijective scramble of 0..pool-1 into public-looking
		// space, so the set of distinct addresses is known and spread.
		k := uint32(rng.IntN(pool))
		a := k*2654435761 + 0x0b000000
		addr := fmt.Sprintf("%d.%d.%d.%d", a>>24, a>>16&255, a>>8&255, a&255)
		if rng.IntN(100) == 0 {
			addr = fmt.Sprintf("185.220.%d.%d", 100+rng.IntN(3), rng.IntN(256))
		}
		method, status := "GET", 200
		var target string
		switch r := rng.IntN(100); {
		case r < 55:
			file := "repomd.xml"
			if rng.IntN(3) == 0 {
				file = "repomd.xml.metalink"
			}
			prefix := ""
			if rng.IntN(4) == 0 {
				prefix = "/yum"
			}
			target = fmt.Sprintf("%s/%s/%s/vm/fc41/repodata/%s", prefix, releases[rng.IntN(len(releases))], repos[rng.IntN(len(repos))], file)
			if rng.IntN(5) == 0 {
				target += "?countme=1"
			}
			if rng.IntN(6) == 0 {
				status = 304
			}
		case r < 80:
			target = fmt.Sprintf("/r4.2/current/vm/fc41/rpm/pkg-%d.rpm", rng.IntN(5000))
		case r < 88:
			target, status = fmt.Sprintf("/r9.%d/current/repodata/repomd.xml", rng.IntN(10)), 404
		case r < 93:
			method, target = "HEAD", "/iso/Qubes-R4.2.4-x86_64.iso"
		case r < 99:
			target = "/"
		default:
			fmt.Fprintf(w, "garbage line %d without structure\n", i)
			continue
		}
		fmt.Fprintf(w, "%s - - [%s] \"%s %s HTTP/1.1\" %d %d \"-\" \"%s\"\n",
			addr, t.Format("02/Jan/2006:15:04:05 -0700"), method, target, status, 1000+rng.IntN(5000), agents[rng.IntN(len(agents))])
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

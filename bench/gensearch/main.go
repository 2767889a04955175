// Command gensearch writes a deterministic month of access logs for the
// logs-search benchmark: one file per day, named and compressed as depot's
// rotation does (access.log-YYYYMMDD.gz, indexed gzip). With -plain-gzip it
// also writes the same days as ordinary gzip -6 files, as nginx plus
// logrotate would.
//
// The address 203.0.113.77 (the one to search for) is planted on three
// days, 198.51.100.1 on 1% of all lines; every other address comes from a
// fixed pool with a skewed popularity, like a repository's clients.
package main

import (
	"bufio"
	"compress/gzip"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"depot/internal/logfiles"
)

// Needle is the planted rare address; Busy is on 1% of every day's lines,
// so that no block can be skipped for it.
const (
	Needle = "203.0.113.77"
	Busy   = "198.51.100.1"
)

func main() {
	dir := flag.String("dir", "bench-logs", "output `DIR`ectory for depot's indexed .gz files")
	plain := flag.String("plain-gzip", "", "also write ordinary gzip files to `DIR`")
	days := flag.Int("days", 30, "days of logs")
	perDay := flag.Int("lines", 220000, "lines per day")
	flag.Parse()
	for _, d := range []string{*dir, *plain} {
		if d != "" {
			if err := os.MkdirAll(d, 0o755); err != nil {
				fail(err)
			}
		}
	}
	start := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2)
	errs := make(chan error, *days)
	for d := range *days {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs <- writeDay(*dir, *plain, start.AddDate(0, 0, d), d, *perDay)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			fail(err)
		}
	}
}

var (
	paths = []string{
		"/r4.2/current/host/fc37/repodata/repomd.xml.metalink",
		"/r4.2/current/host/fc37/repodata/repomd.xml",
		"/r4.2/current/vm/fc40/repodata/primary.xml.zst",
		"/r4.2/current/vm/fc40/rpm/qubes-core-agent-4.2.36-1.fc40.x86_64.rpm",
		"/deb/r4.2/vm/dists/bookworm/InRelease",
		"/deb/r4.2/vm/pool/main/q/qubes-core-agent/qubes-core-agent_4.2.36-1+deb12u1_amd64.deb",
		"/iso/Qubes-R4.2.3-x86_64.iso",
		"/downloads/",
		"/news/2026/11/20/qsb-107/",
	}
	agents = []string{
		"libdnf (Fedora 37; generic; Linux.x86_64)",
		"libdnf (Fedora 40; generic; Linux.x86_64)",
		"Debian APT-HTTP/1.3 (2.6.1)",
		"Mozilla/5.0 (Windows NT 10.0; rv:128.0) Gecko/20100101 Firefox/128.0",
		"curl/8.5.0",
	}
	statuses = []int{200, 200, 200, 200, 304, 304, 206, 404, 301}
)

func writeDay(dir, plainDir string, day time.Time, n, lines int) error {
	rng := rand.New(rand.NewPCG(uint64(n), 42))
	name := "access.log-" + day.Format("20060102")
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var (
		plainF  *os.File
		plainBW *bufio.Writer
		plainW  *gzip.Writer
	)
	out := io.Writer(w)
	if plainDir != "" {
		if plainF, err = os.Create(filepath.Join(plainDir, name+".gz")); err != nil {
			return err
		}
		plainBW = bufio.NewWriterSize(plainF, 1<<20)
		plainW, _ = gzip.NewWriterLevel(plainBW, 6)
		out = io.MultiWriter(w, plainW)
	}
	planted := n == 3 || n == 17 || n == 28
	buf := make([]byte, 0, 512)
	for i := range lines {
		at := day.Add(time.Duration(int64(i) * int64(24*time.Hour) / int64(lines)))
		buf = buf[:0]
		switch {
		case planted && i%4000 == 7:
			buf = append(buf, Needle...)
		case i%100 == 3:
			buf = append(buf, Busy...)
		case rng.IntN(10) == 0:
			buf = fmt.Appendf(buf, "2001:db8:%x:%x::%x", rng.IntN(64), rng.IntN(4096), rng.IntN(65536))
		default:
			// Skewed pool of about 260,000 IPv4 clients.
			k := int(rng.ExpFloat64() * 40000)
			buf = fmt.Appendf(buf, "%d.%d.%d.%d", 11+k%180, (k/180)%256, (k/7)%256, 1+k%253)
		}
		buf = append(buf, " - - ["...)
		buf = at.AppendFormat(buf, "02/Jan/2006:15:04:05 -0700")
		buf = append(buf, "] \"GET "...)
		buf = append(buf, paths[rng.IntN(len(paths))]...)
		buf = append(buf, " HTTP/1.1\" "...)
		buf = strconv.AppendInt(buf, int64(statuses[rng.IntN(len(statuses))]), 10)
		buf = append(buf, ' ')
		buf = strconv.AppendInt(buf, int64(rng.IntN(5_000_000)), 10)
		buf = append(buf, " \"-\" \""...)
		buf = append(buf, agents[rng.IntN(len(agents))]...)
		buf = append(buf, "\"\n"...)
		if _, err := out.Write(buf); err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if plainW != nil {
		if err := plainW.Close(); err != nil {
			return err
		}
		if err := plainBW.Flush(); err != nil {
			return err
		}
		if err := plainF.Close(); err != nil {
			return err
		}
	}
	return logfiles.CompressFile(path)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gensearch:", err)
	os.Exit(1)
}

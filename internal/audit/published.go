package audit

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"depot/internal/config"
	"depot/internal/mirrors"
	"depot/internal/stats"
)

// published is one thing depot publishes, read whole.
type published struct {
	name string // a path or a URL
	body []byte
}

// publishedBytes gathers everything depot publishes that is computed
// from the logs: the statistics data file, page, chart (SVG, and PNG text
// chunks) and JSON, the mirror status page and JSON, and any chart or
// JSON file in a site root (depot stats update --chart writes there). With
// live, the pages are fetched from the running server; without, rendered
// in-process from the same data, or read as the files they come from.
func publishedBytes(ctx context.Context, cfg *config.Config, live bool) ([]published, []string) {
	var out []published
	var errs []string
	readFile := func(p string) {
		b, err := os.ReadFile(p)
		if err == nil {
			out = append(out, published{name: p, body: textOf(p, b)})
		} else if !os.IsNotExist(err) {
			errs = append(errs, err.Error())
		}
	}
	readFile(cfg.Stats.Data)
	readFile(mirrors.StateFile(cfg))

	l := pageListener(cfg, false)
	if l == nil {
		l = pageListener(cfg, true)
	}
	for i, s := range cfg.Site {
		var names []string
		if s.StatsPath != "" {
			for _, n := range []string{"", "stats.json", "stats.svg", "stats.png"} {
				names = append(names, s.StatsPath+n)
			}
		}
		if s.MirrorStatusPath != "" && live {
			names = append(names, s.MirrorStatusPath, s.MirrorStatusPath+"status.json")
		}
		for _, p := range names {
			if live && l != nil {
				a, err := fetch(ctx, *l, http.MethodGet, siteHost(cfg, i), p)
				switch {
				case err != nil:
					errs = append(errs, err.Error())
				case a.status == http.StatusOK:
					out = append(out, published{name: "site[" + fmt.Sprint(i) + "] " + p, body: textOf(p, a.body)})
				case a.status != http.StatusNotFound:
					errs = append(errs, fmt.Sprintf("site[%d] %s answers %d", i, p, a.status))
				}
				continue
			}
			// Offline: the same handler serve mounts, on the same data file.
			page := stats.NewPage(stats.PageOptions{DataFile: cfg.Stats.Data, Prefix: s.StatsPath})
			rec := httptest.NewRecorder()
			page.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, p, nil))
			if rec.Code == http.StatusOK {
				out = append(out, published{name: "site[" + fmt.Sprint(i) + "] " + p + " (rendered)", body: textOf(p, rec.Body.Bytes())})
			}
		}
		walkPublishedFiles(s.Root, func(p string) { readFile(p) })
	}
	return out, errs
}

// walkPublishedFiles calls fn for every chart or JSON file in a site root.
func walkPublishedFiles(root string, fn func(string)) {
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".svg", ".png", ".json":
			if d.Type().IsRegular() {
				fn(p)
			}
		}
		return nil
	})
}

// textOf is what of a published resource can carry text: a PNG's text
// chunks, anything else whole.
func textOf(name string, b []byte) []byte {
	if strings.HasSuffix(strings.ToLower(name), ".png") || bytes.HasPrefix(b, pngMagic) {
		return pngText(b)
	}
	return b
}

var pngMagic = []byte("\x89PNG\r\n\x1a\n")

// pngText returns the text of a PNG's tEXt, zTXt and iTXt chunks, one per
// line; the pixels hold none.
func pngText(b []byte) []byte {
	var out bytes.Buffer
	if !bytes.HasPrefix(b, pngMagic) {
		return b // not a PNG after all: scan every byte
	}
	b = b[len(pngMagic):]
	for len(b) >= 12 {
		n := binary.BigEndian.Uint32(b)
		if uint64(n) > uint64(len(b)-12) {
			out.Write(b) // a broken chunk: scan what is left
			break
		}
		typ, data := string(b[4:8]), b[8:8+n]
		b = b[12+n:]
		switch typ {
		case "tEXt":
			out.Write(data)
		case "zTXt":
			if k := bytes.IndexByte(data, 0); k >= 0 && k+2 <= len(data) {
				out.Write(data[:k])
				out.WriteByte(' ')
				out.Write(inflate(data[k+2:]))
			}
		case "iTXt":
			// keyword\0 flag method lang\0 translated\0 text
			if k := bytes.IndexByte(data, 0); k >= 0 && k+3 <= len(data) {
				compressed := data[k+1] == 1
				rest := data[k+3:]
				out.Write(data[:k])
				for range 2 {
					if z := bytes.IndexByte(rest, 0); z >= 0 {
						out.WriteByte(' ')
						out.Write(rest[:z])
						rest = rest[z+1:]
					}
				}
				out.WriteByte(' ')
				if compressed {
					rest = inflate(rest)
				}
				out.Write(rest)
			}
		default:
			continue
		}
		out.WriteByte('\n')
	}
	return out.Bytes()
}

// inflate decompresses a zlib stream, or returns it as it is if it is not
// one (its bytes are then scanned raw).
func inflate(b []byte) []byte {
	zr, err := zlib.NewReader(bytes.NewReader(b))
	if err != nil {
		return b
	}
	defer zr.Close()
	out, err := io.ReadAll(zr)
	if err != nil {
		return append(out, b...)
	}
	return out
}

// configured are the addresses the configuration itself names (mirrors,
// listeners, base URLs, the proxy's upstream): published pages name them
// on purpose, and they are not client data even when they also appear in
// the logs.
func configured(cfg *config.Config) []netip.Addr {
	var out []netip.Addr
	add := func(h string) {
		if a, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil {
			out = append(out, a)
		}
	}
	for _, m := range cfg.Mirror {
		for _, u := range []string{m.URL, m.Onion} {
			h, _ := urlHostPort(u)
			add(h)
		}
	}
	for _, s := range cfg.Site {
		h, _ := urlHostPort(s.BaseURL)
		add(h)
	}
	h, _ := urlHostPort(cfg.Proxy.Upstream)
	add(h)
	return out
}

// checkPublished scans every published byte for every client address of
// the logs.
func checkPublished(ctx context.Context, cfg *config.Config, live bool, cl *clients) Result {
	r := Result{ID: "published-no-address", Policy: policyShare}
	for _, a := range configured(cfg) {
		cl.remove(a)
	}
	pubs, errs := publishedBytes(ctx, cfg, live)
	var found []string
	size := 0
	for _, p := range pubs {
		size += len(p.body)
		if ms := cl.scan(p.body); len(ms) > 0 {
			var s []string
			for _, m := range ms {
				s = append(s, m.String())
			}
			found = append(found, fmt.Sprintf("%s holds %d client address(es) of the logs: %s", p.name, len(ms), strings.Join(first(s, 5), ", ")))
		}
	}
	switch {
	case len(found) > 0:
		r.Status = Fail
		r.Detail = strings.Join(found, "; ") + "; publish aggregates only: remove them and find what wrote them"
	case len(errs) > 0:
		r.Status, r.Detail = Fail, "cannot read what is published: "+strings.Join(errs, "; ")
	case len(pubs) == 0:
		r.Status, r.Detail = Pass, "depot publishes nothing computed from the logs (no statistics data, no mirror state)"
	default:
		var names []string
		for _, p := range pubs {
			names = append(names, p.name)
		}
		r.Status = Pass
		r.Detail = fmt.Sprintf("%d bytes of %s hold none of the %d client addresses (IPv4 in any spelling, IPv6 by /64 and /48) of the logs",
			size, strings.Join(first(names, 8), ", "), cl.len())
	}
	return r
}

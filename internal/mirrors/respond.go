package mirrors

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"depot/internal/config"
	"depot/internal/metalink"
	"depot/internal/responder"
	"depot/internal/sitepath"
)

// Responders returns the responders of one site, in the order they are
// asked: the status page, metalinks, Metalink 4, redirects. Each is
// present only if the site enables it. Pass it as
// server.Options.Responders.
func (s *Service) Responders(site config.Site) []responder.Responder {
	var rs []responder.Responder
	if site.MirrorStatusPath != "" {
		rs = append(rs, statusResponder{s: s, prefix: site.MirrorStatusPath})
	}
	if site.Metalinks {
		rs = append(rs, metalinkResponder{s: s, site: site})
	}
	if site.Metalinks || site.Redirect {
		rs = append(rs, meta4Responder{s: s, site: site})
	}
	if site.Redirect {
		rs = append(rs, redirectResponder{s: s, site: site})
	}
	return rs
}

// treeName turns a URL path into a tree path, or reports false for paths
// the responders must not answer: those the site's resolver refuses
// (sitepath.Resolve: traversal, hidden entries), which the site answers
// with its usual 400 or 404, and those it would have to clean first
// ("//x", "/x/", "/./x"), which the site answers as it answers them.
func treeName(urlPath string) (string, bool) {
	name, err := sitepath.Resolve(urlPath)
	if err != nil || name == "." || "/"+name != urlPath {
		return "", false
	}
	return name, true
}

// stat looks name up in the site root; only regular files count.
func (s *Service) stat(root, name string) (os.FileInfo, bool) {
	r, err := s.root(root)
	if err != nil {
		return nil, false
	}
	fi, err := r.Stat(name)
	if err != nil || !fi.Mode().IsRegular() {
		return nil, false
	}
	return fi, true
}

func writeBody(w http.ResponseWriter, r *http.Request, contentType string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	// A metalink describes the origin and the mirrors now; clients must
	// ask again rather than reuse an old one.
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// metalinkResponder answers .../repodata/repomd.xml.metalink.
type metalinkResponder struct {
	s    *Service
	site config.Site
}

const metalinkSuffix = "/repodata/repomd.xml.metalink"

func (m metalinkResponder) Respond(w http.ResponseWriter, r *http.Request) (bool, error) {
	if !strings.HasSuffix(r.URL.Path, metalinkSuffix) {
		return false, nil
	}
	mlName, ok := treeName(r.URL.Path)
	if !ok {
		return false, nil
	}
	name := strings.TrimSuffix(mlName, ".metalink")
	body, err := m.s.Metalink(m.site, name, r.URL.Query().Get("country"), responder.IsOnion(r))
	if body == nil && err == nil {
		return false, nil // no repomd.xml here: the site answers 404
	}
	if busy(w, err) {
		return true, nil
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError)
		return true, err
	}
	writeBody(w, r, metalink.ContentType3, body)
	return true, nil
}

// Metalink returns the Metalink 3 document of the repomd.xml at tree path
// name of site, or nil if there is no such file. It comes from the cache
// when neither the file nor the mirror state changed. country ("DE") puts
// the client's country and continent first; it may be empty. onion says
// the request arrived on an onion listener (responder.IsOnion).
func (s *Service) Metalink(site config.Site, name string, country string, onion bool) ([]byte, error) {
	country = s.knownCountry(country)
	key := "3|" + site.Root + "|" + name + "|" + country + "|" + strconv.FormatBool(onion)
	now := s.opts.Now()
	s.expire(now)
	gen := s.gen.Load()
	if body := s.caches.recent(key, gen, now); body != nil {
		return body, nil
	}
	fi, ok := s.stat(site.Root, name)
	if !ok {
		return nil, nil
	}
	if body := s.caches.get(key, gen, fi.ModTime(), fi.Size(), inode(fi), now); body != nil {
		return body, nil
	}
	f, err := s.refresh(site.Root, name, KindYum)
	if err != nil {
		return nil, err
	}
	gen = s.gen.Load() // refresh may have bumped it
	s.mu.Lock()
	cur, _ := f.Current()
	mf := metalink.File{Name: path.Base(name), Current: cur.Version}
	for _, v := range f.Recent(now, s.opts.Window) {
		mf.Alternates = append(mf.Alternates, v.Version)
	}
	mf.URLs = urls(s.candidates(name, f, true, country), name, site, onion)
	modTime, size, ino := f.ModTime, f.Size, f.Inode
	s.mu.Unlock()
	body := metalink.AppendV3(make([]byte, 0, 2048), &mf, now, s.opts.Generator)
	s.caches.put(key, &entry{gen: gen, modTime: modTime, size: size, inode: ino, built: now, statted: now, body: body})
	return body, nil
}

// meta4Responder answers FILE.meta4 for files that have no such file on
// disk.
type meta4Responder struct {
	s    *Service
	site config.Site
}

func (m meta4Responder) Respond(w http.ResponseWriter, r *http.Request) (bool, error) {
	if !strings.HasSuffix(r.URL.Path, ".meta4") {
		return false, nil
	}
	m4Name, ok := treeName(r.URL.Path)
	if !ok {
		return false, nil
	}
	if _, exists := m.s.stat(m.site.Root, m4Name); exists {
		return false, nil // a real .meta4 file is served as it is
	}
	name := strings.TrimSuffix(m4Name, ".meta4")
	fi, ok := m.s.stat(m.site.Root, name)
	if !ok {
		return false, nil
	}
	body, err := m.s.Meta4(m.site, name, fi, r.URL.Query().Get("country"), responder.IsOnion(r))
	if busy(w, err) {
		return true, nil
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError)
		return true, err
	}
	writeBody(w, r, metalink.ContentType4, body)
	return true, nil
}

// Meta4 returns the Metalink 4 document of the file at tree path name of
// site: its size and SHA-256, the mirrors verified to hold it, and the
// site's base URL last (onion addresses only, for onion clients).
func (s *Service) Meta4(site config.Site, name string, fi os.FileInfo, country string, onion bool) ([]byte, error) {
	country = s.knownCountry(country)
	key := "4|" + site.Root + "|" + name + "|" + country + "|" + strconv.FormatBool(onion)
	now := s.opts.Now()
	s.expire(now)
	gen := s.gen.Load()
	if body := s.caches.get(key, gen, fi.ModTime(), fi.Size(), inode(fi), now); body != nil {
		return body, nil
	}
	mf := metalink.File4{Name: path.Base(name), Size: fi.Size()}
	kind := kindOf(name)
	if kind != "" {
		f, err := s.refresh(site.Root, name, kind)
		if err != nil {
			return nil, err
		}
		gen = s.gen.Load()
		s.mu.Lock()
		cur, _ := f.Current()
		mf.Size, mf.SHA256 = cur.Size, cur.Hashes.SHA256
		mf.URLs = urls(s.candidates(name, f, false, country), name, site, onion)
		s.mu.Unlock()
	} else {
		sha, err := s.sum(site.Root, name, fi)
		if err != nil {
			return nil, err
		}
		mf.SHA256 = sha
		mf.URLs = urls(nil, name, site, onion)
	}
	body := metalink.AppendV4(make([]byte, 0, 1024), &mf, now, s.opts.Generator)
	s.caches.put(key, &entry{gen: gen, modTime: fi.ModTime(), size: fi.Size(), inode: inode(fi), built: now, body: body})
	return body, nil
}

// sum is the SHA-256 of a file that is not tracked in the state, hashed
// once per version (see hashes) and kept in the sums cache.
func (s *Service) sum(root, name string, fi os.FileInfo) (string, error) {
	key := root + "|" + name
	if sha, ok := s.caches.getSum(key, fi.ModTime(), fi.Size(), inode(fi)); ok {
		return sha, nil
	}
	err := s.hashes.do(versionKey(root, name, fi), func() error {
		if _, ok := s.caches.getSum(key, fi.ModTime(), fi.Size(), inode(fi)); ok {
			return nil // hashed by a run that ended as this one began
		}
		r, err := s.root(root)
		if err != nil {
			return err
		}
		v, hfi, err := hashFile(r, name, "")
		if err != nil {
			return err
		}
		s.caches.putSum(key, sum{modTime: hfi.ModTime(), size: hfi.Size(), inode: inode(hfi), sha256: v.Hashes.SHA256})
		return nil
	})
	if err != nil {
		return "", err
	}
	sha, ok := s.caches.getSum(key, fi.ModTime(), fi.Size(), inode(fi))
	if !ok {
		// The file changed while it was hashed: what was hashed is not
		// what fi describes. The next request hashes the new version.
		return "", fmt.Errorf("%s changed while it was hashed", name)
	}
	return sha, nil
}

// busy answers a request that found every hashing slot taken: 503 with
// Retry-After (RFC 9110 §15.6.4, §10.2.3).
func busy(w http.ResponseWriter, err error) bool {
	if !errors.Is(err, errBusy) {
		return false
	}
	w.Header().Set("Retry-After", strconv.Itoa(int(DefaultHashWait/time.Second)))
	writeError(w, http.StatusServiceUnavailable)
	return true
}

// redirectResponder sends GETs of large checked files to a mirror verified
// to hold exactly the origin's current version.
type redirectResponder struct {
	s    *Service
	site config.Site
}

func (rr redirectResponder) Respond(w http.ResponseWriter, r *http.Request) (bool, error) {
	name, ok := treeName(r.URL.Path)
	if !ok {
		return false, nil
	}
	kind := kindOf(name)
	if kind == "" {
		return false, nil // not checked on mirrors, so never verified
	}
	fi, ok := rr.s.stat(rr.site.Root, name)
	if !ok || fi.Size() < int64(rr.site.RedirectMinSize) {
		return false, nil
	}
	target := rr.s.RedirectTarget(rr.site, name, fi, responder.IsOnion(r))
	if target == "" {
		return false, nil // no verified mirror: served here
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, target, http.StatusFound) // RFC 9110 §15.4.3
	return true, nil
}

// RedirectTarget returns the URL of a mirror verified to hold the file at
// tree path name exactly as the origin holds it now (fi), or "" if there is
// none. Verification is of the state's version of the file: if the file
// changed on disk since it was hashed, nothing is verified. For onion
// clients only mirrors' onion addresses are offered.
func (s *Service) RedirectTarget(site config.Site, name string, fi os.FileInfo, onion bool) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.state.Files[name]
	if f == nil || f.Root != site.Root || f.Size != fi.Size() || !f.ModTime.Equal(fi.ModTime()) {
		return ""
	}
	var bases []string
	for _, c := range s.candidates(name, f, false, "") {
		if !onion {
			bases = append(bases, c.m.URL)
		} else if c.m.Onion != "" {
			bases = append(bases, c.m.Onion)
		}
	}
	if len(bases) == 0 {
		return ""
	}
	i := s.counter.Add(1) % uint64(len(bases))
	return mirrorURL(bases[i], name)
}

// writeError writes a short generic error; the detail goes to the error
// log through the returned error, never to the client.
func writeError(w http.ResponseWriter, status int) {
	http.Error(w, http.StatusText(status), status)
}

package torexit

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"depot/internal/month"
)

// sharedExitLists is in the shared case, copied into the repository.
const sharedExitLists = "../../testdata/qubes-method/exit-lists"

func copyDir(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatalf("shared exit lists not available (they live in the repository, at testdata/qubes-method/exit-lists): %v", err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func TestLoadArchivesAndPlainFiles(t *testing.T) {
	dir := copyDir(t, sharedExitLists)
	// A plain file in a subdirectory, named as CollecTor names them.
	sub := filepath.Join(dir, "recent")
	os.MkdirAll(sub, 0o755)
	os.WriteFile(filepath.Join(sub, "2026-11-20-10-00-00"), []byte("@type tordnsel 1.0\nExitNode A\nPublished 2026-11-20 09:00:00\nLastStatus 2026-11-20 10:00:00\nExitAddress 198.51.100.9 2026-11-20 09:30:00\n"), 0o644)
	// Far outside the window: skipped unread even though it is garbage.
	os.WriteFile(filepath.Join(sub, "2020-01-01-00-00-00"), []byte("ExitNode A\nPublished 2020-01-01 00:00:00\nLastStatus 2020-01-01 00:00:00\nExitAddress 198.51.100.10 x\n"), 0o644)

	from := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	s, err := Load(context.Background(), dir, from, from.AddDate(0, 2, 0))
	if err != nil {
		t.Fatal(err)
	}
	if s.Files < 100 {
		t.Errorf("got %d files, want the archives' documents", s.Files)
	}
	if !s.IsTor(netip.MustParseAddr("198.51.100.9"), time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)) {
		t.Error("plain file below the directory was not read")
	}
	if s.IsTor(netip.MustParseAddr("198.51.100.10"), time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Error("file outside the window was read")
	}
	if !s.IsTor(netip.MustParseAddr("185.220.102.174"), time.Date(2026, 10, 5, 12, 0, 0, 0, time.UTC)) {
		t.Error("archive entry not found")
	}
}

func TestLoadCorruptArchive(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "exit-list-2026-10.tar.xz"), []byte("not xz at all"), 0o644)
	from := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	_, err := Load(context.Background(), dir, from, from.AddDate(0, 1, 0))
	if err == nil || !strings.Contains(err.Error(), "exit-list-2026-10.tar.xz") {
		t.Errorf("got %v, want an error naming the archive", err)
	}
}

func TestLoadMissingDir(t *testing.T) {
	_, err := Load(context.Background(), filepath.Join(t.TempDir(), "nope"), time.Now(), time.Now())
	if err == nil {
		t.Error("a missing directory was accepted")
	}
}

func TestFetch(t *testing.T) {
	archive, err := os.ReadFile(filepath.Join(sharedExitLists, "exit-list-2026-10.tar.xz"))
	if err != nil {
		t.Fatal(err)
	}
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch r.URL.Path {
		case "/archive/exit-lists/exit-list-2026-10.tar.xz":
			w.Write(archive)
		case "/recent/exit-lists/":
			w.Write([]byte(`<a href="2026-11-28-10-02-00">2026-11-28-10-02-00</a> <a href="../">..</a>`))
		case "/recent/exit-lists/2026-11-28-10-02-00":
			w.Write([]byte("@type tordnsel 1.0\nDownloaded 2026-11-28 10:02:00\n"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	f := &Fetcher{Client: srv.Client(), BaseURL: srv.URL + "/", Dir: dir}
	now := time.Date(2026, 11, 29, 4, 0, 0, 0, time.UTC)
	rep, err := f.Fetch(context.Background(), []month.Month{month.MustParse("2026-10"), month.MustParse("2026-11")}, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Archives) != 1 || rep.Archives[0] != month.MustParse("2026-10") || rep.Recent != 1 {
		t.Errorf("got %+v, want the 2026-10 archive and one recent file", rep)
	}
	if _, err := os.Stat(filepath.Join(dir, "recent", "2026-11-28-10-02-00")); err != nil {
		t.Error(err)
	}
	// A second run downloads nothing again.
	before := hits.Load()
	rep, err = f.Fetch(context.Background(), []month.Month{month.MustParse("2026-10")}, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Archives) != 0 {
		t.Errorf("archive downloaded twice: %+v", rep)
	}
	_ = before
}

func TestFetchOffline(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	f := &Fetcher{BaseURL: "http://" + addr + "/", Dir: t.TempDir()}
	_, err = f.Fetch(context.Background(), []month.Month{month.MustParse("2026-10")}, time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC))
	if err == nil || !strings.Contains(err.Error(), "offline") || !strings.Contains(err.Error(), "without --fetch") {
		t.Errorf("got %v, want an error that says what to do offline", err)
	}
}

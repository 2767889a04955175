package mirrors

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"depot/internal/config"
	"depot/internal/metalink"
	"depot/internal/mirrors/mirrorstest"
)

func TestStateSurvivesRestart(t *testing.T) {
	fx := newFixture(t, originFiles())
	mdir := filepath.Join(t.TempDir(), "m")
	copyTree(t, fx.root, mdir)
	fx.cfg.Mirror = []config.Mirror{{Name: "m", URL: mirrorstest.Dir(t, mdir).URL}}
	fx.svc.Reload(fx.cfg)
	if _, err := fx.svc.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	before := fx.svc.Status()
	fx.svc.Close()

	again := fx.open(t, time.Second)
	after := again.Status()
	if len(after.Files) != 3 || len(after.Mirrors) != 1 || !after.Mirrors[0].Trusted {
		t.Fatalf("after restart: %+v", after)
	}
	if fmt.Sprint(before.Mirrors[0].Files) != fmt.Sprint(after.Mirrors[0].Files) {
		t.Errorf("state changed across a restart:\n%v\n%v", before.Mirrors[0].Files, after.Mirrors[0].Files)
	}
	// Saved atomically: no temporary file is left behind.
	entries, _ := os.ReadDir(filepath.Dir(StateFile(fx.cfg)))
	if len(entries) != 1 {
		t.Errorf("state directory holds %d entries, want state.json alone", len(entries))
	}
}

func TestCorruptStateMovedAside(t *testing.T) {
	fx := newFixture(t, originFiles())
	file := StateFile(fx.cfg)
	os.MkdirAll(filepath.Dir(file), 0o755)
	os.WriteFile(file, []byte("{not json"), 0o644)
	var warnings []error
	svc, err := New(fx.cfg, Options{Now: fx.clock.Now, Warn: func(err error) { warnings = append(warnings, err) }})
	if err != nil || svc == nil {
		t.Fatalf("got %v, %v; want a usable service and no error", svc, err)
	}
	defer svc.Close()
	if len(warnings) != 1 || !strings.Contains(warnings[0].Error(), file+".corrupt") {
		t.Errorf("warnings: %v; want one that names %s.corrupt", warnings, file)
	}
	if _, err := os.Stat(file + ".corrupt"); err != nil {
		t.Errorf("corrupt state not kept aside: %v", err)
	}
}

// TestUnreadableStateIsAnError: a state file that cannot be read at all
// (here a directory in its place) stops New, and no Service comes with
// the error.
func TestUnreadableStateIsAnError(t *testing.T) {
	fx := newFixture(t, originFiles())
	file := StateFile(fx.cfg)
	if err := os.MkdirAll(file, 0o755); err != nil {
		t.Fatal(err)
	}
	svc, err := New(fx.cfg, Options{Now: fx.clock.Now, Warn: func(err error) { t.Errorf("warned %v; want an error", err) }})
	if err == nil || svc != nil {
		t.Fatalf("got %v, %v; want no service and an error", svc, err)
	}
}

func TestHistoryBounded(t *testing.T) {
	f := &OriginFile{}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := start
	for i := range 100 {
		now = now.Add(time.Hour)
		f.record(metalink.Version{Hashes: metalink.Hashes{SHA256: fmt.Sprint(i)}}, now, 16, 7*24*time.Hour)
	}
	if len(f.Versions) != 16 || f.Versions[0].Hashes.SHA256 != "99" {
		t.Fatalf("got %d versions, newest %q; want 16 with 99 first", len(f.Versions), f.Versions[0].Hashes.SHA256)
	}
	// A day later only what was superseded within MaxAge remains.
	f.prune(now.Add(24*time.Hour), 16, 30*time.Hour)
	if len(f.Versions) != 8 {
		t.Errorf("after ageing: %d versions, want the current one and the 7 superseded within 30 h", len(f.Versions))
	}
	// Recording the current content again changes nothing; a rollback
	// makes an old content current without duplicating it.
	if f.record(metalink.Version{Hashes: metalink.Hashes{SHA256: "99"}}, now, 16, time.Hour) {
		t.Error("recording the current version again reported a change")
	}
	f.record(metalink.Version{Hashes: metalink.Hashes{SHA256: "98"}}, now, 16, 1000*time.Hour)
	seen := map[string]bool{}
	for _, v := range f.Versions {
		if seen[v.Hashes.SHA256] {
			t.Errorf("version %s twice", v.Hashes.SHA256)
		}
		seen[v.Hashes.SHA256] = true
	}
}

// TestForgetsRemoved: mirrors and files that go away leave the state.
func TestForgetsRemoved(t *testing.T) {
	fx := newFixture(t, originFiles())
	fx.cfg.Mirror = []config.Mirror{{Name: "a", URL: mirrorstest.Refusing(t)}, {Name: "b", URL: mirrorstest.Refusing(t)}}
	fx.svc.Reload(fx.cfg)
	fx.svc.Check(context.Background())
	fx.cfg.Mirror = fx.cfg.Mirror[:1]
	os.Remove(filepath.Join(fx.root, "iso/Qubes-R4.2.iso"))
	fx.svc.Reload(fx.cfg)
	fx.svc.Check(context.Background())
	if n := len(fx.svc.state.Mirrors); n != 1 {
		t.Errorf("%d mirrors in state, want 1", n)
	}
	if n := len(fx.svc.state.Files); n != 2 {
		t.Errorf("%d files in state, want 2", n)
	}
}

// TestReloadForgetsMovedMirror: a mirror whose URL changes is not trusted
// on the strength of checks of its old address.
func TestReloadForgetsMovedMirror(t *testing.T) {
	fx := newFixture(t, originFiles())
	mdir := filepath.Join(t.TempDir(), "m")
	copyTree(t, fx.root, mdir)
	fx.cfg.Mirror = []config.Mirror{{Name: "m", URL: mirrorstest.Dir(t, mdir).URL}}
	fx.svc.Reload(fx.cfg)
	fx.svc.Check(context.Background())
	if !fx.svc.Status().Mirrors[0].Trusted {
		t.Fatal("mirror not trusted after a good check")
	}
	moved := *fx.cfg
	moved.Mirror = []config.Mirror{{Name: "m", URL: "https://elsewhere.example/"}}
	fx.svc.Reload(&moved)
	if fx.svc.Status().Mirrors[0].Trusted {
		t.Error("mirror still trusted after its URL changed")
	}
}

// TestStateNeverWrittenThroughALink: data_dir/mirrors replaced by a
// symbolic link (data_dir writable by others, which depot check only
// warns about) made the root-run server write state.json into the
// directory the link names. The state is refused there instead.
func TestStateNeverWrittenThroughALink(t *testing.T) {
	fx := newFixture(t, originFiles())
	mdir := filepath.Join(t.TempDir(), "m")
	copyTree(t, fx.root, mdir)
	fx.cfg.Mirror = []config.Mirror{{Name: "m", URL: mirrorstest.Dir(t, mdir).URL}}
	fx.svc.Reload(fx.cfg)
	victims := t.TempDir()
	dir := filepath.Dir(StateFile(fx.cfg))
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victims, dir); err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(victims, "state.json")
	if err := os.WriteFile(victim, []byte("another program's state"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := fx.svc.Check(context.Background()); err == nil {
		t.Error("a check saved its state through a symbolic link without an error")
	}
	// A restart reads the state: the file the link names is not read as
	// depot's, nor moved aside as a corrupt one.
	if svc, err := New(fx.cfg, Options{Now: fx.clock.Now}); err == nil {
		svc.Close()
	}
	if b, err := os.ReadFile(victim); err != nil || string(b) != "another program's state" {
		t.Errorf("the file the link names: %q, %v; want it untouched", b, err)
	}
	if entries, _ := os.ReadDir(victims); len(entries) != 1 {
		t.Errorf("the directory the link names holds %v, want its own file alone", entries)
	}
}

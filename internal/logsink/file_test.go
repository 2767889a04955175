package logsink

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"depot/internal/logfiles/logfilestest"
)

// TestFileSurvivesAFullDisk: while the disk is full, a File keeps what fits
// in its buffer and drops (and counts) the rest; when space returns it
// resumes by itself, with no line torn, lost twice or out of order, and
// reports the incident once when it starts and once when it ends with
// the number of lines lost.
func TestFileSurvivesAFullDisk(t *testing.T) {
	d := logfilestest.SmallDisk(t)
	var mu sync.Mutex
	var reports []Incident
	ended := make(chan struct{}, 1)
	lf, err := OpenWith(filepath.Join(d.Dir, "access.log"), FileOptions{Report: func(in Incident) {
		mu.Lock()
		reports = append(reports, in)
		mu.Unlock()
		if !in.End.IsZero() {
			ended <- struct{}{}
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()

	var kept []string // lines Write accepted, in order
	dropped := 0
	n := 0
	write := func(count int) {
		for range count {
			n++
			line := fmt.Sprintf("%06d %s\n", n, strings.Repeat("x", 100))
			if _, err := lf.Write([]byte(line)); err != nil {
				dropped++
				continue
			}
			kept = append(kept, line)
		}
	}
	write(100)
	if err := lf.Flush(); err != nil {
		t.Fatal(err)
	}
	d.Fill()
	write(2000) // about 210 KiB: more than the buffer holds
	if err := lf.Flush(); err == nil {
		t.Fatal("Flush succeeded on a full disk")
	}
	if !lf.Failing() || lf.LastWriteError() == nil {
		t.Errorf("Failing() = %v, LastWriteError() = %v during the outage; want true and the error", lf.Failing(), lf.LastWriteError())
	}
	if dropped == 0 || lf.LostLines() != int64(dropped) {
		t.Fatalf("%d lines refused, LostLines() = %d; want some lines lost, and counted", dropped, lf.LostLines())
	}
	d.Free()
	write(100) // no flush: the File resumes by itself
	select {
	case <-ended:
	case <-time.After(10 * FlushInterval):
		t.Fatal("the File did not report the end of the outage after space returned")
	}
	if lf.Failing() {
		t.Error("Failing() after writing resumed")
	}
	if err := lf.Close(); err != nil {
		t.Fatal(err)
	}

	b, err := os.ReadFile(lf.Path())
	if err != nil {
		t.Fatal(err)
	}
	if got := string(b); got != strings.Join(kept, "") {
		gotLines := strings.SplitAfter(got, "\n")
		t.Fatalf("the file holds %d lines, want the %d accepted ones exactly, in order (first difference near line %d)",
			len(gotLines)-1, len(kept), logfilestest.FirstDiff(gotLines, kept))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reports) != 2 || !reports[0].End.IsZero() || reports[1].End.IsZero() {
		t.Fatalf("reports %+v; want exactly two: the start and the end of one incident", reports)
	}
	if end := reports[1]; end.Lost != int64(dropped) || end.Err == nil || !strings.Contains(end.String(), fmt.Sprintf("%d lines", dropped)) {
		t.Errorf("end of incident: %v (lost %d); want %d lines lost and the error", end, end.Lost, dropped)
	}
}

// TestSinkRefusesASymlinkedLog is issue 9's second attack: a symlinked
// access.log got lines appended to its target.
func TestSinkRefusesASymlinkedLog(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	secret := filepath.Join(outside, "shadow")
	os.WriteFile(secret, []byte("root:secret\n"), 0o600)
	path := filepath.Join(dir, "access.log")
	os.Symlink(secret, path)
	if f, err := Open(path); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		if f != nil {
			f.Close()
		}
		t.Fatalf("Open of a symlinked access.log: %v; want a refusal naming the link", err)
	}

	// Planted while depot runs (between rotations): reopening refuses it
	// and keeps writing to the file it had.
	os.Remove(path)
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	os.Rename(path, path+".moved")
	os.Symlink(secret, path)
	if err := f.Reopen(); err == nil {
		t.Error("Reopen followed a symlinked access.log")
	}
	f.Write([]byte("a line\n"))
	f.Flush()
	if b, _ := os.ReadFile(secret); string(b) != "root:secret\n" {
		t.Fatalf("the link's target was written: %q", b)
	}
	if b, _ := os.ReadFile(path + ".moved"); string(b) != "a line\n" {
		t.Errorf("the line went to %q, want the file that was open", b)
	}
}

// TestFileCounts checks what monitoring reads of a File besides
// LostLines: the lines written, and, on a device that is always full, the
// time of the last failed write.
func TestFileCounts(t *testing.T) {
	f, err := Open(filepath.Join(t.TempDir(), "access.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Write([]byte("one\n"))
	f.Write([]byte("two\nthree\n"))
	if err := f.Flush(); err != nil {
		t.Fatal(err)
	}
	if f.Written() != 3 || f.LostLines() != 0 {
		t.Errorf("Written %d, LostLines %d; want 3 and 0", f.Written(), f.LostLines())
	}
	if at := f.LastWriteErrorAt(); !at.IsZero() {
		t.Errorf("LastWriteErrorAt %v, want none", at)
	}

	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	full, err := Open("/dev/full")
	if err != nil {
		t.Skipf("cannot open /dev/full: %v", err)
	}
	defer full.Close()
	before := time.Now()
	full.Write([]byte("kept in the buffer\n"))
	if err := full.Flush(); err == nil || !strings.Contains(err.Error(), "no space") {
		t.Fatalf("Flush to /dev/full: %v, want 'no space left'", err)
	}
	if at := full.LastWriteErrorAt(); at.Before(before) {
		t.Errorf("LastWriteErrorAt %v, want the failed flush's time (after %v)", at, before)
	}
}

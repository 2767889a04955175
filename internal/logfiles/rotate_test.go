package logfiles

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"depot/internal/logfiles/logfilestest"
	"depot/internal/logsink"
)

// TestRotationUnderLoad writes from many goroutines while rotations are
// forced, then checks that every line is in exactly one file.
func TestRotationUnderLoad(t *testing.T) {
	dir := t.TempDir()
	f, err := logsink.Open(filepath.Join(dir, AccessName))
	if err != nil {
		t.Fatal(err)
	}
	var clock atomic.Int64
	clock.Store(time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC).Unix())
	now := func() time.Time { return time.Unix(clock.Load(), 0) }
	var bgErrs []error
	var mu sync.Mutex
	r := NewRotator(dir, []*logsink.File{f}, now, RotatorOptions{Report: func(err error) { mu.Lock(); bgErrs = append(bgErrs, err); mu.Unlock() }})

	const writers, perWriter = 8, 3000
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				line := fmt.Sprintf("203.0.113.%d - - [28/Nov/2026:12:00:00 +0000] \"GET /w%d/%d HTTP/1.1\" 200 1 \"-\" \"-\"\n", w, w, i)
				if _, err := f.Write([]byte(line)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for i := range 25 {
		if err := r.RotateNow(); err != nil {
			t.Fatal(err)
		}
		if i%5 == 4 {
			clock.Add(86400)
		}
		time.Sleep(time.Millisecond)
	}
	wg.Wait()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	r.Wait()
	if len(bgErrs) > 0 {
		t.Fatalf("background errors: %v", bgErrs)
	}

	seen := map[string]int{}
	names := logfilestest.Names(t, dir)
	for _, name := range names {
		if strings.HasSuffix(name, ".tmp") {
			t.Errorf("temp file %s left behind", name)
		}
		if name != AccessName && !strings.HasSuffix(name, ".gz") {
			t.Errorf("rotated file %s was not compressed", name)
		}
		for _, l := range logfilestest.ReadLines(t, filepath.Join(dir, name)) {
			seen[l]++
		}
	}
	if len(seen) != writers*perWriter {
		t.Errorf("got %d distinct lines, want %d (files %v)", len(seen), writers*perWriter, names)
	}
	for l, n := range seen {
		if n != 1 {
			t.Errorf("line %q appears %d times", l, n)
		}
	}
	if !slices.Contains(names, "access.log-20261128.gz") || !slices.Contains(names, "access.log-20261128-1.gz") {
		t.Errorf("files %v: want dateext names with -N for repeated rotations", names)
	}
}

func TestRotateEmptyFileIsLeftAlone(t *testing.T) {
	dir := t.TempDir()
	f, err := logsink.Open(filepath.Join(dir, ErrorName))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := NewRotator(dir, []*logsink.File{f}, time.Now, RotatorOptions{})
	if err := r.RotateNow(); err != nil {
		t.Fatal(err)
	}
	r.Wait()
	if got := logfilestest.Names(t, dir); !slices.Equal(got, []string{ErrorName}) {
		t.Errorf("files %v, want only %s", got, ErrorName)
	}
}

// TestRunRotatesAtMidnight checks the schedule: the file written on the
// 28th is named for the 28th when the clock passes midnight, and a file
// left from an earlier day is rotated at start.
func TestRunRotatesAtMidnight(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, AccessName)
	logfilestest.WriteFile(t, dir, AccessName, "stale line")
	old := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	os.Chtimes(path, old, old)
	f, err := logsink.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	midnight := time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
	start := time.Now()
	// 30ms before midnight, then real time passes.
	now := func() time.Time { return midnight.Add(-30*time.Millisecond + time.Since(start)) }
	ctx, cancel := context.WithCancel(context.Background())
	dailies := make(chan struct{}, 4)
	var passes []error // Rotated's outcomes, read after Run returns
	r := NewRotator(dir, []*logsink.File{f}, now, RotatorOptions{
		Daily:   func(context.Context) { dailies <- struct{}{} },
		Rotated: func(err error) { passes = append(passes, err) },
	})
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	<-dailies // the run at start
	f.Write([]byte("line of the 28th\n"))
	<-dailies // after midnight
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(passes) != 2 || passes[0] != nil || passes[1] != nil {
		t.Errorf("Rotated got %v, want two successful passes (at start, at midnight)", passes)
	}
	got := logfilestest.Names(t, dir)
	want := []string{AccessName, "access.log-20261120.gz", "access.log-20261128.gz"}
	if !slices.Equal(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}
	if l := logfilestest.ReadLines(t, filepath.Join(dir, "access.log-20261128.gz")); !slices.Equal(l, []string{"line of the 28th"}) {
		t.Errorf("access.log-20261128.gz holds %q", l)
	}
}

func TestInterruptedCompression(t *testing.T) {
	lines := make([]string, 5000)
	for i := range lines {
		lines[i] = fmt.Sprintf("198.51.100.%d - - [28/Nov/2026:10:00:%02d +0000] \"GET /%d HTTP/1.1\" 200 1 \"-\" \"-\"", i%256, i%60, i)
	}
	// whole is what a finished compression writes.
	wholeDir := t.TempDir()
	src := logfilestest.WriteFile(t, wholeDir, "access.log-20261128", lines...)
	if err := CompressFile(src); err != nil {
		t.Fatal(err)
	}
	whole, err := os.ReadFile(src + ".gz")
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name      string
		extra     map[string][]byte // files besides the plain source
		noSource  bool
		wantNames []string
		wantErr   bool
	}{
		{name: "truncated .gz next to its source", extra: map[string][]byte{"access.log-20261128.gz": whole[:len(whole)/2]},
			wantNames: []string{"access.log-20261128.gz"}},
		{name: "gz that ends early but parses as far as it goes", extra: map[string][]byte{"access.log-20261128.gz": whole[:len(whole)-9]},
			wantNames: []string{"access.log-20261128.gz"}},
		{name: "temp file next to its source", extra: map[string][]byte{"access.log-20261128.gz.tmp": whole[:100]},
			wantNames: []string{"access.log-20261128.gz"}},
		{name: "crash after rename, before removing the source", extra: map[string][]byte{"access.log-20261128.gz": whole},
			wantNames: []string{"access.log-20261128.gz"}},
		{name: "temp file without source is kept", noSource: true, extra: map[string][]byte{"access.log-20261128.gz.tmp": whole[:100]},
			wantNames: []string{"access.log-20261128.gz.tmp"}, wantErr: true},
		{name: "logrotate's numbered plain file is not ours to compress", noSource: true, extra: map[string][]byte{"access.log.1": []byte("x\n")},
			wantNames: []string{"access.log.1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if !tt.noSource {
				logfilestest.WriteFile(t, dir, "access.log-20261128", lines...)
			}
			for name, data := range tt.extra {
				os.WriteFile(filepath.Join(dir, name), data, 0o640)
			}
			_, err := recoverCompression(dir)
			if (err != nil) != tt.wantErr {
				t.Fatalf("recoverCompression error = %v, want error: %v", err, tt.wantErr)
			}
			if got := logfilestest.Names(t, dir); !slices.Equal(got, tt.wantNames) {
				t.Fatalf("files %v, want %v", got, tt.wantNames)
			}
			if tt.noSource {
				return
			}
			got := logfilestest.ReadLines(t, filepath.Join(dir, "access.log-20261128.gz"))
			if !slices.Equal(got, lines) {
				t.Errorf("recovered file holds %d lines, want the %d of the source", len(got), len(lines))
			}
		})
	}
}

func TestIndexedGzipIsPlainGzip(t *testing.T) {
	dir := t.TempDir()
	var lines []string
	for i := range 30000 { // several members
		lines = append(lines, fmt.Sprintf("2001:db8::%x - - [28/Nov/2026:10:%02d:00 +0000] \"GET /%d HTTP/1.1\" 200 1 \"-\" \"-\"", i, i%60, i))
	}
	src := logfilestest.WriteFile(t, dir, "access.log-20261128", lines...)
	if err := CompressFile(src); err != nil {
		t.Fatal(err)
	}
	if got := logfilestest.ReadLines(t, src+".gz"); !slices.Equal(got, lines) {
		t.Fatalf("stdlib gzip reads %d lines, want %d", len(got), len(lines))
	}
	f, _ := os.Open(src + ".gz")
	defer f.Close()
	st, _ := f.Stat()
	members, rest := readIndex(f, st.Size())
	if len(members) < 2 || rest != st.Size() {
		t.Fatalf("got %d members, rest at %d of %d; want several and all indexed", len(members), rest, st.Size())
	}
	var dated uint32
	for _, m := range members {
		dated += m.dated
		key := exactKey(mustAddr(t, "2001:db8::5"))
		if m.off == 0 && !bloomHas(m.bloom, m.k, &key) {
			t.Errorf("first member's filter lacks 2001:db8::5")
		}
	}
	if dated != uint32(len(lines)) {
		t.Errorf("members count %d dated lines, want %d", dated, len(lines))
	}
	if bytes.Contains(whole(t, src+".gz"), []byte("2001:db8::5 ")) {
		t.Errorf("the compressed file holds plain text")
	}
}

func whole(t *testing.T, path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestHungDailyDoesNotStopRotation is issue 10's seam: the daily prune ran
// inside the rotation loop, so a guard waiting on the network stopped
// rotation too.
func TestHungDailyDoesNotStopRotation(t *testing.T) {
	dir := t.TempDir()
	f, err := logsink.Open(filepath.Join(dir, AccessName))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	midnight := time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
	start := time.Now()
	now := func() time.Time { return midnight.Add(-50*time.Millisecond + time.Since(start)) }
	release := make(chan struct{})
	started := make(chan struct{}, 4)
	var reports []error
	var mu sync.Mutex
	r := NewRotator(dir, []*logsink.File{f}, now, RotatorOptions{
		Daily: func(context.Context) {
			started <- struct{}{}
			<-release // hung: CollecTor does not answer
		},
		Report: func(err error) { mu.Lock(); reports = append(reports, err); mu.Unlock() },
	})
	f.Write([]byte("line of the 28th\n"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	<-started
	want := filepath.Join(dir, "access.log-20261128.gz")
	deadline := time.Now().Add(20 * time.Second)
	skipped := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(reports) == 1 && strings.Contains(reports[0].Error(), "has not finished")
	}
	for {
		_, err := os.Stat(want)
		if err == nil && skipped() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("while the daily run hangs: files %v (want %s), reports %v (want the next daily run skipped)", logfilestest.Names(t, dir), filepath.Base(want), reports)
		}
		time.Sleep(10 * time.Millisecond) // polling for the condition, not deciding it
	}
	close(release)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

package server

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"depot/internal/config"
	"depot/internal/logfiles/logfilestest"
)

// TestFullDiskIsReportedAndSurvived: with log_dir on a disk that fills,
// requests keep being served; once space returns, access logging resumes
// by itself, the operator is told on Logf when the outage starts and when
// it ends (with the number of access lines lost), and error.log says so
// too.
func TestFullDiskIsReportedAndSurvived(t *testing.T) {
	disk := logfilestest.SmallDisk(t)
	var mu sync.Mutex
	var said []string
	ended := make(chan struct{}, 2)
	ts := startServerLogs(t, "", Options{Logf: func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		mu.Lock()
		said = append(said, msg)
		mu.Unlock()
		if strings.Contains(msg, "writing again") && strings.Contains(msg, "access.log") {
			ended <- struct{}{}
		}
	}}, disk.Dir)

	getOK := func(path string) {
		t.Helper()
		resp := get(t, ts.clearnet, path)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s = %d during the outage; serving must not depend on logging", path, resp.StatusCode)
		}
	}
	getOK("/index.html?before")
	waitLog := func(mark string) string {
		t.Helper()
		// The access line of a request is written after its response is
		// sent, so the client can see the answer before the line exists.
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			log := ts.readLog(t, "access.log")
			if strings.Contains(log, mark) || time.Now().After(deadline) {
				return log
			}
		}
	}
	waitLog("?before") // on disk before the disk fills
	disk.Fill()
	// Each access line is about 100 bytes: 1,000 of them overflow the
	// 64 KiB the access log holds in memory.
	for i := range 1000 {
		getOK(fmt.Sprintf("/index.html?during-%d", i))
	}
	if ts.srv.AccessLog().LostLines() == 0 {
		t.Fatal("no access line was lost while the disk was full; the test did not fill it")
	}
	disk.Free()
	getOK("/index.html?after")
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatalf("no report that access logging resumed; Logf got %q", said)
	}
	log := waitLog("?after")
	// Read only now: a request's line is written after its answer, so the
	// last one of the outage may have been lost after the loop above.
	lost := ts.srv.AccessLog().LostLines()
	if !strings.Contains(log, "?before") || !strings.Contains(log, "?after") {
		t.Errorf("access.log lacks the lines before and after the outage:\n%s", log)
	}
	mu.Lock()
	defer mu.Unlock()
	starts := 0
	for _, s := range said {
		if strings.Contains(s, "access.log: cannot write") {
			starts++
		}
	}
	if starts != 1 {
		t.Errorf("the start of the outage was reported %d times, want once: %q", starts, said)
	}
	want := fmt.Sprintf("%d lines", lost)
	if !strings.Contains(strings.Join(said, "\n"), want) {
		t.Errorf("Logf was not told that %s were lost: %q", want, said)
	}
	errLog := ts.readLog(t, "error.log")
	if !strings.Contains(errLog, "[alert]") || !strings.Contains(errLog, "access.log: writing again") || !strings.Contains(errLog, want) {
		t.Errorf("error.log does not report the lost lines (%s):\n%s", want, errLog)
	}
}

// TestUnixSocketModeAndGroup: a unix listener's socket is 0660, so only
// depot's user and the socket's group (the local tor's, via socket_group)
// can connect; before, it was 0666 and any local user could.
func TestUnixSocketModeAndGroup(t *testing.T) {
	gid := os.Getegid()
	if os.Geteuid() == 0 {
		gid = 65534 // nogroup: root may give the socket any group
	}
	for _, tt := range []struct {
		name, group string
		wantGid     int
	}{
		{"default group", "", os.Getegid()},
		{"socket_group by number", strconv.Itoa(gid), gid},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir, err := os.MkdirTemp("", "depot-sock-")
			if err != nil {
				t.Fatal(err)
			}
			defer os.RemoveAll(dir)
			sock := filepath.Join(dir, "onion.sock")
			cfg := &config.Config{
				LogDir: filepath.Join(dir, "logs"),
				Listen: []config.Listen{{Address: "unix:" + sock, Onion: true, SocketGroup: tt.group}},
				Site:   []config.Site{{Hosts: []string{"*"}, Root: dir}},
			}
			srv, err := New(cfg, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := srv.Listen(); err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			var st syscall.Stat_t
			if err := syscall.Stat(sock, &st); err != nil {
				t.Fatal(err)
			}
			if mode := st.Mode & 0o777; mode != 0o660 || int(st.Gid) != tt.wantGid {
				t.Errorf("socket mode %04o, gid %d; want 0660 and gid %d", mode, st.Gid, tt.wantGid)
			}
		})
	}
}

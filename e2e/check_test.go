package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCheckAgreesWithServe: for each configuration that depot serve
// refuses, depot check refuses it too, with the same problem, and exits 1;
// and serve leaves nothing behind: no log_dir, no log file, no lock file, no
// socket. Each case was once passed by check and refused by serve.
func TestCheckAgreesWithServe(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(t *testing.T, dir string) (toml string) // in dir
		want     string                                       // in both outputs
		asNobody bool                                         // run as an unprivileged user (root reads everything)
	}{
		{"port out of range", func(t *testing.T, dir string) string {
			return checkConfig(dir, `address = "127.0.0.1:99999"`, "")
		}, `listen[0].address: port "99999"`, false},
		{"log_dir two levels deep", func(t *testing.T, dir string) string {
			return checkConfig(dir, fmt.Sprintf("address = %q", freeAddr(t)), `log_dir = "typo/deep/logs"`)
		}, "log_dir: " + "", false},
		{"certificate and key that do not match", func(t *testing.T, dir string) string {
			cert, _ := writeKeyPair(t, dir, "a")
			_, key := writeKeyPair(t, dir, "b")
			return checkConfig(dir, fmt.Sprintf("address = %q\ntls_cert = %q\ntls_key = %q", freeAddr(t), cert, key), "")
		}, "does not match the key in", false},
		{"unix socket path too long", func(t *testing.T, dir string) string {
			long := filepath.Join(dir, strings.Repeat("s", 120)+".sock")
			return checkConfig(dir, fmt.Sprintf("address = %q\n[[listen]]\naddress = \"unix:%s\"\nonion = true", freeAddr(t), long), "")
		}, "the kernel takes at most 107", false},
		{"unreadable root", func(t *testing.T, dir string) string {
			if err := os.Chmod(filepath.Join(dir, "www"), 0o300); err != nil {
				t.Fatal(err)
			}
			return checkConfig(dir, fmt.Sprintf("address = %q", freeAddr(t)), "")
		}, "site[0].root: ", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.Mkdir(filepath.Join(dir, "www"), 0o755); err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(dir, "depot.toml")
			writeFile(t, file, []byte(tt.setup(t, dir)))
			asUser := tt.asNobody && os.Geteuid() == 0
			if asUser {
				openForNobody(t, dir)
			}
			before := tree(t, dir)
			checkOut, checkCode := runDepotCmd(t, dir, asUser, "check", "--config", file)
			serveOut, serveCode := runDepotCmd(t, dir, asUser, "serve", "--config", file)
			if checkCode != 1 || serveCode != 1 {
				t.Errorf("exit statuses: check %d, serve %d; want 1 and 1\ncheck:\n%s\nserve:\n%s", checkCode, serveCode, checkOut, serveOut)
			}
			for _, out := range []string{checkOut, serveOut} {
				if !strings.Contains(out, tt.want) {
					t.Errorf("output lacks %q:\n%s", tt.want, out)
				}
			}
			// Every problem serve names, check names too.
			for _, line := range strings.Split(serveOut, "\n") {
				if p := strings.TrimSpace(line); strings.Contains(p, ": ") && !strings.Contains(checkOut, strings.TrimPrefix(p, "depot: ")) {
					t.Errorf("serve says %q; check did not", p)
				}
			}
			if after := tree(t, dir); !slices.Equal(before, after) {
				t.Errorf("a refused configuration left files behind:\nbefore %q\nafter  %q", before, after)
			}
		})
	}
}

// TestFailedStartLeavesNothing: a configuration that is valid but whose
// second listener cannot bind (its port is taken) makes serve exit 1
// without creating log_dir, a log file, a lock file or the onion socket.
func TestFailedStartLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "www"), 0o755); err != nil {
		t.Fatal(err)
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	sock := filepath.Join(socketDir(t), "onion.sock")
	file := filepath.Join(dir, "depot.toml")
	writeFile(t, file, []byte(fmt.Sprintf(`log_dir = "logs"
data_dir = "data"
[[listen]]
address = "unix:%s"
onion = true
[[listen]]
address = %q
[[listen]]
address = %q
[[site]]
hosts = ["*"]
root = "www"
`, sock, freeAddr(t), taken.Addr().String())))
	before := tree(t, dir)
	out, code := runDepotCmd(t, dir, false, "serve", "--config", file)
	if code != 1 || !strings.Contains(out, "listen[2]") || !strings.Contains(out, "address already in use") {
		t.Errorf("serve with a taken port: exit %d, output:\n%s\nwant exit 1 naming listen[2] and the port in use", code, out)
	}
	if after := tree(t, dir); !slices.Equal(before, after) {
		t.Errorf("a failed start left files behind:\nbefore %q\nafter  %q", before, after)
	}
	if _, err := os.Lstat(sock); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the onion socket %s is left behind (%v)", sock, err)
	}
}

// checkConfig is a configuration with one [[listen]] (listen holds its
// keys, and may open more tables) and one site at dir/www; top goes first.
func checkConfig(dir, listen, top string) string {
	return fmt.Sprintf("%s\n[[listen]]\n%s\n[[site]]\nhosts = [\"*\"]\nroot = %q\n", top, listen, filepath.Join(dir, "www"))
}

// runDepotCmd runs the depot binary in dir and returns its combined output
// and exit status; asNobody runs it as uid and gid 65534.
func runDepotCmd(t *testing.T, dir string, asNobody bool, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(depotBin, args...)
	cmd.Dir = dir
	if asNobody {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-done:
		case <-time.After(30 * time.Second): // serve that wrongly starts must not hang the test
			if cmd.Process != nil {
				cmd.Process.Kill()
			}
		}
	}()
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &ee):
		return string(out), ee.ExitCode()
	}
	t.Fatalf("depot %v: %v", args, err)
	return "", 0
}

// openForNobody lets uid 65534 reach dir (and read the depot binary):
// t.TempDir and the binary's directory are 0700.
func openForNobody(t *testing.T, dir string) {
	t.Helper()
	for _, d := range []string{filepath.Dir(dir), dir, filepath.Dir(depotBin)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(dir, "depot.toml"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// tree lists every path below dir with its mode.
func tree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		out = append(out, p+" "+e.Type().String())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// writeKeyPair writes a self-signed certificate and its key to dir as
// name.crt and name.key.
func writeKeyPair(t *testing.T, dir, name string) (cert, key string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	cert, key = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	writeFile(t, cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	writeFile(t, key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}))
	return cert, key
}

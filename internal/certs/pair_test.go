package certs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"depot/internal/certs/certstest"
)

func TestLoadPair(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	good := certstest.Write(t, dir, "good", certstest.Options{})
	other := certstest.Write(t, dir, "other", certstest.Options{})
	expired := certstest.Write(t, dir, "expired", certstest.Options{NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-24 * time.Hour)})
	future := certstest.Write(t, dir, "future", certstest.Options{NotBefore: now.Add(24 * time.Hour), NotAfter: now.Add(48 * time.Hour)})
	garbage := filepath.Join(dir, "garbage.pem")
	os.WriteFile(garbage, []byte("not a certificate\n"), 0o644)
	unreadable := filepath.Join(dir, "unreadable.pem")
	os.WriteFile(unreadable, nil, 0o000)

	tests := []struct {
		name      string
		cert, key string
		want      []string // "" for success
	}{
		{"good pair", good.CertFile, good.KeyFile, nil},
		{"key of another certificate", good.CertFile, other.KeyFile, []string{"does not match the key in " + other.KeyFile, "point tls_key at"}},
		{"expired", expired.CertFile, expired.KeyFile, []string{"expired on", "renew it"}},
		{"not yet valid", future.CertFile, future.KeyFile, []string{"not valid before"}},
		{"missing file", filepath.Join(dir, "nope.pem"), good.KeyFile, []string{"cannot read", "nope.pem", "no such file"}},
		{"not PEM", garbage, good.KeyFile, []string{"cannot load the key pair", "garbage.pem"}},
	}
	if os.Geteuid() != 0 { // root reads a 0000 file
		tests = append(tests, struct {
			name      string
			cert, key string
			want      []string
		}{"unreadable", unreadable, good.KeyFile, []string{"cannot read", "permission denied", "depot's user"}})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := LoadPair(tt.cert, tt.key, now)
			if tt.want == nil {
				if err != nil || c.Leaf == nil {
					t.Fatalf("got %v, want the pair with its leaf", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("got a certificate, want an error with %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestFileReloadKeepsTheOldCertificateOnABadPair(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	first := certstest.Write(t, dir, "first", certstest.Options{})
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	first.Install(t, certFile, keyFile)
	f, err := OpenFile(certFile, keyFile, now)
	if err != nil {
		t.Fatal(err)
	}
	if changed, err := f.Reload(now); changed || err != nil {
		t.Errorf("reload of the same files: changed %v, err %v; want false, nil", changed, err)
	}

	second := certstest.Write(t, dir, "second", certstest.Options{})
	second.Install(t, certFile, keyFile)
	if changed, err := f.Reload(now); !changed || err != nil {
		t.Fatalf("reload of a renewed pair: changed %v, err %v; want true, nil", changed, err)
	}
	if got := f.Certificate().Leaf.SerialNumber; got.Cmp(second.Leaf.SerialNumber) != 0 {
		t.Fatalf("serving serial %x, want the new %x", got, second.Leaf.SerialNumber)
	}

	// A half-done renewal: the new certificate with the old key.
	third := certstest.Write(t, dir, "third", certstest.Options{})
	third.Install(t, certFile, filepath.Join(dir, "unused.pem"))
	changed, err := f.Reload(now)
	if changed || err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("reload of a mismatched pair: changed %v, err %v; want false and a mismatch error", changed, err)
	}
	got, _ := f.GetCertificate(nil)
	if got.Leaf.SerialNumber.Cmp(second.Leaf.SerialNumber) != 0 {
		t.Errorf("after a refused reload serving serial %x, want the previous %x", got.Leaf.SerialNumber, second.Leaf.SerialNumber)
	}
}

package config

import "testing"

func TestAdminTable(t *testing.T) {
	tests := []struct {
		name  string
		admin string
		want  []string // substrings of the error; none means valid
	}{
		{"none", "", nil},
		{"loopback v4", "[admin]\naddress = \"127.0.0.1:9180\"\n", nil},
		{"loopback v6", "[admin]\naddress = \"[::1]:9180\"\n", nil},
		{"other loopback", "[admin]\naddress = \"127.0.0.53:9180\"\n", nil},
		{"unix socket", "[admin]\naddress = \"unix:/tmp/depot-admin.sock\"\n", nil},
		{"any address", "[admin]\naddress = \"0.0.0.0:9180\"\n", []string{"admin.address", "not a loopback IP address"}},
		{"public address", "[admin]\naddress = \"192.0.2.1:9180\"\n", []string{"admin.address", "loopback"}},
		{"all interfaces", "[admin]\naddress = \":9180\"\n", []string{"admin.address", "loopback"}},
		{"host name", "[admin]\naddress = \"localhost:9180\"\n", []string{"admin.address", "loopback IP"}},
		{"no port", "[admin]\naddress = \"127.0.0.1\"\n", []string{"admin.address", "not IP:port"}},
		{"relative socket", "[admin]\naddress = \"unix:admin.sock\"\n", []string{"admin.address", "absolute"}},
		{"socket dir missing", "[admin]\naddress = \"unix:/nonexistent-depot-dir/admin.sock\"\n", []string{"admin.address", "does not exist"}},
		{"same as a listener", "[admin]\naddress = \"127.0.0.1:8080\"\n", []string{"admin.address", "listen[0]"}},
		{"same as the proxy", "[admin]\naddress = \"127.0.0.1:8082\"\n[proxy]\nlisten = \"127.0.0.1:8082\"\n", []string{"admin.address", "proxy.listen"}},
		{"unknown key", "[admin]\nlisten = \"127.0.0.1:9180\"\n", []string{`unknown key "admin.listen"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkLoad(t, minimal+tc.admin, tc.want)
		})
	}
}

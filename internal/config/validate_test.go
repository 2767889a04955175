package config

import (
	"os"
	"os/user"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// torProjectOnion is a real v3 onion address (torproject.org's).
const torProjectOnion = "2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion"

// TestValidateWhatServeRefuses: each configuration here was accepted by
// check and then refused by serve when it bound or created something.
// LoadServe (serve and check) refuses them all; Load (commands that only
// read, such as logs search) refuses those that are wrong on any machine.
func TestValidateWhatServeRefuses(t *testing.T) {
	site := func(extra string) string {
		return strings.Replace(minimal, `root = "www"`, "root = \"www\"\n"+extra, 1)
	}
	listen := func(addr string) string { return strings.Replace(minimal, "127.0.0.1:8080", addr, 1) }
	long := "/tmp/" + strings.Repeat("s", 110) + ".sock"
	tests := []struct {
		name  string
		body  string
		want  []string
		serve bool // only what serve needs of this machine: Load accepts it
	}{
		{"port out of range", listen("127.0.0.1:99999"), []string{"listen[0].address", `port "99999"`, "1 to 65535"}, false},
		{"port not a number", listen("127.0.0.1:http"), []string{"listen[0].address", `port "http"`}, false},
		{"no port", listen("127.0.0.1:"), []string{"listen[0].address", "has no port"}, false},
		{"host name to resolve", listen("www.example.org:80"), []string{"listen[0].address", "not an IP address"}, false},
		{"unix socket path too long", minimal + "[[listen]]\naddress = \"unix:" + long + "\"\nonion = true\n", []string{"listen[1].address", "the kernel takes at most 107"}, false},
		{"socket group on tcp", minimal + "[[listen]]\naddress = \"127.0.0.1:8081\"\nonion = true\nsocket_group = \"root\"\n", []string{"listen[1].socket_group", "only a unix socket"}, false},
		{"unknown socket group", minimal + "[[listen]]\naddress = \"unix:/tmp/x.sock\"\nonion = true\nsocket_group = \"no-such-group-depot\"\n", []string{"listen[1].socket_group", `no group "no-such-group-depot"`}, true},
		{"log_dir two levels deep", strings.Replace(minimal, `log_dir = "logs"`, `log_dir = "nope/deep/logs"`, 1), []string{"log_dir:", "neither does its parent", "creates only the last element"}, true},
		{"log_dir is a file", strings.Replace(minimal, `log_dir = "logs"`, `log_dir = "depot.toml"`, 1), []string{"log_dir:", "is not a directory"}, true},
		{"data_dir two levels deep with mirrors", strings.Replace(minimal, `data_dir = "data"`, `data_dir = "nope/data"`, 1) + "[[mirror]]\nname = \"m\"\nurl = \"https://m.example/\"\n", []string{"data_dir:", "neither does its parent"}, true},
		{"retention_months = 0", "retention_months = 0\n" + minimal, []string{"retention_months: must be at least 1", "got 0"}, false},
		{"onion_location too short", site(`onion_location = "http://` + torProjectOnion[1:] + `"`), []string{"site[0].onion_location", "55 characters", "56"}, false},
		{"onion_location with a wrong character", site(`onion_location = "http://3` + torProjectOnion[1:] + `"`), []string{"site[0].onion_location", "checksum"}, false},
		{"onion_location not base32", site(`onion_location = "http://` + strings.Repeat("1", 56) + `.onion"`), []string{"site[0].onion_location", "not base32"}, false},
		{"stats_path that leaves the site", site(`stats_path = "//evil.example/"`), []string{"site[0].stats_path", "single /"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkLoadWith(t, LoadServe, tt.body, tt.want)
			if tt.serve {
				checkLoad(t, tt.body, nil)
			} else {
				checkLoad(t, tt.body, tt.want)
			}
		})
	}
	t.Run("valid onion_location with a subdomain", func(t *testing.T) {
		// Served: an onion listener, and the "*" site answers the name.
		checkLoad(t, site(`onion_location = "http://www.`+torProjectOnion+`/"`)+"[[listen]]\naddress = \"127.0.0.1:8081\"\nonion = true\n", nil)
	})
	t.Run("socket group by name and number", func(t *testing.T) {
		g, err := user.LookupGroupId(strconv.Itoa(os.Getegid()))
		if err != nil {
			t.Skip(err) // a gid without a name: nothing to look up by name
		}
		for _, name := range []string{g.Name, g.Gid} {
			checkLoadWith(t, LoadServe, minimal+"[[listen]]\naddress = \"unix:/tmp/x.sock\"\nonion = true\nsocket_group = \""+name+"\"\n", nil)
		}
	})
}

// TestValidateUnreadableRoot: a root the user cannot read or search is
// refused. Root ignores permission bits, so as root the check runs in a
// child process as nobody.
func TestValidateUnreadableRoot(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("as root every directory is readable; cmd/depot's TestCheckAgreesWithServe runs this case as nobody")
	}
	p := writeConfig(t, minimal)
	www := filepath.Join(filepath.Dir(p), "www")
	os.Chmod(www, 0o300)
	t.Cleanup(func() { os.Chmod(www, 0o755) })
	checkLoad2(t, p, []string{"site[0].root", "cannot be read by this user"})
}

func checkLoad2(t *testing.T, path string, want []string) {
	t.Helper()
	_, err := LoadServe(path)
	if err == nil {
		t.Fatalf("got valid, want an error with %q", want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("got %q, want it to contain %q", err, w)
		}
	}
}

// TestTypeErrorsNameKeyTypeAndExample: a value of the wrong type is
// reported with the key, what it takes and an example, never with Go's
// names for them.
func TestTypeErrorsNameKeyTypeAndExample(t *testing.T) {
	tests := []struct {
		name, body string
		want       string
	}{
		{"string for integer", "retention_months = \"3\"\n", `depot.toml:1:20: retention_months: must be an integer, not a string; for example: retention_months = 3`},
		{"integer for string", "log_dir = 3\n", `depot.toml:1:11: log_dir: must be a string, not an integer; for example: log_dir = "/var/log/depot"`},
		{"string for array", "[[site]]\nhosts = \"a\"\n", `depot.toml:2:9: site.hosts: must be an array of strings, not a string; for example: hosts = ["www.example.org"]`},
		{"array element", "[stats]\nlogs = [1]\n", `depot.toml:2:9: stats.logs: must be an array of strings, not an integer; for example: logs = ["/var/log/depot/access*.log*"]`},
		{"string for boolean", "[[listen]]\naddress = \"x\"\nonion = \"yes\"\n", `depot.toml:3:9: listen.onion: must be true or false, not a string; for example: onion = true`},
		{"integer for table array", "listen = 5\n", `depot.toml:1:10: listen: must be an array of tables, each written [[listen]], not an integer`},
		{"integer for table", "mirrors = 5\n", `depot.toml:1:11: mirrors: must be a table, written [mirrors], not an integer`},
		{"bad size text", "[[site]]\nredirect_min_size = \"1XB\"\n", `depot.toml:2:21: site.redirect_min_size: "1XB" is not a size such as "1MiB" or "500KB"; for example: redirect_min_size = "1MiB"`},
		{"duration as a number", "[mirrors]\ntimeout = 30\n", `depot.toml: mirrors.timeout: must be a duration in a string, not a number (which would mean nanoseconds); for example: timeout = "30s"`},
		{"duration as a number in proxy", "[proxy]\nidle_timeout = 2\n", `proxy.idle_timeout: must be a duration in a string`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(writeConfig(t, tt.body))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v\nwant it to contain %s", err, tt.want)
			}
			for _, internal := range []string{"config.Config", "struct field", "of type", "cannot decode TOML", " toml: "} {
				if strings.Contains(err.Error(), internal) {
					t.Errorf("the error shows Go's internals (%q): %v", internal, err)
				}
			}
		})
	}
}

// TestEveryKeyHasAnExample keeps the type errors' examples complete: every
// key that holds a value has an example tag, and the example decodes.
func TestEveryKeyHasAnExample(t *testing.T) {
	var walk func(t2 reflect.Type, key []string)
	walk = func(t2 reflect.Type, key []string) {
		for i := range t2.NumField() {
			f := t2.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
			if name == "" || name == "-" {
				continue
			}
			k := append(key[:len(key):len(key)], name)
			ft := f.Type
			if ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct {
				walk(ft.Elem(), k)
				continue
			}
			if ft.Kind() == reflect.Struct {
				walk(ft, k)
				continue
			}
			fld, ok := lookup(k)
			if !ok || fld.ex == "" {
				t.Errorf("%s has no example tag", strings.Join(k, "."))
				continue
			}
			// The example, as its table would hold it, must decode.
			doc := fld.example() + "\n"
			if len(k) > 1 {
				head := "[" + strings.Join(k[:len(k)-1], ".") + "]"
				if p, _ := lookup(k[:len(k)-1]); p.typ.Kind() == reflect.Slice {
					head = "[" + head + "]"
				}
				doc = head + "\n" + doc
			}
			if _, err := Parse("example.toml", []byte(doc)); err != nil {
				t.Errorf("the example of %s does not decode: %v\n%s", strings.Join(k, "."), err, doc)
			}
		}
	}
	walk(reflect.TypeFor[Config](), nil)
}

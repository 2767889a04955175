#!/bin/bash
# .ci/package.sh: build the Debian package, install it with dpkg -i, run
# the installed depot (check of the shipped configuration, version, man
# pages, units), follow README "Production" with it (HTTPS by ACME from
# Debian's pebble, a scrape of /metrics, depot audit), purge it, and fail
# on anything it leaves behind. .ci/run calls it as root on a Debian
# machine; it refuses to touch a machine where a package named depot is
# already installed, and purges the package again when a step fails.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo ".ci/package.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "must run as root (dpkg -i)"
if dpkg-query -W -f='${Status}' depot 2>/dev/null | grep -q 'installed'; then
	fail "a depot package is already installed here; remove it first"
fi

out=$(mktemp -d)
pids=()       # processes this script started, ended on exit
installed=""  # set once dpkg -i succeeded: purged again if a step fails
built_site="" # a site root this script built, emptied on exit
cleanup() {
	local rc=$? log
	for pid in "${pids[@]}"; do
		{ kill "$pid" && wait "$pid"; } 2>/dev/null || true
	done
	if [ -n "$built_site" ]; then find "$built_site" -mindepth 1 -delete || true; fi
	if ((rc != 0)); then # what the processes said
		for log in "$out"/*.log; do
			if [ -f "$log" ]; then echo "--- $log" >&2 && tail -n 50 "$log" >&2; fi
		done
	fi
	if ((rc != 0)) && [ -n "$installed" ]; then
		echo ".ci/package.sh: failed; purging depot to leave the machine as it was" >&2
		dpkg --purge depot >/dev/null || true
	fi
	rm -rf "$out"
}
trap cleanup EXIT
deb=$(bash packaging/build-deb.sh "$out")
echo "--- built $(basename "$deb")"
dpkg-deb --info "$deb" | sed -n '/Package:/,/Description:/p'

echo "--- dpkg -i"
dpkg -i "$deb"
installed=yes

echo "--- the installed files"
[ -x /usr/bin/depot ] || fail "/usr/bin/depot is missing"
dpkg-query -W -f='${Conffiles}\n' depot | grep -q '^ /etc/depot/depot.toml ' || fail "/etc/depot/depot.toml is not a conffile"
cmp examples/depot.toml /etc/depot/depot.toml || fail "/etc/depot/depot.toml is not examples/depot.toml"
getent passwd depot >/dev/null || fail "no depot user"
[ "$(getent passwd depot | cut -d: -f7)" = /usr/sbin/nologin ] || fail "the depot user has a login shell"
want_mode() { # path owner:group mode
	got=$(stat -c '%U:%G %a' "$1") || fail "$1 is missing"
	[ "$got" = "$2 $3" ] || fail "$1 is $got, want $2 $3"
}
want_mode /var/log/depot depot:adm 2750
want_mode /var/lib/depot depot:depot 750
want_mode /var/lib/depot/exit-lists depot:depot 750
want_mode /run/depot depot:depot 755
want_mode /etc/depot/depot.toml root:root 644

echo "--- depot check and depot version from the installed paths"
/usr/bin/depot check --config /etc/depot/depot.toml
runuser -u depot -- /usr/bin/depot check --config /etc/depot/depot.toml
/usr/bin/depot version | tee "$out/version"
grep -q '^depot ' "$out/version" && grep -q '^go go1\.' "$out/version" || fail "depot version lacks its version or Go version"
if [ -d .git ]; then # a clone, where the go command stamps the commit
	grep -qx "commit $(git rev-parse HEAD)\( (modified.*)\)\?" "$out/version" || fail "depot version does not name commit $(git rev-parse HEAD)"
fi

echo "--- man pages"
for page in depot depot-serve depot-check depot-init depot-version depot-stats-update; do
	man -w "$page" >/dev/null || fail "man $page: no page"
done
MANWIDTH=80 man depot-serve | grep -q 'SIGHUP' || fail "man depot-serve does not render its description"

echo "--- units"
systemd-analyze verify /usr/lib/systemd/system/depot.service /usr/lib/systemd/system/depot-stats.service \
	/usr/lib/systemd/system/depot-stats.timer
systemd-analyze security --offline=yes --threshold=19 /usr/lib/systemd/system/depot.service | tail -1
[ "$(systemctl is-enabled depot.service 2>/dev/null)" != enabled ] || fail "depot.service was enabled before its configuration was edited"

echo "--- depot serve as the depot user writes its logs where the unit allows"
# A loopback copy of the shipped configuration, without its example
# mirror (which depot would check), served briefly as the depot user: the
# directories' owners and modes must let it write.
awk '/^\[\[mirror\]\]/ {skip = 1} skip && /^$/ {skip = 0} !skip' /etc/depot/depot.toml | sed -e 's/^address = ":80"/address = "127.0.0.1:0"/' -e 's/^listen = "127.0.0.1:8082"/listen = "127.0.0.2:0"/' \
	-e 's/^address = "127.0.0.1:9180"/address = "127.0.0.3:0"/' >"$out/serve.toml"
chmod 644 "$out/serve.toml"
chmod 755 "$out"
setpriv --reuid=depot --regid=depot --init-groups -- /usr/bin/depot serve --config "$out/serve.toml" >"$out/serve.log" 2>&1 &
serve=$!
for _ in $(seq 100); do
	grep -q 'depot: serving' "$out/serve.log" && [ -S /run/depot/onion.sock ] && break
	kill -0 "$serve" 2>/dev/null || { cat "$out/serve.log"; fail "depot serve exited"; }
	sleep 0.1
done
kill -TERM "$serve"
wait "$serve" || { cat "$out/serve.log"; fail "depot serve did not exit 0 on SIGTERM"; }
[ -f /var/log/depot/access.log ] || fail "depot serve created no /var/log/depot/access.log"
want_mode /var/log/depot/access.log depot:adm 640

echo "--- the README's Production section: HTTPS by ACME, a Prometheus scrape, a clean depot audit"
# What README "Production" tells an operator, with Debian's pebble as the
# (test) CA: /etc/depot/depot.toml with its ACME lines turned on and [acme]
# naming pebble, a site built into its root, the installed depot serving as
# the depot user, then HTTPS verified against pebble's root, /metrics and
# depot audit. The addresses are loopback ones on free ports below the
# kernel's ephemeral range (other processes share this machine): pebble
# validates HTTP-01 on the plain listener's port and TLS-ALPN-01 on the TLS
# listener's, and pebble-challtestsrv, its DNS server, answers every name
# with 127.0.0.1.
low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
((low > 11000)) || low=32768
taken=" "
free_port() { # sets port to one nothing binds, in TCP or UDP, and that no earlier call chose
	local files=() f
	for f in /proc/net/tcp /proc/net/tcp6 /proc/net/udp /proc/net/udp6; do
		if [ -r "$f" ]; then files+=("$f"); fi
	done
	for _ in $(seq 1000); do
		port=$((10000 + RANDOM % (low - 10000)))
		[[ $taken == *" $port "* ]] && continue
		awk -v p="$(printf ':%04X' "$port")" 'FNR > 1 && substr($2, length($2) - 4) == p {found = 1} END {exit !found}' "${files[@]}" && continue
		taken+="$port "
		return
	done
	fail "no free port in 10000-$((low - 1))"
}
wait_until() { # seconds what command...: runs command until it succeeds
	local limit=$1 what=$2
	shift 2
	for _ in $(seq $((limit * 10))); do
		"$@" >/dev/null 2>&1 && return
		sleep 0.1
	done
	fail "no $what within ${limit}s"
}
free_port && http=$port
free_port && https=$port
free_port && admin=$port
free_port && ca=$port
free_port && ca_mgmt=$port
free_port && dns=$port
free_port && dns_mgmt=$port

# pebble's own HTTPS certificate, which [acme] ca_root trusts; the depot
# user reads it.
mkdir -m 755 "$out/pebble"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=pebble \
	-addext subjectAltName=IP:127.0.0.1 -keyout "$out/pebble/https.key" -out "$out/pebble/https.pem" 2>/dev/null
chmod 644 "$out/pebble/https.pem"
cat >"$out/pebble/pebble.json" <<EOF
{"pebble": {"listenAddress": "127.0.0.1:$ca", "managementListenAddress": "127.0.0.1:$ca_mgmt",
  "certificate": "$out/pebble/https.pem", "privateKey": "$out/pebble/https.key",
  "httpPort": $http, "tlsPort": $https, "ocspResponderURL": "", "externalAccountBindingRequired": false}}
EOF
pebble-challtestsrv -defaultIPv4 127.0.0.1 -defaultIPv6 "" -dns01 "127.0.0.1:$dns" -http01 "" -https01 "" \
	-tlsalpn01 "" -management "127.0.0.1:$dns_mgmt" >"$out/challtestsrv.log" 2>&1 &
pids+=($!)
wait_until 30 pebble-challtestsrv curl -s --noproxy '*' -o /dev/null "http://127.0.0.1:$dns_mgmt/"
# No random sleep before a validation, no nonce rejected on purpose: the
# step takes seconds and fails only when something is wrong.
PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 pebble -config "$out/pebble/pebble.json" -dnsserver "127.0.0.1:$dns" \
	>"$out/pebble.log" 2>&1 &
pids+=($!)
curl_ca=(curl -sS --noproxy '*' --cacert "$out/pebble/https.pem")
wait_until 30 "pebble directory" "${curl_ca[@]}" -f -o /dev/null "https://127.0.0.1:$ca/dir"
"${curl_ca[@]}" -f -o "$out/pebble/root.pem" "https://127.0.0.1:$ca_mgmt/roots/0" # the root it issues under

# README, Production, 2: the ACME lines of the example turned on, the
# plain listener redirecting to HTTPS, [acme] naming the CA and its root.
# The mirror table goes (depot would check it), and loopback addresses
# replace the public ones.
awk '/^\[\[mirror\]\]/ {skip = 1} skip && /^$/ {skip = 0} !skip' /etc/depot/depot.toml |
	sed -e "s/^address = \":80\"\$/address = \"127.0.0.1:$http\"\\nredirect_https = true/" \
		-e '/^#   \[\[listen\]\]$/,/^#   email = /s/^#   //' \
		-e "s/^address = \":443\"\$/address = \"127.0.0.1:$https\"/" \
		-e "s|^\\[acme\\]\$|[acme]\\nca = \"https://127.0.0.1:$ca/dir\"\\nca_root = \"$out/pebble/https.pem\"|" \
		-e 's/^listen = "127.0.0.1:8082"/listen = "127.0.0.2:0"/' \
		-e "s/^address = \"127.0.0.1:9180\"/address = \"127.0.0.1:$admin\"/" >"$out/acme.toml"
install -m 644 "$out/acme.toml" /etc/depot/depot.toml
grep -q '^acme = true' /etc/depot/depot.toml && grep -q '^ca_root = ' /etc/depot/depot.toml ||
	fail "the example's ACME lines were not found: $(cat /etc/depot/depot.toml)"
# As the user the unit runs depot as (README): the warnings about who
# owns log_dir and data_dir are judged for the user depot runs as.
runuser -u depot -- /usr/bin/depot check --config /etc/depot/depot.toml 2>&1 | tee "$out/check"
! grep -q warning "$out/check" || fail "depot check warns about the package's own layout"
[ -z "$(ls -A /var/www/depot/www)" ] || fail "/var/www/depot/www is not empty; this step builds a site there"
built_site=/var/www/depot/www
mkdir "$out/site"
printf '# depot, installed\n\nServed by the Debian package over HTTPS.\n' >"$out/site/index.md"
/usr/bin/depot site build "$out/site" /var/www/depot/www --origin https://www.example.org

# README, Production, 3 (the unit's user, without systemd).
setpriv --reuid=depot --regid=depot --init-groups -- /usr/bin/depot serve --config /etc/depot/depot.toml \
	>"$out/depot-acme.log" 2>&1 &
serve=$!
pids+=($serve)
hosts=(www.example.org example.org yum.example.org deb.example.org)
resolve=()
for h in "${hosts[@]}"; do resolve+=(--resolve "$h:$https:127.0.0.1" --resolve "$h:$http:127.0.0.1"); done
curl_site=(curl -sS --noproxy '*' --cacert "$out/pebble/root.pem" "${resolve[@]}")
for h in "${hosts[@]}"; do
	wait_until 120 "certificate for $h from pebble" "${curl_site[@]}" -o /dev/null "https://$h:$https/"
done
"${curl_site[@]}" -f "https://www.example.org:$https/" >"$out/index.html"
grep -q 'depot, installed' "$out/index.html" || fail "https://www.example.org/ is not the built site: $(cat "$out/index.html")"
redirect=$("${curl_site[@]}" -o /dev/null -w '%{http_code} %{redirect_url}' "http://www.example.org:$http/a?b")
[ "$redirect" = "301 https://www.example.org:$https/a?b" ] || fail "plain HTTP answers '$redirect', want a 301 to HTTPS"
bad=$(find /var/lib/depot/acme \( -type d ! -perm 700 \) -o \( -type f ! -perm 600 \) -o ! -user depot)
[ -z "$bad" ] || fail "ACME storage not private to depot: $bad"

# README, Production, 4: Prometheus' scrape counts the verified request.
served() {
	"${curl_site[@]}" -f "http://127.0.0.1:$admin/metrics" |
		awk '/^depot_http_requests_total\{/ && /site="www.example.org"/ && /code="2xx"/ {n += $NF} END {print n + 0}'
}
before=$(served)
"${curl_site[@]}" -f -o /dev/null "https://www.example.org:$https/"
moved() { (($(served) > before)); }
wait_until 10 "depot_http_requests_total{site=\"www.example.org\",code=\"2xx\"} above $before" moved
[ "$("${curl_site[@]}" "http://127.0.0.1:$admin/healthz")" = ok ] || fail "/healthz does not answer ok"

# README, Production, 5: the CA is a host depot contacts, which the audit
# lists from <data_dir>/outbound.json (written every few seconds).
wait_until 30 "ACME CA in /var/lib/depot/outbound.json" grep -Eq '"purpose": *"acme"' /var/lib/depot/outbound.json
runuser -u depot -- /usr/bin/depot audit --config /etc/depot/depot.toml | tee "$out/audit"
grep -q "connected only to 127.0.0.1:$ca for \[acme\] ca" "$out/audit" || fail "depot audit does not list the ACME CA as the one host depot contacted"
# Its only warnings are about the onion service, whose name tor would
# choose (README, Production, 2): nothing here runs tor.
if grep '^  WARN ' "$out/audit" | grep -Ev '^  WARN  onion-(service|reachable) '; then
	fail "depot audit warns about more than the onion name this test cannot have"
fi

kill -TERM "$serve"
wait "$serve" || fail "depot serve did not exit 0 on SIGTERM"
running=()
for pid in "${pids[@]}"; do [ "$pid" = "$serve" ] || running+=("$pid"); done
pids=("${running[@]}")
find /var/www/depot/www -mindepth 1 -delete
built_site=""

echo "--- dpkg --purge"
dpkg --purge depot
left=()
for p in /usr/bin/depot /etc/depot /var/lib/depot /var/log/depot /run/depot /var/www/depot \
	/usr/lib/systemd/system/depot.service /usr/lib/systemd/system/depot-stats.service \
	/usr/lib/systemd/system/depot-stats.timer /usr/lib/tmpfiles.d/depot.conf /usr/share/doc/depot \
	/usr/share/man/man1/depot.1.gz; do
	[ -e "$p" ] && left+=("$p")
done
getent passwd depot >/dev/null && left+=("user depot")
getent group depot >/dev/null && left+=("group depot")
dpkg-query -W depot >/dev/null 2>&1 && left+=("dpkg still knows depot")
((${#left[@]} == 0)) || fail "left behind after dpkg --purge: ${left[*]}"
echo "--- purged; nothing left behind (the logs included: see packaging/debian/postrm)"

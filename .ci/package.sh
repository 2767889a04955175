#!/bin/bash
# .ci/package.sh: build the Debian package, install it with dpkg -i, run
# the installed depot (check of the shipped configuration, version, man
# pages, units), purge it, and fail on anything it leaves behind. .ci/run
# calls it as root on a Debian machine; it refuses to touch a machine
# where a package named depot is already installed.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo ".ci/package.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "must run as root (dpkg -i)"
if dpkg-query -W -f='${Status}' depot 2>/dev/null | grep -q 'installed'; then
	fail "a depot package is already installed here; remove it first"
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
deb=$(bash packaging/build-deb.sh "$out")
echo "--- built $(basename "$deb")"
dpkg-deb --info "$deb" | sed -n '/Package:/,/Description:/p'

echo "--- dpkg -i"
dpkg -i "$deb"

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

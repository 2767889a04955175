#!/bin/sh
# proxy.sh — requests per second through `depot proxy` and through tinyproxy
# 1.11 (Debian package tinyproxy), each pinned to core 0 (GOMAXPROCS=1 for
# depot), with wrk and the origin (a `depot serve` of one 4 KB file) sharing
# core 1. Both proxies check an allowlist naming only the origin, and
# neither logs requests.
#
# wrk has no proxy support; a Lua script sets the request target to the
# absolute form a proxy client sends ("GET http://localhost:PORT/... HTTP/1.1")
# while wrk connects to the proxy. Two cases: keep-alive connections, and
# "Connection: close" (a new connection per request, as apt and dnf open
# per host).
#
# Usage: bench/proxy.sh            (from the repository root)
#   DEPOT=path/to/depot  use this binary instead of building ./cmd/depot
#   DURATION=10s CONNS=32 PORT=18501   wrk duration, connections, first port
set -eu

DURATION=${DURATION:-10s}
CONNS=${CONNS:-32}
PORT=${PORT:-18501}
ORIGIN=$PORT
DPROXY=$((PORT + 1))
TPROXY=$((PORT + 2))

NAME=proxy.sh
. bench/lib.sh
need wrk tinyproxy curl taskset

mkdir -p "$work/www/repodata" "$work/logs"
head -c 4096 /dev/zero | tr '\0' 'x' >"$work/www/repodata/repomd.xml"

cat >"$work/origin.toml" <<TOML
log_dir = "$work/logs"
data_dir = "$work/data"
[[listen]]
address = "127.0.0.1:$ORIGIN"
[[site]]
hosts = ["*"]
root = "$work/www"
TOML
cat >"$work/proxy.toml" <<TOML
log_dir = "$work/logs"
[proxy]
listen = "127.0.0.1:$DPROXY"
allow = ["localhost:$ORIGIN"]
max_connections = 1024
TOML
printf '^localhost$\n' >"$work/filter"
cat >"$work/tinyproxy.conf" <<CONF
User nobody
Group nogroup
Port $TPROXY
Listen 127.0.0.1
Timeout 600
MaxClients 1024
LogLevel Critical
LogFile "/dev/null"
DisableViaHeader Yes
Allow 127.0.0.1
Filter "$work/filter"
FilterType ere
FilterDefaultDeny Yes
ConnectPort 443
CONF


target="http://localhost:$ORIGIN/repodata/repomd.xml"
GOMAXPROCS=1 taskset -c 1 "$DEPOT" serve --config "$work/origin.toml" >/dev/null 2>&1 &
pids="$pids $!"
wait_up "$target" ""
GOMAXPROCS=1 taskset -c 0 "$DEPOT" proxy --config "$work/proxy.toml" >/dev/null 2>&1 &
pids="$pids $!"
wait_up "$target" "-x http://127.0.0.1:$DPROXY"
taskset -c 0 tinyproxy -d -c "$work/tinyproxy.conf" >/dev/null 2>&1 &
pids="$pids $!"
wait_up "$target" "-x http://127.0.0.1:$TPROXY"

# Both refuse what their allowlist does not name.
for p in $DPROXY $TPROXY; do
	code=$(curl -s -o /dev/null -w '%{http_code}' -x "http://127.0.0.1:$p" "http://127.0.0.1:$ORIGIN/repodata/repomd.xml")
	[ "$code" = 403 ] || { echo "proxy.sh: proxy on :$p answered $code for an unlisted host, want 403" >&2; exit 1; }
done

for mode in keepalive close; do
	{
		echo "wrk.path = \"$target\""
		echo "wrk.headers[\"Host\"] = \"localhost:$ORIGIN\""
		[ "$mode" = close ] && echo 'wrk.headers["Connection"] = "close"'
	} >"$work/$mode.lua"
done

rps() { # proxy-port mode
	taskset -c 1 wrk -t1 -c"$CONNS" -d"$DURATION" -s "$work/$2.lua" "http://127.0.0.1:$1/" >"$work/wrk.out" 2>&1
	if grep -q 'Non-2xx' "$work/wrk.out"; then
		echo "proxy.sh: errors through :$1 ($2):" >&2; cat "$work/wrk.out" >&2; exit 1
	fi
	awk '/Requests\/sec/ {print int($2)}' "$work/wrk.out"
}

echo "command: taskset -c 1 wrk -t1 -c$CONNS -d$DURATION -s {keepalive,close}.lua http://127.0.0.1:PROXYPORT/"
echo "         (proxies on taskset -c 0; origin depot serve on core 1 with wrk)"
printf '%-24s %10s %10s %10s\n' case depot tinyproxy ratio
for mode in keepalive close; do
	d=$(rps "$DPROXY" "$mode")
	t=$(rps "$TPROXY" "$mode")
	printf '%-24s %10s %10s %9sx\n' "4KB GET req/s ($mode)" "$d" "$t" "$(awk "BEGIN {printf \"%.2f\", $d / $t}")"
done

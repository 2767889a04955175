#!/bin/sh
# metalink.sh — live metalink responses per second of `depot serve`, on one
# core (taskset -c 0, GOMAXPROCS=1) with wrk on the other (taskset -c 1).
#
# It builds a yum repository with createrepo_c, a mirror network of five
# mirrors (a second depot serving copies of the tree), runs
# `depot mirrors check`, starts `depot serve` with metalinks = true and
# measures GET .../repodata/repomd.xml.metalink over plain HTTP, with the
# access log on (each request is logged, as in production).
#
# Usage: bench/metalink.sh            (from the repository root)
#   DEPOT=path/to/depot  use this binary instead of building ./cmd/depot
#   DURATION=10s CONNS=32 PORT=18401   wrk duration, connections, first port
set -eu

DURATION=${DURATION:-10s}
CONNS=${CONNS:-32}
PORT=${PORT:-18401}
MPORT=$((PORT + 1))

NAME=metalink.sh
. bench/lib.sh
need wrk createrepo_c curl taskset

mkdir -p "$work/origin/r4.2/current/host/fc37" "$work/mirror" "$work/logs" "$work/mlogs"
createrepo_c --quiet "$work/origin/r4.2/current/host/fc37"
for i in 1 2 3 4 5; do cp -a "$work/origin" "$work/mirror/m$i"; done

cat >"$work/mirror.toml" <<TOML
log_dir = "$work/mlogs"
data_dir = "$work/mdata"
[[listen]]
address = "127.0.0.1:$MPORT"
[[site]]
hosts = ["*"]
root = "$work/mirror"
TOML

{
	cat <<TOML
log_dir = "$work/logs"
data_dir = "$work/data"
[[listen]]
address = "127.0.0.1:$PORT"
[[site]]
hosts = ["*"]
root = "$work/origin"
base_url = "http://127.0.0.1:$PORT/"
metalinks = true
TOML
	for i in 1 2 3 4 5; do
		printf '[[mirror]]\nname = "m%s"\nurl = "http://127.0.0.1:%s/m%s/"\ncountry = "DE"\ncontinent = "EU"\n' "$i" "$MPORT" "$i"
	done
} >"$work/origin.toml"


"$DEPOT" serve --config "$work/mirror.toml" >/dev/null 2>&1 &
pids="$pids $!"
wait_up "http://127.0.0.1:$MPORT/m1/r4.2/current/host/fc37/repodata/repomd.xml"
"$DEPOT" mirrors check --config "$work/origin.toml" --timeout 5s >/dev/null

GOMAXPROCS=1 taskset -c 0 "$DEPOT" serve --config "$work/origin.toml" >/dev/null 2>&1 &
pids="$pids $!"
url="http://127.0.0.1:$PORT/r4.2/current/host/fc37/repodata/repomd.xml.metalink"
wait_up "http://127.0.0.1:$PORT/r4.2/current/host/fc37/repodata/repomd.xml"
if ! curl -sf "$url" | grep -q 'mm0:timestamp'; then
	echo "metalink.sh: $url is not a metalink; is the mirrors package wired into serve?" >&2
	exit 1
fi
mirrors=$(curl -sf "$url" | grep -c '<url ')
echo "metalink: $(curl -sf "$url" | wc -c) bytes, $mirrors URLs (5 mirrors + base_url)"
echo "command: taskset -c 1 wrk -t1 -c$CONNS -d$DURATION $url   (depot serve on taskset -c 0)"
taskset -c 1 wrk -t1 -c"$CONNS" -d"$DURATION" "$url"

# For scale, on the same server in the same run: the static repomd.xml.
static="http://127.0.0.1:$PORT/r4.2/current/host/fc37/repodata/repomd.xml"
echo
echo "for comparison, the static file: taskset -c 1 wrk -t1 -c$CONNS -d$DURATION $static"
taskset -c 1 wrk -t1 -c"$CONNS" -d"$DURATION" "$static"

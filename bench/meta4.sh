#!/bin/sh
# meta4.sh — CPU that `depot serve` spends answering N concurrent first
# requests of FILE.meta4 for a large ISO (issue 9: 16 requests for a 300 MB
# ISO cost 4.1 s of CPU, one hash each). The file is random data, read
# once beforehand so it is in the page cache; depot's CPU time (user +
# system, from /proc/PID/stat) is taken before and after the requests.
#
# Usage: bench/meta4.sh            (from the repository root)
#   DEPOT=path/to/depot  use this binary instead of building ./cmd/depot
#   SIZE_MB=300 N=16 PORT=18411
set -eu

SIZE_MB=${SIZE_MB:-300}
N=${N:-16}
PORT=${PORT:-18411}

NAME=meta4.sh
. bench/lib.sh
need curl

mkdir -p "$work/www/iso" "$work/logs"
echo up >"$work/www/index.html"
head -c "${SIZE_MB}M" /dev/urandom >"$work/www/iso/big.iso"
cat "$work/www/iso/big.iso" >/dev/null
cat >"$work/depot.toml" <<TOML
log_dir = "$work/logs"
data_dir = "$work/data"
[[listen]]
address = "127.0.0.1:$PORT"
[[site]]
hosts = ["*"]
root = "$work/www"
base_url = "http://127.0.0.1:$PORT/"
metalinks = true
TOML

"$DEPOT" serve --config "$work/depot.toml" >"$work/out" 2>&1 &
pid=$!
pids="$pids $pid"
wait_up "http://127.0.0.1:$PORT/" || { cat "$work/out" >&2; exit 1; }

cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
before=$(cpu "$pid")
start=$(date +%s.%N)
i=0
curls=""
while [ "$i" -lt "$N" ]; do
	curl -sf -o /dev/null "http://127.0.0.1:$PORT/iso/big.iso.meta4" &
	curls="$curls $!"
	i=$((i + 1))
done
wait_failed=0
for j in $curls; do wait "$j" || wait_failed=1; done
end=$(date +%s.%N)
after=$(cpu "$pid")
[ "$wait_failed" = 0 ] || { echo "$NAME: a request failed" >&2; exit 1; }
echo "$N concurrent first requests of a ${SIZE_MB} MB ISO's .meta4:"
awk -v b="$before" -v a="$after" -v hz="$hz" -v s="$start" -v e="$end" \
	'BEGIN { printf "  depot CPU %.2f s, wall %.2f s\n", (a - b) / hz, e - s }'

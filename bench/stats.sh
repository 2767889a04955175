#!/bin/sh
# Benchmark `depot stats update` against GoAccess on one synthetic log.
#
#   bench/stats.sh            # 5M lines, ~1M distinct addresses
#   N=500000 bench/stats.sh   # quicker
#
# Needs go, goaccess and GNU time (/usr/bin/time -v). Prints lines/s and peak
# RSS of each, and the ratios.
set -eu
cd "$(dirname "$0")/.."
N=${N:-5000000}
ADDRS=${ADDRS:-1000000}
WORK=${WORK:-$(mktemp -d)}
EXITS=${EXITS:-testdata/qubes-method/exit-lists}  # the shared case, copied into the repository

go build -o "$WORK/depot" ./cmd/depot
go build -o "$WORK/genlog" ./bench/genlog
[ -f "$WORK/access.log" ] || "$WORK/genlog" -n "$N" -addrs "$ADDRS" -o "$WORK/access.log"
size=$(du -m "$WORK/access.log" | cut -f1)
echo "log: $WORK/access.log, $N lines, ${size} MB; $(nproc) cores"

exitflag=""
[ -d "$EXITS" ] && exitflag="--exit-lists $EXITS"

measure() { # name, command...
	name=$1; shift
	/usr/bin/time -v "$@" >"$WORK/$name.out" 2>"$WORK/$name.time"
	secs=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,p,":"); s=0; for(i=1;i<=n;i++) s=s*60+p[i]; print s}' "$WORK/$name.time")
	rss=$(awk -F': ' '/Maximum resident set size/ {print int($2/1024)}' "$WORK/$name.time")
	echo "$name $secs $rss"
}

d=$(measure depot "$WORK/depot" stats update --logs "$WORK/access.log" $exitflag \
	--data "$WORK/stats.json" --month 2026-09 --month 2026-10 --month 2026-11)
g=$(measure goaccess goaccess "$WORK/access.log" --log-format=COMBINED -o json)

echo "$d
$g" | awk -v n="$N" '
	{ name[NR]=$1; secs[NR]=$2; rss[NR]=$3 }
	END {
		printf "%-10s %10s %14s %12s\n", "tool", "seconds", "lines/s", "peak RSS MB"
		for (i = 1; i <= NR; i++)
			printf "%-10s %10.2f %14.0f %12d\n", name[i], secs[i], n/secs[i], rss[i]
		printf "depot is %.1fx as fast as GoAccess and uses %.2fx its peak memory\n", secs[2]/secs[1], rss[1]/rss[2]
	}'
echo "depot's figures:"
"$WORK/depot" stats show --data "$WORK/stats.json" | head -6

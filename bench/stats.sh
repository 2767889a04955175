#!/bin/sh
# Benchmark `depot stats update` against GoAccess on one synthetic log, then
# on three nodes' logs (NODES=3 files of N lines each, the same address
# pool, other seeds) read together as a statistics host does, against one
# file holding all their lines: the figures must be identical.
#
#   bench/stats.sh               # 5M lines, ~1M distinct addresses; 3 nodes of 5M
#   N=500000 bench/stats.sh      # quicker
#   NODES=0 bench/stats.sh       # the single file only
#   GOACCESS=0 bench/stats.sh    # without GoAccess (two minutes for 5M lines)
#
# Needs go, goaccess and GNU time (/usr/bin/time -v). Prints lines/s and peak
# RSS of each, and the ratios.
set -eu
cd "$(dirname "$0")/.."
N=${N:-5000000}
NODES=${NODES:-3}
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
if [ "${GOACCESS:-1}" != 0 ]; then
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
fi
echo "depot's figures:"
"$WORK/depot" stats show --data "$WORK/stats.json" | head -6

[ "$NODES" -gt 0 ] || exit 0

# Several nodes: one log per node over the same clients, read through a
# configuration with [stats.nodes], as on a statistics host.
total=$((N * NODES))
mkdir -p "$WORK/nodes" "$WORK/www" "$WORK/data"
cfg="$WORK/nodes.toml"
printf 'log_dir = "%s/data"\ndata_dir = "%s/data"\n[[listen]]\naddress = "127.0.0.1:0"\n[[site]]\nhosts = ["*"]\nroot = "%s/www"\n[stats]\nlogs = ["%s/nodes/*/access.log*"]\ndata = "%s/nodes.json"\n' \
	"$WORK" "$WORK" "$WORK" "$WORK" "$WORK" >"$cfg"
[ -d "$EXITS" ] && printf 'exit_lists = "%s"\n' "$(cd "$EXITS" && pwd)" >>"$cfg"
printf '[stats.nodes]\n' >>"$cfg"
for i in $(seq "$NODES"); do
	mkdir -p "$WORK/nodes/n$i"
	[ -f "$WORK/nodes/n$i/access.log" ] || "$WORK/genlog" -n "$N" -addrs "$ADDRS" -seed "$i" -o "$WORK/nodes/n$i/access.log"
	printf 'n%s = "%s/nodes/n%s"\n' "$i" "$WORK" "$i" >>"$cfg"
done
[ -f "$WORK/all.log" ] || cat "$WORK"/nodes/n*/access.log >"$WORK/all.log"
echo "$NODES nodes: $total lines, $(du -cm "$WORK"/nodes/n*/access.log | tail -1 | cut -f1) MB; one combined file of the same lines"
months="--month 2026-09 --month 2026-10 --month 2026-11"
r=$(measure nodes "$WORK/depot" stats update --config "$cfg" $months)
r1=$(measure nodes-1core env GOMAXPROCS=1 "$WORK/depot" stats update --config "$cfg" $months)
c=$(measure combined "$WORK/depot" stats update --logs "$WORK/all.log" $exitflag --data "$WORK/all.json" $months)
echo "$d
$r
$r1
$c" | awk -v n="$N" -v total="$total" -v cores="$(nproc)" '
	{ name[NR]=$1; secs[NR]=$2; rss[NR]=$3 }
	END {
		printf "%-12s %8s %10s %12s %14s %12s\n", "case", "lines", "seconds", "lines/s", "lines/s/core", "peak RSS MB"
		for (i = 1; i <= NR; i++) {
			l = (i == 1) ? n : total; c = (name[i] == "nodes-1core") ? 1 : cores
			printf "%-12s %8d %10.2f %12.0f %14.0f %12d\n", name[i], l, secs[i], l/secs[i], l/secs[i]/c, rss[i]
		}
		printf "the nodes are read at %.2fx the lines/s of one file of %d lines, %.2fx that of one file of the same %d lines\n", \
			(total/secs[2])/(n/secs[1]), n, secs[4]/secs[2], total
	}'
# The figures of the nodes read together are those of the one file.
"$WORK/depot" stats show --data "$WORK/nodes.json" | sed -n '2,4p' >"$WORK/nodes.show"
"$WORK/depot" stats show --data "$WORK/all.json" | sed -n '2,4p' >"$WORK/all.show"
if cmp -s "$WORK/nodes.show" "$WORK/all.show"; then
	echo "figures over the nodes = figures over the combined file:"
	cat "$WORK/nodes.show"
else
	echo "FIGURES DIFFER: nodes vs combined" >&2
	diff "$WORK/nodes.show" "$WORK/all.show" >&2
	exit 1
fi

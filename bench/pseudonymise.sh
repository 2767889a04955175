#!/bin/sh
# Benchmark `depot logs pseudonymise` on the synthetic log of bench/genlog
# (the one bench/stats.sh uses): lines rewritten per second on one core
# (GOMAXPROCS=1) and on all, for the log as a plain rotated file and as a
# gzip -6 file, beside the cost floor of any rewrite of the gzip file
# (gzip -dc | gzip -6). "cpu s" is user + system time: on a machine shared
# with other work it is the fairer measure of the work done, and
# "lines/cpu-s" the rate per core.
#
#   bench/pseudonymise.sh            # 5M lines, ~1M distinct addresses
#   N=500000 bench/pseudonymise.sh   # quicker
#
# Needs go, gzip and GNU time (/usr/bin/time -v).
set -eu
cd "$(dirname "$0")/.."
N=${N:-5000000}
ADDRS=${ADDRS:-1000000}
WORK=${WORK:-$(mktemp -d)}
EXITS=${EXITS:-testdata/qubes-method/exit-lists}

go build -o "$WORK/depot" ./cmd/depot
go build -o "$WORK/genlog" ./bench/genlog
[ -f "$WORK/access.log" ] || "$WORK/genlog" -n "$N" -addrs "$ADDRS" -o "$WORK/access.log"
[ -f "$WORK/access.log.gz" ] || gzip -6 -c "$WORK/access.log" >"$WORK/access.log.gz"
echo "log: $WORK/access.log, $N lines, $(du -m "$WORK/access.log" | cut -f1) MB ($(du -m "$WORK/access.log.gz" | cut -f1) MB gzip -6); $(nproc) cores"

seconds() { # the wall-clock seconds of a /usr/bin/time -v report
	awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,p,":"); s=0; for(i=1;i<=n;i++) s=s*60+p[i]; print s}' "$1"
}
rss() { awk -F': ' '/Maximum resident set size/ {print int($2/1024)}' "$1"; }
cpu() { awk -F': ' '/User time|System time/ {s+=$2} END {print s}' "$1"; }

printf "%-34s %9s %12s %9s %13s %12s\n" "case" "seconds" "lines/s" "cpu s" "lines/cpu-s" "peak RSS MB"
for format in plain gzip; do
	for procs in 1 $(nproc); do
		rm -rf "$WORK/logs" && mkdir "$WORK/logs"
		if [ "$format" = plain ]; then
			cp "$WORK/access.log" "$WORK/logs/access.log-20261130"
		else
			cp "$WORK/access.log.gz" "$WORK/logs/access.log-20261130.gz"
		fi
		GOMAXPROCS=$procs /usr/bin/time -v "$WORK/depot" logs pseudonymise --dir "$WORK/logs" \
			--exit-lists "$EXITS" --now 2026-12-08 >"$WORK/out" 2>"$WORK/time"
		grep -q "pseudonymised 2026-11" "$WORK/out" || { cat "$WORK/out" "$WORK/time"; exit 1; }
		s=$(seconds "$WORK/time")
		c=$(cpu "$WORK/time")
		printf "%-34s %9.2f %12.0f %9.2f %13.0f %12d\n" "depot $format, GOMAXPROCS=$procs" "$s" "$(echo "$N $s" | awk '{print $1/$2}')" \
			"$c" "$(echo "$N $c" | awk '{print $1/$2}')" "$(rss "$WORK/time")"
	done
done
/usr/bin/time -v sh -c "gzip -dc '$WORK/access.log.gz' | gzip -6 >'$WORK/regz.gz'" 2>"$WORK/time"
s=$(seconds "$WORK/time")
c=$(cpu "$WORK/time")
printf "%-34s %9.2f %12.0f %9.2f %13.0f\n" "gzip -dc | gzip -6 (floor)" "$s" "$(echo "$N $s" | awk '{print $1/$2}')" "$c" "$(echo "$N $c" | awk '{print $1/$2}')"
"$WORK/depot" stats update --logs "$WORK/logs/access.log-20261130.gz" --exit-lists "$EXITS" \
	--data "$WORK/after.json" --month 2026-09 --month 2026-10 --month 2026-11 2>/dev/null >/dev/null
"$WORK/depot" stats update --logs "$WORK/access.log.gz" --exit-lists "$EXITS" \
	--data "$WORK/before.json" --month 2026-09 --month 2026-10 --month 2026-11 2>/dev/null >/dev/null
"$WORK/depot" stats show --data "$WORK/before.json" | grep -v '^last updated' >"$WORK/before.txt"
"$WORK/depot" stats show --data "$WORK/after.json" | grep -v '^last updated' >"$WORK/after.txt"
if cmp -s "$WORK/before.txt" "$WORK/after.txt"; then echo "figures identical before and after"; else diff "$WORK/before.txt" "$WORK/after.txt"; exit 1; fi

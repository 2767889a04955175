#!/bin/sh
# Benchmark: how long `depot audit` takes
#   1. on the embedded demo, live, against a running `depot serve`;
#   2. offline over about 1 GB of access log (bench/genlog, dated from the
#      oldest month kept to today, so that the audit passes), first as one
#      plain file, then as 90 gzip files (logrotate's numbered names);
#      [stats] reads the same files and the statistics are computed first,
#      so the published pages are rendered and scanned too.
#
#   bench/audit.sh              # N=6500000 lines, about 1 GB
#   N=500000 bench/audit.sh     # quicker
#
# Needs go, curl, gzip, split and GNU time (/usr/bin/time -v). The demo part
# needs 127.0.0.1:8080 and :8081 free, and is skipped otherwise.
set -eu
cd "$(dirname "$0")/.."
NAME=audit.sh
. bench/lib.sh
need curl gzip split /usr/bin/time
N=${N:-6500000}

# measure NAME CMD...: runs CMD, prints "NAME wall-seconds cpu-seconds
# peak-RSS-MB exit". CPU seconds (user + system) tell what the audit costs
# on a machine shared with other work, where wall time also counts waiting.
measure() {
	name=$1
	shift
	set +e
	/usr/bin/time -v "$@" >"$work/$name.out" 2>"$work/$name.time"
	rc=$?
	set -e
	secs=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,p,":"); s=0; for(i=1;i<=n;i++) s=s*60+p[i]; print s}' "$work/$name.time")
	cpu=$(awk -F': ' '/User time|System time/ {s+=$2} END {printf "%.2f", s}' "$work/$name.time")
	rss=$(awk -F': ' '/Maximum resident set size/ {print int($2/1024)}' "$work/$name.time")
	printf '%-34s %8s %8s %8s %5s\n' "$name" "$secs" "$cpu" "$rss" "$rc"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(go version | cut -d' ' -f3); load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-34s %8s %8s %8s %5s\n' "case" "wall s" "CPU s" "RSS MB" "exit"

# 1. The demo, live.
if curl -s -o /dev/null http://127.0.0.1:8080/ || curl -s -o /dev/null http://127.0.0.1:8081/; then
	echo "demo: 127.0.0.1:8080 or :8081 is taken; skipped" >&2
else
	mkdir "$work/demo"
	(cd "$work/demo" && exec "$DEPOT" serve) >"$work/demo-serve.out" 2>&1 &
	pids="$pids $!"
	wait_up http://127.0.0.1:8080/
	for i in 1 2 3; do
		(cd "$work/demo" && measure "demo, live, run $i" "$DEPOT" audit)
	done
fi

# 2. About 1 GB of logs, offline.
go build -o "$work/genlog" ./bench/genlog
first=$(date -u -d "$(date -u +%Y-%m-01) -2 month" +%Y-%m-%d)
today=$(date -u +%Y-%m-%d)
[ "$today" = "$first" ] && today=$(date -u -d "$first +1 day" +%Y-%m-%d)
mkdir -p "$work/logs" "$work/data" "$work/www"
echo '<!DOCTYPE html><title>x</title>' >"$work/www/index.html"
"$work/genlog" -n "$N" -from "$first" -to "$today" -o "$work/logs/access.log"
cat >"$work/depot.toml" <<TOML
log_dir = "$work/logs"
data_dir = "$work/data"
[[listen]]
address = "127.0.0.1:1"
[[listen]]
address = "127.0.0.1:2"
onion = true
[[site]]
hosts = ["*"]
root = "$work/www"
stats_path = "/statistics/"
[stats]
logs = ["$work/logs/access.log*"]
TOML
"$DEPOT" stats update --config "$work/depot.toml" >/dev/null 2>&1
cat "$work/logs/access.log" >/dev/null # warm the page cache
echo "logs: $N lines, $(du -m "$work/logs/access.log" | cut -f1) MB, $first to $today"
measure "1 plain file, offline" "$DEPOT" audit --offline --config "$work/depot.toml"
measure "1 plain file, offline, again" "$DEPOT" audit --offline --config "$work/depot.toml"

(cd "$work/logs" && split -n l/90 -d -a 2 access.log access.log. && rm access.log &&
	ls access.log.* | xargs -P "$(nproc)" -n 8 gzip -6)
cat "$work"/logs/*.gz >/dev/null
echo "logs: 90 gzip files, $(du -cm "$work"/logs/*.gz | tail -1 | cut -f1) MB compressed"
measure "90 gzip files, offline" "$DEPOT" audit --offline --config "$work/depot.toml"
measure "90 gzip files, offline, again" "$DEPOT" audit --offline --config "$work/depot.toml"
grep -h "retention-enforced\|published-no-address" "$work/90 gzip files, offline.out" | cut -c1-160

#!/usr/bin/env bash
# Benchmark: `depot logs search --ip X` against `zcat ... | grep -F X` over a
# month of daily-rotated, gzip-compressed access logs (over 1 GB
# uncompressed), generated deterministically by bench/gensearch.
#
# Usage: bench/search.sh [WORKDIR]     (default /tmp/depot-bench-search)
#
# It times, once each after warming the page cache:
#   1. zcat | grep -F over depot's files (indexed gzip, which zcat reads as
#      ordinary multi-member gzip);
#   2. depot logs search --ip over the same files;
#   3. depot logs search --ip over ordinary gzip -6 files (nginx+logrotate),
#      where no index exists and every byte must be inflated;
#   4. both tools for an address on 1% of all lines (no block skipped).
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/depot-bench-search}
needle=203.0.113.77
mkdir -p "$work"

go build -o "$work/depot" ./cmd/depot
if [ ! -e "$work/done" ]; then
	rm -rf "$work/depot-gz" "$work/plain-gz"
	go run ./bench/gensearch -dir "$work/depot-gz" -plain-gzip "$work/plain-gz" -days 30
	touch "$work/done"
fi
raw=$(zcat "$work"/depot-gz/*.gz | wc -c)
echo "logs: $(ls "$work"/depot-gz | wc -l) daily files, $((raw / 1000000)) MB uncompressed;" \
	"depot gz $(du -sm "$work/depot-gz" | cut -f1) MiB, gzip -6 $(du -sm "$work/plain-gz" | cut -f1) MiB"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
cat "$work"/depot-gz/* "$work"/plain-gz/* > /dev/null # warm the page cache

# secs CMD... runs CMD with its output to $work/out and prints seconds.
secs() {
	local t0 t1
	t0=$(date +%s.%N)
	"$@" > "$work/out"
	t1=$(date +%s.%N)
	echo "$t1 - $t0" | bc
}
ratio() { echo "scale=1; $1 / $2" | bc; }

zgrep_ip() { zcat "$work"/depot-gz/*.gz | grep -F "$1"; }
depot_ip() { "$work/depot" logs search --dir "$1" --ip "$2"; }

t_grep=$(secs zgrep_ip "$needle"); n_grep=$(wc -l < "$work/out")
t_depot=$(secs depot_ip "$work/depot-gz" "$needle"); n_depot=$(wc -l < "$work/out")
t_plain=$(secs depot_ip "$work/plain-gz" "$needle"); n_plain=$(wc -l < "$work/out")

# A busy address, on 1% of every day's lines: every block must be inflated.
busy=198.51.100.1
t_grep_busy=$(secs zgrep_ip "$busy "); n_grep_busy=$(wc -l < "$work/out")
t_depot_busy=$(secs depot_ip "$work/depot-gz" "$busy"); n_depot_busy=$(wc -l < "$work/out")

printf '%-58s %8s %8s\n' "command" "seconds" "lines"
printf '%-58s %8.2f %8d\n' "zcat depot-gz/*.gz | grep -F $needle" "$t_grep" "$n_grep"
printf '%-58s %8.2f %8d\n' "depot logs search --ip $needle (depot's .gz)" "$t_depot" "$n_depot"
printf '%-58s %8.2f %8d\n' "depot logs search --ip $needle (gzip -6 .gz)" "$t_plain" "$n_plain"
printf '%-58s %8.2f %8d\n' "zcat depot-gz/*.gz | grep -F '$busy '" "$t_grep_busy" "$n_grep_busy"
printf '%-58s %8.2f %8d\n' "depot logs search --ip $busy (depot's .gz)" "$t_depot_busy" "$n_depot_busy"
echo "ratio zcat|grep / depot, rare address, depot's files:  $(ratio "$t_grep" "$t_depot")x"
echo "ratio zcat|grep / depot, rare address, gzip -6 files:  $(ratio "$t_grep" "$t_plain")x"
echo "ratio zcat|grep / depot, busy address, depot's files:  $(ratio "$t_grep_busy" "$t_depot_busy")x"
if [ "$n_grep" != "$n_depot" ] || [ "$n_depot" != "$n_plain" ] || [ "$n_grep_busy" != "$n_depot_busy" ]; then
	echo "MISMATCH: the tools found different numbers of lines" >&2
	exit 1
fi

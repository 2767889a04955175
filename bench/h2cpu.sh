#!/usr/bin/env bash
# bench/h2cpu.sh — CPU time per HTTP/2 request of two builds of depot, for
# A/B steps finer than bench/serve.sh's req/s can resolve on a shared
# machine: both serve the same 4 KB repomd.xml over TLS 1.3 (one core each,
# GOMAXPROCS=1, logs on), h2load asks each in turn for N requests
# (-t1 -c4 -m100, as serve.sh's HTTP/2 case), and the server's utime+stime
# from /proc over those requests gives microseconds per request. Prints
# every round, the medians and the median of the rounds' after/before
# ratios.
#
#   bash bench/h2cpu.sh REV                 # REV (built from git) against the working tree
#   bash bench/h2cpu.sh REV1 REV2           # two revisions
#   ROUNDS=9 N=40000 bash bench/h2cpu.sh HEAD~3
#   ENV_A="GOGC=400" / ENV_B=...            # environment of either server
#   NGINX=1 bash bench/h2cpu.sh main       # nginx (one worker, http2, same
#                                          # certificate and logs on) too
#
# Needs: go, git, h2load, curl, openssl, taskset, ss.
set -euo pipefail
ROUNDS=${ROUNDS:-9}
N=${N:-40000}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
[ $# -ge 1 ] || { echo "usage: bash bench/h2cpu.sh REV [REV2]" >&2; exit 2; }
for tool in go git h2load curl openssl taskset ss; do
  command -v "$tool" >/dev/null || { echo "bench/h2cpu.sh: $tool is not installed" >&2; exit 1; }
done

repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/depot-bench-h2cpu.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

build() { # rev out: "" is the working tree
  if [ -z "$1" ]; then
    (cd "$repo" && go build -o "$2" ./cmd/depot)
  else
    mkdir -p "$work/src-$1"
    git -C "$repo" archive "$1" | tar -x -C "$work/src-$1"
    (cd "$work/src-$1" && go build -o "$2" ./cmd/depot)
  fi
}
build "$1" "$work/depot-a"
build "${2:-}" "$work/depot-b"

root=$work/root
small=/r4.2/current/host/fc37/repodata/repomd.xml
mkdir -p "$root/r4.2/current/host/fc37/repodata"
head -c 4096 /dev/urandom | base64 -w 76 | head -c 4096 > "$root$small"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
  -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null

# Below the usual ephemeral range (32768-60999), where an outgoing
# connection of anything else on the machine could hold the port.
P=${PORT_BASE:-28500}
start() { # name port env
  local port=$2
  ss -Hltn "sport = :$port" | grep -q . && { echo "bench/h2cpu.sh: port $port is in use (set PORT_BASE)" >&2; exit 1; }
  mkdir -p "$work/logs-$1"
  cat > "$work/$1.toml" <<TOML
log_dir = "$work/logs-$1"
data_dir = "$work"
[[listen]]
address = "127.0.0.1:$port"
tls_cert = "$work/cert.pem"
tls_key = "$work/key.pem"
[[site]]
hosts = ["*"]
root = "$root"
TOML
  env $3 GOMAXPROCS=1 taskset -c "$SERVER_CPU" "$work/depot-$1" serve --config "$work/$1.toml" >"$work/$1.out" 2>&1 &
  pids+=($!)
}
start a "$P" "${ENV_A:-}"
pa=${pids[-1]}
start b $((P + 1)) "${ENV_B:-}"
pb=${pids[-1]}
ports=("$P" $((P + 1)))
if [ -n "${NGINX:-}" ]; then
  command -v nginx >/dev/null || { echo "bench/h2cpu.sh: nginx is not installed" >&2; exit 1; }
  chmod 755 "$work" && chmod 644 "$work/key.pem" # nginx's worker runs as www-data
  . "$repo/bench/nginx.sh"
  nginx_conf "$work" "$root" "127.0.0.1:$((P + 2)) ssl http2"
  taskset -c "$SERVER_CPU" nginx -c "$work/nginx.conf" -e "$work/logs-nginx/error.log" >"$work/nginx.out" 2>&1 &
  pids+=($!)
  ports+=($((P + 2)))
fi
for port in "${ports[@]}"; do
  for _ in $(seq 50); do curl -skf -o /dev/null "https://127.0.0.1:$port$small" && break; sleep 0.2; done
  curl -skf -o /dev/null "https://127.0.0.1:$port$small" || { echo "the server on $port did not start:" >&2; cat "$work"/*.out >&2; exit 1; }
done
pn=""
[ -n "${NGINX:-}" ] && pn=$(pgrep -P "${pids[-1]}" nginx | head -1) # the worker
sleep 1.2 # files younger than a second are not cached

ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
run() { # pid port: prints us/request
  local before after
  before=$(cpu "$1")
  taskset -c "$CLIENT_CPU" h2load -t1 -c4 -m100 -n "$N" "https://127.0.0.1:$2$small" > "$work/h2load.out"
  after=$(cpu "$1")
  grep -q " 0 failed, 0 errored, 0 timeout" "$work/h2load.out" || { echo "bench/h2cpu.sh: requests failed:" >&2; cat "$work/h2load.out" >&2; exit 1; }
  awk -v d=$((after - before)) -v t="$ticks" -v n="$N" 'BEGIN {printf "%.1f\n", d / t * 1e6 / n}'
}
run "$pa" "$P" >/dev/null # warm up both
run "$pb" $((P + 1)) >/dev/null
[ -n "$pn" ] && run "$pn" $((P + 2)) >/dev/null
res=()
for i in $(seq "$ROUNDS"); do
  a=$(run "$pa" "$P")
  b=$(run "$pb" $((P + 1)))
  n=-
  [ -n "$pn" ] && n=$(run "$pn" $((P + 2)))
  echo "round $i: before ${1} $a us/request, after ${2:-working tree} $b us/request, nginx $n us/request"
  res+=("$a $b $n")
done
median() { sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
ma=$(printf '%s\n' "${res[@]}" | cut -d' ' -f1 | median)
mb=$(printf '%s\n' "${res[@]}" | cut -d' ' -f2 | median)
mr=$(printf '%s\n' "${res[@]}" | awk '{printf "%.3f\n", $2 / $1}' | median)
echo "median CPU per request: before $ma us, after $mb us; median ratio after/before $mr over $ROUNDS rounds"
if [ -n "$pn" ]; then
  mn=$(printf '%s\n' "${res[@]}" | cut -d' ' -f3 | median)
  echo "nginx: median $mn us per request; median ratio nginx/after $(printf '%s\n' "${res[@]}" | awk '{printf "%.3f\n", $3 / $2}' | median) (what req/s would be, both on one busy core)"
fi
echo "machine: $(nproc) cores, $(uname -sr), $(go version | cut -d' ' -f3), load $(cut -d' ' -f1-3 /proc/loadavg)"

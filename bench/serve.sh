#!/usr/bin/env bash
# bench/serve.sh — depot, nginx and Caddy serve the same tree with access
# logs on, each pinned to one core, with wrk pinned to the other. Prints
# requests/s for a 4 KB repomd.xml and a 404, MB/s for a 100 MB file, and
# depot's ratio to each peer. A second depot with metrics on (an [admin]
# listener) serves the same tree: "metrics" is its ratio to depot without.
#
#   bash bench/serve.sh            # DURATION=10 CONNS=50 by default
#   DURATION=5 bash bench/serve.sh
#   AB=8 DURATION=5 bash bench/serve.sh   # only depot vs depot+metrics on the
#                                         # 4 KB file, 8 alternating rounds
#
# Needs: go, nginx, caddy, wrk, taskset (Debian: nginx caddy wrk util-linux).
set -euo pipefail
DURATION=${DURATION:-10}
CONNS=${CONNS:-50}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
for tool in go nginx caddy wrk taskset; do
  command -v "$tool" >/dev/null || { echo "bench/serve.sh: $tool is not installed (apt-get install nginx caddy wrk)" >&2; exit 1; }
done

repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/depot-bench-serve.XXXXXX)
chmod 755 "$work"  # nginx workers run as www-data
pids=()
KEEP=${KEEP:-}
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; [ -n "$KEEP" ] || rm -rf "$work"; }
trap cleanup EXIT

# The tree: a 4 KB repomd.xml and a 100 MB file.
root=$work/root
mkdir -p "$root/r4.2/current/host/fc37/repodata" "$root/iso" "$work/logs-depot" "$work/logs-nginx" "$work/logs-caddy"
head -c 4096 /dev/urandom | base64 -w 76 | head -c 4096 > "$root/r4.2/current/host/fc37/repodata/repomd.xml"
head -c $((100 * 1024 * 1024)) /dev/zero > "$root/iso/big.iso"

(cd "$repo" && go build -o "$work/depot" ./cmd/depot)

cat > "$work/depot.toml" <<TOML
log_dir = "$work/logs-depot"
data_dir = "$work"
[[listen]]
address = "127.0.0.1:38080"
[[site]]
hosts = ["*"]
root = "$root"
TOML
sed -e 's/38080/38083/' -e "s|logs-depot|logs-depot-m|" "$work/depot.toml" > "$work/depot-m.toml"
mkdir -p "$work/logs-depot-m"
printf '[admin]\naddress = "127.0.0.1:38093"\n' >> "$work/depot-m.toml"

cat > "$work/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/logs-nginx/error.log;
events { worker_connections 1024; }
http {
  types { application/xml xml; application/x-iso9660-image iso; }
  access_log $work/logs-nginx/access.log combined;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path $work/nginx-tmp;
  proxy_temp_path $work/nginx-tmp;
  fastcgi_temp_path $work/nginx-tmp;
  uwsgi_temp_path $work/nginx-tmp;
  scgi_temp_path $work/nginx-tmp;
  server { listen 127.0.0.1:38081; root $root; }
}
CONF

cat > "$work/Caddyfile" <<CONF
{
  admin off
  auto_https off
}
http://:38082 {
  bind 127.0.0.1
  root * $root
  file_server
  log {
    output file $work/logs-caddy/access.log
  }
}
CONF

GOMAXPROCS=1 taskset -c "$SERVER_CPU" "$work/depot" serve --config "$work/depot.toml" >"$work/$RANDOM.out" 2>&1 & pids+=($!)
GOMAXPROCS=1 taskset -c "$SERVER_CPU" "$work/depot" serve --config "$work/depot-m.toml" >"$work/$RANDOM.out" 2>&1 & pids+=($!)
taskset -c "$SERVER_CPU" nginx -c "$work/nginx.conf" -e "$work/logs-nginx/error.log" >"$work/$RANDOM.out" 2>&1 & pids+=($!)
XDG_DATA_HOME=$work XDG_CONFIG_HOME=$work GOMAXPROCS=1 taskset -c "$SERVER_CPU" caddy run --config "$work/Caddyfile" --adapter caddyfile >"$work/$RANDOM.out" 2>&1 & pids+=($!)
mkdir -p "$work/nginx-tmp"

for port in 38080 38081 38082 38083; do
  for _ in $(seq 50); do
    curl -sf -o /dev/null "http://127.0.0.1:$port/r4.2/current/host/fc37/repodata/repomd.xml" && break
    sleep 0.2
  done
  curl -sf -o /dev/null "http://127.0.0.1:$port/r4.2/current/host/fc37/repodata/repomd.xml" || { echo "server on :$port did not start" >&2; exit 1; }
done

# wrk prints "Requests/sec: N" and "Transfer/sec: N{KB,MB,GB}".
run_wrk() { # port path conns -> "req/s MB/s"
  local out
  out=$(taskset -c "$CLIENT_CPU" wrk -t1 -c"$3" -d"${DURATION}s" "http://127.0.0.1:$1$2")
  awk '/^Requests\/sec:/ {r=$2}
       /^Transfer\/sec:/ {v=$2; u=substr(v, length(v)-1); n=v+0;
         if (u=="GB") n*=1024; else if (u=="KB") n/=1024; else if (u!="MB") n/=1048576; t=n}
       END {printf "%.0f %.1f\n", r, t}' <<<"$out"
}

if [ -n "${AB:-}" ]; then
  # Alternate the two depots so that a machine's drifting load falls on
  # both; report each round's ratio and the median.
  ratios=()
  for i in $(seq "$AB"); do
    d=$(run_wrk 38080 /r4.2/current/host/fc37/repodata/repomd.xml "$CONNS" | cut -d' ' -f1)
    m=$(run_wrk 38083 /r4.2/current/host/fc37/repodata/repomd.xml "$CONNS" | cut -d' ' -f1)
    r=$(awk -v d="$d" -v m="$m" 'BEGIN {printf "%.3f", m/d}')
    ratios+=("$r")
    echo "round $i: depot $d req/s, depot+metrics $m req/s, ratio $r"
  done
  printf '%s\n' "${ratios[@]}" | sort -n | awk '{a[NR]=$1} END {printf "median ratio depot+metrics/depot: %.3f over %d rounds (min %.3f, max %.3f)\n", (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2), NR, a[1], a[NR]}'
  echo "machine: $(nproc) cores, $(uname -sr), $(go version | cut -d' ' -f3), load $(cut -d' ' -f1-3 /proc/loadavg)"
  exit 0
fi

printf '%-22s %12s %12s %12s %10s %10s %12s %8s\n' "case" "depot" "nginx" "caddy" "d/nginx" "d/caddy" "depot+metr" "metrics"
bench_case() { # name path conns field(1=req/s,2=MB/s)
  local d n c m
  d=$(run_wrk 38080 "$2" "$3" | cut -d' ' -f"$4")
  m=$(run_wrk 38083 "$2" "$3" | cut -d' ' -f"$4")
  n=$(run_wrk 38081 "$2" "$3" | cut -d' ' -f"$4")
  c=$(run_wrk 38082 "$2" "$3" | cut -d' ' -f"$4")
  awk -v name="$1" -v d="$d" -v n="$n" -v c="$c" -v m="$m" 'BEGIN {printf "%-22s %12s %12s %12s %9.2fx %9.2fx %12s %7.3fx\n", name, d, n, c, d/n, d/c, m, m/d}'
}
bench_case "repomd.xml 4KB req/s" /r4.2/current/host/fc37/repodata/repomd.xml "$CONNS" 1
bench_case "404 req/s" /r9.9/missing "$CONNS" 1
bench_case "100MB file MB/s" /iso/big.iso 4 2

echo
curl -sf "http://127.0.0.1:38093/metrics" | grep -q '^depot_http_requests_total{code="2xx",method="GET"' || { echo "depot with metrics counted nothing" >&2; exit 1; }
echo "access log lines: depot $(wc -l < "$work/logs-depot/access.log"), depot+metrics $(wc -l < "$work/logs-depot-m/access.log"), nginx $(wc -l < "$work/logs-nginx/access.log"), caddy $(wc -l < "$work/logs-caddy/access.log")"
echo "machine: $(nproc) cores, $(uname -sr), $(go version | cut -d' ' -f3), nginx $(nginx -v 2>&1 | cut -d/ -f2), caddy $(caddy version | cut -d' ' -f1)"

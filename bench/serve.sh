#!/usr/bin/env bash
# bench/serve.sh — depot, nginx and Caddy serve the same tree with access
# logs on, each pinned to one core, with the load generator pinned to the
# other. Plain HTTP and HTTPS (one ECDSA P-256 certificate for all three,
# TLS 1.3): requests/s for a 4 KB repomd.xml over HTTP/1.1 keep-alive, over
# TLS 1.3 and over HTTP/2 (h2load, 100 streams), new TLS connections per
# second (one request each), a 404 (of one missing name, as a misconfigured
# client asks it again and again, and "404new": a new missing name each
# request, as a scanner's), and MB/s for a 100 MB file plain and over TLS.
# Prints depot's ratio to each peer and the goals of issue 13. A second
# depot with metrics on (an [admin] listener) serves the same tree over
# plain HTTP: "metrics" is its ratio to depot without.
#
#   bash bench/serve.sh            # DURATION=10 CONNS=50 by default
#   DURATION=5 bash bench/serve.sh
#   CASES="4k tls4k" bash bench/serve.sh   # some cases only
#   ROUNDS=12 bash bench/serve.sh          # each case 12 times, in a balanced order (below);
#                                          # medians, and ratios as the median of the rounds'
#                                          # ratios, with their range. A multiple of 12
#                                          # balances both the plain and the TLS cases.
#   AB=8 DURATION=5 bash bench/serve.sh    # only depot vs depot+metrics on
#                                          # the 4 KB file, 8 alternating rounds
#
# Needs: go, nginx, caddy, wrk, h2load, openssl, taskset, ss (Debian: nginx
# caddy wrk nghttp2-client openssl util-linux iproute2).
set -euo pipefail
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-1}
CONNS=${CONNS:-50}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
CASES=${CASES:-4k 404 404new tls4k h2 handshake big tlsbig}
for tool in go nginx caddy wrk h2load openssl taskset ss; do
  command -v "$tool" >/dev/null || { echo "bench/serve.sh: $tool is not installed (apt-get install nginx caddy wrk nghttp2-client openssl)" >&2; exit 1; }
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
mkdir -p "$root/r4.2/current/host/fc37/repodata" "$root/iso" "$work/logs-depot" "$work/logs-depot-m" "$work/logs-nginx" "$work/logs-caddy" "$work/nginx-tmp"
head -c 4096 /dev/urandom | base64 -w 76 | head -c 4096 > "$root/r4.2/current/host/fc37/repodata/repomd.xml"
head -c $((100 * 1024 * 1024)) /dev/zero > "$root/iso/big.iso"

# wrk script for the 404new case: a new missing name each request.
cat > "$work/newname.lua" <<'LUA'
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, "/r9.9/missing-" .. n)
end
LUA

# One certificate for all three servers.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
  -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
chmod 644 "$work/key.pem"  # nginx reads it as root, caddy as this user

(cd "$repo" && go build -o "$work/depot" ./cmd/depot)

# Ports: plain, TLS (PORT_BASE moves them all, for a second bench at once).
P=${PORT_BASE:-38080}
D=$P N=$((P + 1)) C=$((P + 2)) M=$((P + 3)) DS=$((P + 10)) NS=$((P + 11)) CS=$((P + 12)) ADMIN=$((P + 13))
for port in $D $N $C $M $DS $NS $CS $ADMIN; do
  if ss -Hltn "sport = :$port" | grep -q .; then
    echo "bench/serve.sh: port $port is in use (another bench? set PORT_BASE)" >&2
    exit 1
  fi
done

cat > "$work/depot.toml" <<TOML
log_dir = "$work/logs-depot"
data_dir = "$work"
[[listen]]
address = "127.0.0.1:$D"
[[listen]]
address = "127.0.0.1:$DS"
tls_cert = "$work/cert.pem"
tls_key = "$work/key.pem"
[[site]]
hosts = ["*"]
root = "$root"
TOML
# depot with metrics: plain HTTP only, beside an admin listener.
cat > "$work/depot-m.toml" <<TOML
log_dir = "$work/logs-depot-m"
data_dir = "$work"
[[listen]]
address = "127.0.0.1:$M"
[[site]]
hosts = ["*"]
root = "$root"
[admin]
address = "127.0.0.1:$ADMIN"
TOML

. "$repo/bench/nginx.sh"
nginx_conf "$work" "$root" "127.0.0.1:$N" "127.0.0.1:$NS ssl http2"

cat > "$work/Caddyfile" <<CONF
{
  admin off
  auto_https off
}
http://:$C {
  bind 127.0.0.1
  root * $root
  file_server
  log {
    output file $work/logs-caddy/access.log
  }
}
https://:$CS {
  bind 127.0.0.1
  tls $work/cert.pem $work/key.pem {
    protocols tls1.3
  }
  root * $root
  file_server
  log {
    output file $work/logs-caddy/access.log
  }
}
CONF

GOMAXPROCS=1 taskset -c "$SERVER_CPU" "$work/depot" serve --config "$work/depot.toml" >"$work/depot.out" 2>&1 & pids+=($!)
GOMAXPROCS=1 taskset -c "$SERVER_CPU" "$work/depot" serve --config "$work/depot-m.toml" >"$work/depot-m.out" 2>&1 & pids+=($!)
taskset -c "$SERVER_CPU" nginx -c "$work/nginx.conf" -e "$work/logs-nginx/error.log" >"$work/nginx.out" 2>&1 & pids+=($!)
XDG_DATA_HOME=$work XDG_CONFIG_HOME=$work GOMAXPROCS=1 taskset -c "$SERVER_CPU" caddy run --config "$work/Caddyfile" --adapter caddyfile >"$work/caddy.out" 2>&1 & pids+=($!)

small=/r4.2/current/host/fc37/repodata/repomd.xml
for url in http://127.0.0.1:{$D,$N,$C,$M} https://127.0.0.1:{$DS,$NS,$CS}; do
  for _ in $(seq 50); do
    curl -skf -o /dev/null "$url$small" && break
    sleep 0.2
  done
  curl -skf -o /dev/null "$url$small" || { echo "server at $url did not start; its output:" >&2; cat "$work"/*.out >&2; exit 1; }
done
# Every server answers TLS 1.3, and HTTP/2 when asked.
for port in $DS $NS $CS; do
  v=$(curl -sk -o /dev/null -w '%{http_version}' --http2 "https://127.0.0.1:$port$small")
  [ "$v" = 2 ] || { echo "port $port does not answer HTTP/2 (got $v)" >&2; exit 1; }
  curl -sk -o /dev/null --tlsv1.3 --tls-max 1.3 "https://127.0.0.1:$port$small" || { echo "port $port refuses TLS 1.3" >&2; exit 1; }
done
sleep 1  # files younger than a second are not cached; let the tree settle

# wrk prints "Requests/sec: N" and "Transfer/sec: N{KB,MB,GB}".
wrk_rate() { # url conns field(1=req/s,2=MB/s) [wrk args...]
  local url=$1 conns=$2 field=$3 out
  shift 3
  out=$(taskset -c "$CLIENT_CPU" wrk -t1 -c"$conns" -d"${DURATION}s" "$@" "$url")
  awk '/^Requests\/sec:/ {r=$2}
       /^Transfer\/sec:/ {v=$2; u=substr(v, length(v)-1); n=v+0;
         if (u=="GB") n*=1024; else if (u=="KB") n/=1024; else if (u!="MB") n/=1048576; t=n}
       END {printf "%.0f %.1f\n", r, t}' <<<"$out" | cut -d' ' -f"$field"
}
# h2load prints "finished in 10.00s, N req/s, X MB/s".
h2_rate() { # url
  taskset -c "$CLIENT_CPU" h2load -t1 -c4 -m100 -D "$DURATION" --warm-up-time=1 "$1" |
    awk '/^finished in/ {gsub(",", ""); print int($4)}'
}

if [ -n "${AB:-}" ]; then
  # Alternate the two depots so that a machine's drifting load falls on
  # both; report each round's ratio and the median.
  ratios=()
  for i in $(seq "$AB"); do
    d=$(wrk_rate "http://127.0.0.1:$D$small" "$CONNS" 1)
    m=$(wrk_rate "http://127.0.0.1:$M$small" "$CONNS" 1)
    r=$(awk -v d="$d" -v m="$m" 'BEGIN {printf "%.3f", m/d}')
    ratios+=("$r")
    echo "round $i: depot $d req/s, depot+metrics $m req/s, ratio $r"
  done
  printf '%s\n' "${ratios[@]}" | sort -n | awk '{a[NR]=$1} END {printf "median ratio depot+metrics/depot: %.3f over %d rounds (min %.3f, max %.3f)\n", (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2), NR, a[1], a[NR]}'
  echo "machine: $(nproc) cores, $(uname -sr), $(go version | cut -d' ' -f3), load $(cut -d' ' -f1-3 /proc/loadavg)"
  exit 0
fi

printf '%-26s %9s %9s %9s %8s %11s %8s %7s %-6s %10s %7s\n' "case" "depot" "nginx" "caddy" "d/nginx" "(range)" "d/caddy" "goal" "" "depot+metr" "metrics"
# row name goal d n c m d/n d/n-min d/n-max d/c m/d: the columns are
# medians; the ratios are medians of each round's ratio (see measure).
row() {
  awk -v name="$1" -v goal="$2" -v d="$3" -v n="$4" -v c="$5" -v m="$6" \
      -v r="$7" -v lo="$8" -v hi="$9" -v rc="${10}" -v mr="${11}" 'BEGIN {
    ok = (r >= goal) ? "met" : "MISSED"
    if (m == "") { m = "-"; mr = "-" } else mr = sprintf("%.3fx", mr)
    printf "%-26s %9s %9s %9s %7.3fx %11s %7.2fx %6.2fx %-6s %10s %7s\n", name, d, n, c, r, sprintf("%.2f-%.2f", lo, hi), rc, goal, ok, m, mr }'
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
# measure name goal cmd...: runs "cmd... PORT" for depot, nginx and Caddy
# in turn, ROUNDS times, and prints the row. cmd is given the plain or TLS
# port of each server by its last word, "http" or "https". A ratio is the
# median of the rounds' ratios, each between runs of the same round: the
# machine's load drifts (on a shared machine, by a third within minutes),
# and a ratio of the medians would compare runs minutes apart.
measure() {
  local name=$1 goal=$2 d=() n=() c=() m=() r
  shift 2
  local scheme=${*: -1} cmd=("${@:1:$#-1}")
  local ports=($D $N $C $M)
  [ "$scheme" = https ] && ports=($DS $NS $CS)
  # The rounds follow a Williams design: over each block of rounds (4
  # over plain HTTP, 6 over TLS), every server runs first, last, and
  # right after every other server equally often. A plain rotation always
  # ran depot right after Caddy and depot+metrics right after depot, and
  # a server can inherit the one before it's state (the 100 MB case:
  # depot+metrics came out 1.003-1.05x the same depot in four runs).
  local orders=("d m c n" "m n d c" "n c m d" "c d n m") k s
  [ "$scheme" = http ] || orders=("d n c" "n c d" "c d n" "c n d" "n d c" "d c n")
  for r in $(seq "$ROUNDS"); do
    for s in ${orders[$(((r - 1) % ${#orders[@]}))]}; do
      case $s in
        d) d+=("$("${cmd[@]}" "${ports[0]}")") ;;
        m) m+=("$("${cmd[@]}" "${ports[3]}")") ;;
        n) n+=("$("${cmd[@]}" "${ports[1]}")") ;;
        c) c+=("$("${cmd[@]}" "${ports[2]}")") ;;
      esac
    done
  done
  local dn=() dc=() md=() i
  for ((i = 0; i < ROUNDS; i++)); do
    dn+=("$(awk -v a="${d[i]}" -v b="${n[i]}" 'BEGIN {print a / b}')")
    dc+=("$(awk -v a="${d[i]}" -v b="${c[i]}" 'BEGIN {print a / b}')")
    [ ${#m[@]} -gt 0 ] && md+=("$(awk -v a="${m[i]}" -v b="${d[i]}" 'BEGIN {print a / b}')")
  done
  local mm="" mdm=""
  if [ ${#m[@]} -gt 0 ]; then
    mm=$(printf '%s\n' "${m[@]}" | median)
    mdm=$(printf '%s\n' "${md[@]}" | median)
  fi
  row "$name" "$goal" "$(printf '%s\n' "${d[@]}" | median)" "$(printf '%s\n' "${n[@]}" | median)" "$(printf '%s\n' "${c[@]}" | median)" "$mm" \
    "$(printf '%s\n' "${dn[@]}" | median)" "$(printf '%s\n' "${dn[@]}" | sort -g | head -1)" "$(printf '%s\n' "${dn[@]}" | sort -g | tail -1)" \
    "$(printf '%s\n' "${dc[@]}" | median)" "$mdm"
}
wrk_at() { # scheme path conns field [wrk args...] port
  local scheme=$1 path=$2 conns=$3 field=$4
  shift 4
  local port=${*: -1}
  wrk_rate "$scheme://127.0.0.1:$port$path" "$conns" "$field" "${@:1:$#-1}"
}
h2_at() { h2_rate "https://127.0.0.1:$1$small"; }
for c in $CASES; do
  case $c in
    4k) measure "4KB file req/s" 1.0 wrk_at http "$small" "$CONNS" 1 http ;;
    404) measure "404 req/s" 1.0 wrk_at http /r9.9/missing "$CONNS" 1 http ;;
    404new) measure "404 new name req/s" 1.0 wrk_at http / "$CONNS" 1 -s "$work/newname.lua" http ;;
    tls4k) measure "4KB file TLS1.3 req/s" 0.9 wrk_at https "$small" "$CONNS" 1 https ;;
    h2) measure "4KB file HTTP/2 req/s" 0.9 h2_at https ;;
    handshake) measure "new TLS connections/s" 0.8 wrk_at https "$small" "$CONNS" 1 -H "Connection: close" https ;;
    big) measure "100MB file MB/s" 0.95 wrk_at http /iso/big.iso 4 2 http ;;
    tlsbig) measure "100MB file TLS1.3 MB/s" 0.95 wrk_at https /iso/big.iso 4 2 https ;;
    *) echo "bench/serve.sh: unknown case $c" >&2; exit 2 ;;
  esac
done

echo
# The depot with metrics serves the plain cases only (4k, 404, big).
if [[ " $CASES " =~ \ (4k|404|big)\  ]]; then
  curl -sf "http://127.0.0.1:$ADMIN/metrics" | grep -q '^depot_http_requests_total{code="2xx",method="GET"' || { echo "depot with metrics counted nothing" >&2; exit 1; }
fi
echo "access log lines: depot $(wc -l < "$work/logs-depot/access.log"), depot+metrics $(wc -l < "$work/logs-depot-m/access.log"), nginx $(wc -l < "$work/logs-nginx/access.log"), caddy $(wc -l < "$work/logs-caddy/access.log")"
echo "machine: $(nproc) cores, $(uname -sr), $(go version | cut -d' ' -f3), nginx $(nginx -v 2>&1 | cut -d/ -f2), caddy $(caddy version | cut -d' ' -f1), $(openssl version | cut -d' ' -f1-2), load $(cut -d' ' -f1-3 /proc/loadavg)"
if grep -qw tls /proc/sys/net/ipv4/tcp_available_ulp 2>/dev/null; then echo "kTLS: the kernel offers the tls ULP"; else echo "kTLS: not available (no tls in /proc/sys/net/ipv4/tcp_available_ulp)"; fi

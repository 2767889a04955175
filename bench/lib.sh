# bench/lib.sh — what the POSIX-sh benchmark scripts share. Source it from
# the repository root with NAME set to the script's name:
#
#   NAME=metalink.sh; . bench/lib.sh
#   need wrk curl taskset       # fail clearly when a tool is missing
#   # $work is a fresh directory, removed on exit with every pid in $pids
#   # $DEPOT is ./cmd/depot built there, unless the caller set DEPOT
#   wait_up URL [CURL-OPTIONS]  # until URL answers, or fail

need() {
	for tool in "$@"; do
		command -v "$tool" >/dev/null || { echo "$NAME: $tool is not installed (apt-get install -y $tool)" >&2; exit 1; }
	done
}

work=$(mktemp -d)
chmod 755 "$work" # servers that drop privileges must read the trees
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

if [ -z "${DEPOT:-}" ]; then
	go build -o "$work/depot" ./cmd/depot
	DEPOT=$work/depot
fi

wait_up() {
	for _ in $(seq 50); do curl -sf -o /dev/null ${2:-} "$1" && return 0; sleep 0.1; done
	echo "$NAME: nothing answers $1 ${2:-}" >&2
	exit 1
}

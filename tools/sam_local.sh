#!/usr/bin/env bash
# `make sam-local`: the built stack under `sam local start-api` (functions in Docker, in the image
# of tools/lambda_image/build.sh), its data in `make dev`'s embedded moto. Ctrl-C stops both.
#
# Usage: tools/sam_local.sh [--api-port 3000] [--data-port 3001] [--moto-port 5005]
#                           [--state-dir .local-state] [--parameter-overrides 'K=V ...'] [-- sam args]
# Needs: `make build` and the image done (make sam-local does both), a running Docker engine.
# Env: DOCKER (client, default docker), SAM_LOCAL_BIND (where moto listens, below), DEMO_PASSWORD,
#      SAM_LOCAL_LOGS (log directory, default .aws-sam/sam-local).
# Prints "sam local ready: <url>" once both answer (tests wait for that line).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
api_port=3000 data_port=3001 moto_port=5005 state_dir=.local-state overrides="" sam_args=()
while (($#)); do
    case $1 in
        --api-port) api_port=$2; shift 2 ;;
        --data-port) data_port=$2; shift 2 ;;
        --moto-port) moto_port=$2; shift 2 ;;
        --state-dir) state_dir=$2; shift 2 ;;
        --parameter-overrides) overrides=$2; shift 2 ;;
        --) shift; sam_args=("$@"); break ;;
        *) echo "usage: see the head of $0" >&2; exit 2 ;;
    esac
done
DOCKER=${DOCKER:-docker}
logs=${SAM_LOCAL_LOGS:-$root/.aws-sam/sam-local}
api=http://127.0.0.1:$api_port
built=.aws-sam/build/template.yaml
mkdir -p "$logs"
say() { printf 'sam-local: %s\n' "$*"; }
die() { printf 'sam-local: %s\n' "$*" >&2; exit 1; }

[[ -s $built ]] || die "$built is missing: run make build (make sam-local does)"
"$DOCKER" info >/dev/null 2>&1 || die "no usable Docker engine ($DOCKER info failed); see docs/local-dev.md"

# Where moto listens: the containers reach the host as host.docker.internal, which
# --add-host ...:host-gateway maps to the default bridge's gateway (docker0). Binding there,
# rather than 0.0.0.0, keeps moto off the machine's other networks. Docker Desktop forwards
# host.docker.internal to the host's loopback, and has no docker0 here: 127.0.0.1 then.
bridge_address() {  # the default bridge's gateway; dockerd 20.10 leaves IPAM's Gateway empty: its interface's
    local gateway ifname
    gateway=$("$DOCKER" network inspect bridge --format '{{range .IPAM.Config}}{{.Gateway}}{{end}}' 2>/dev/null) || return 0
    ifname=$("$DOCKER" network inspect bridge --format '{{index .Options "com.docker.network.bridge.name"}}' 2>/dev/null)
    if [[ -z $gateway && -n $ifname ]] && command -v ip >/dev/null; then
        gateway=$(ip -4 -o addr show dev "$ifname" 2>/dev/null | awk '{split($4, a, "/"); print a[1]; exit}')
    fi
    echo "$gateway"
}
bind=${SAM_LOCAL_BIND:-$(bridge_address)}
if [[ -z $bind ]] || ! .venv/bin/python -c 'import socket, sys; socket.socket().bind((sys.argv[1], 0))' "$bind" 2>/dev/null; then
    bind=127.0.0.1
fi

# Each child in its own session (process group), so stopping it stops all it started.
pgids=() signals=()
start() {  # start NAME SIGNAL COMMAND...: output to $logs/NAME.log and, prefixed, to ours; SIGNAL stops it
    local name=$1; signals+=("$2"); shift 2
    : >"$logs/$name.log"
    setsid bash -c 'echo $$ >"$0"; exec "$@"' "$logs/$name.pgid" "$@" >"$logs/$name.log" 2>&1 </dev/null &
    tail -n +1 -F "$logs/$name.log" 2>/dev/null | sed -u "s/^/$name | /" &
    tails+=($!)
    for _ in $(seq 50); do [[ -s $logs/$name.pgid ]] && break; sleep 0.1; done
    pgids+=("$(cat "$logs/$name.pgid")")
}
tails=()
stop() {
    trap - INT TERM EXIT
    local i pgid alive left
    # Each part's Ctrl-C: SIGINT for sam local (a KeyboardInterrupt ends its server and stops its
    # warm containers; its SIGTERM handler raises an Exception that socketserver swallows when it
    # lands during a request), SIGTERM for make dev (its Ctrl-C path: it writes its snapshot).
    for i in "${!pgids[@]}"; do kill "-${signals[i]}" -- "-${pgids[i]}" 2>/dev/null || true; done
    for _ in $(seq 600); do  # up to 60 s: sam stops the containers one after the other
        alive=0
        for pgid in "${pgids[@]}"; do kill -0 -- "-$pgid" 2>/dev/null && alive=1; done
        ((alive)) || break
        sleep 0.1
    done
    for pgid in "${pgids[@]}"; do kill -KILL -- "-$pgid" 2>/dev/null || true; done
    # Containers a killed sam local left behind: SAM's label, this checkout's build mounted.
    left=$("$DOCKER" ps -aq --filter label=sam.cli.container.type=lambda | while read -r id; do
        "$DOCKER" inspect --format '{{range .Mounts}}{{.Source}} {{end}}' "$id" | grep -q "$root/.aws-sam/build/" && echo "$id"
    done || true)
    if [[ -n $left ]]; then
        say "removing $(wc -w <<<"$left") container(s) sam local left running"
        "$DOCKER" rm -f $left >/dev/null || true
    fi
    for pid in "${tails[@]}"; do kill "$pid" 2>/dev/null || true; done
    say "stopped (logs in $logs)"
}
trap 'exit 130' INT
trap 'exit 143' TERM
trap stop EXIT

wait_for() {  # wait_for NAME REGEX SECONDS: the line in NAME's log, while NAME still runs
    local name=$1 regex=$2 pgid
    pgid=$(cat "$logs/$name.pgid")
    for _ in $(seq $(($3 * 10))); do
        grep -qE "$regex" "$logs/$name.log" && return 0
        kill -0 -- "-$pgid" 2>/dev/null || die "$name stopped before it was ready (log: $logs/$name.log)"
        sleep 0.1
    done
    die "$name not ready after $3 s (log: $logs/$name.log)"
}

say "data side: make dev's moto on $bind:$moto_port (state in $state_dir)"
start data TERM env LOCAL_BIND="$bind" MOTO_PORT="$moto_port" PORT="$data_port" \
    make --no-print-directory dev LOCAL_STATE="$state_dir"
wait_for data 'Ctrl-C stops everything' 180
password=$(grep -oP 'demo user:.*password \K\S+' "$logs/data.log" || true)

sigint_default='import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])'
# The template's defaults, made right for plain http on this machine: the issuer needs no
# override (the functions take it from the Host header under sam local).
say "sam local start-api on $api"
# A background job starts with SIGINT ignored, which bash cannot undo and Python keeps:
# reset it to the default so sam's Python turns it into KeyboardInterrupt again.
start api INT .venv/bin/python -c "$sigint_default" tools/sam local start-api --template "$built" --host 127.0.0.1 --port "$api_port" \
    --env-vars "$state_dir/sam-env.json" --add-host host.docker.internal:host-gateway \
    --warm-containers LAZY --skip-pull-image \
    --parameter-overrides "CookieSecure=false AllowedOrigins=$api,http://localhost:5173 $overrides" \
    "${sam_args[@]}"
wait_for api 'Running on http' 120
say "sam local ready: $api  (demo user: demo / ${password:-see the data log}; Ctrl-C stops both)"
# Until either stops (or Ctrl-C): then the trap stops the other.
while kill -0 -- "-${pgids[0]}" 2>/dev/null && kill -0 -- "-${pgids[1]}" 2>/dev/null; do sleep 1; done
die "a part stopped on its own: see $logs/data.log and $logs/api.log"

#!/usr/bin/env bash
# A local wsagent cluster in one command, on loopback: Redis (single, Sentinel or Cluster),
# three wsagent nodes sharing it (--drain-delay 2s: a stopped node answers /readyz 503 until
# HAProxy's health checks on /readyz have taken it out), and HAProxy (Debian's) in front.
# Prints the URL and a token, and stops everything on Ctrl-C.
#
#   scripts/cluster.sh [OPTIONS] [-- EXTRA wsagent serve OPTIONS]
#     --nodes N        wsagent nodes (default 3)
#     --port PORT      HAProxy's port on 127.0.0.1 (default 8080; 0 picks a free one)
#     --redis KIND     single (default): one redis-server;
#                      sentinel: a master, its replica and three sentinels (redis-sentinel://);
#                      cluster: a Redis Cluster of three masters (redis-cluster://)
#     --shards N       shards per node (default 1: three nodes already share the machine)
#     --binary PATH    a built wsagent (default: build it like scripts/run.sh)
#     --keys DIR       development key pair, made on the first run (default .dev-keys)
#     --dir DIR        logs, configuration and cluster.env (default a temporary directory,
#                      removed at exit when everything stopped cleanly)
#
# When everything is up it writes DIR/cluster.env (URL, NODE_URLS, REDIS_URL, TOKEN, PIDS), for
# scripts and tests, then prints the same for people.
set -euo pipefail
cd "$(dirname "$0")/.."

nodes=3
port=8080
redis_kind=single
shards=1
binary=
keys=.dev-keys
dir=
extra=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --nodes) nodes=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --redis) redis_kind=$2; shift 2 ;;
    --shards) shards=$2; shift 2 ;;
    --binary) binary=$2; shift 2 ;;
    --keys) keys=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "cluster.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ $nodes =~ ^[1-9][0-9]*$ ]] || { echo "cluster.sh: --nodes wants a positive number" >&2; exit 2; }

if [[ -z $binary ]]; then
  scripts/install-deps.sh
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build --target wsagent
  binary=build/wsagent
fi
binary=$(realpath "$binary")
for tool in redis-server haproxy; do
  command -v "$tool" >/dev/null ||
    { echo "cluster.sh: $tool is not installed (scripts/install-deps.sh installs it)" >&2; exit 1; }
done

temporary_dir=0
if [[ -z $dir ]]; then
  dir=$(mktemp -d /tmp/wsagent-cluster.XXXXXX)
  temporary_dir=1
fi
mkdir -p "$dir"
dir=$(realpath "$dir")
rm -f "$dir/cluster.env"

# Every process this script starts: "name pid" lines, in start order; and the exit status
# of those that ended on their own, by pid.
started=()
declare -A exited=()
stopping=0

free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

pid_of() { echo "${1#* }"; }
name_of() { echo "${1%% *}"; }

# Stops in reverse start order (HAProxy, then the nodes, which drain, then Redis), waits for
# each, and removes a temporary directory if every process exited cleanly.
stop_all() {
  stopping=1
  trap '' INT TERM
  local clean=1
  for ((i = ${#started[@]} - 1; i >= 0; i--)); do
    local pid name status=0
    pid=$(pid_of "${started[i]}")
    name=$(name_of "${started[i]}")
    if [[ -n ${exited[$pid]:-} ]]; then
      status=${exited[$pid]}
    else
      # Nodes get SIGINT: HAProxy is already gone, so they skip --drain-delay and drain
      # at once (--drain-timeout, 5 s by default); past 30 s, kill.
      if [[ $name == node-* ]]; then
        kill -INT "$pid" 2>/dev/null || true
      else
        kill -TERM "$pid" 2>/dev/null || true
      fi
      for _ in $(seq 300); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
      if kill -0 "$pid" 2>/dev/null; then
        echo "cluster.sh: $name (pid $pid) did not stop; killing it" >&2
        kill -KILL "$pid" 2>/dev/null || true
        clean=0
      fi
      wait "$pid" 2>/dev/null || status=$?
    fi
    # HAProxy's hard stop exits 143 (SIGTERM) or 130 (SIGINT from a Ctrl-C); the rest exit 0.
    if [[ $status != 0 && ! ($name == haproxy && ($status == 143 || $status == 130)) ]]; then
      echo "cluster.sh: $name exited with status $status (log: $dir/$name.log)" >&2
      clean=0
    fi
  done
  rm -f "$dir/cluster.env"
  if [[ $clean == 1 && $temporary_dir == 1 ]]; then
    rm -rf "$dir"
  elif [[ $clean == 0 ]]; then
    echo "cluster.sh: logs kept in $dir" >&2
  fi
  [[ $clean == 1 ]]
}

fail() {
  echo "cluster.sh: $*" >&2
  stop_all || true
  exit 1
}

trap 'echo; echo "stopping..."; stop_all && exit 0 || exit 1' INT TERM
trap '[[ $stopping == 1 ]] || stop_all || true' EXIT

# start NAME COMMAND...: runs it in the background, output in DIR/NAME.log, in a session of
# its own: a Ctrl-C reaches this script only, which then sends each process one signal (a
# wsagent node given two would take the second as "exit now").
start() {
  local name=$1
  shift
  setsid "$@" >"$dir/$name.log" 2>&1 &
  started+=("$name $!")
}

# Waits until the log of NAME shows the pattern; fails if the process exits first.
wait_for_log() {
  local name=$1 pattern=$2 pid
  pid=$(pid_of "${started[-1]}")
  for _ in $(seq 200); do
    grep -qE "$pattern" "$dir/$name.log" && return 0
    kill -0 "$pid" 2>/dev/null || fail "$name exited at start (log: $dir/$name.log)"
    sleep 0.1
  done
  fail "$name did not start within 20 s (log: $dir/$name.log)"
}

# --- Redis. Each start_redis_KIND starts its processes and sets broker_url (the --broker of
# every node) and redis_desc (what to print). ---

# redis_server NAME PORT [ARGS...]: a redis-server on loopback, working in DIR/NAME, saving
# nothing to disk; returns once it accepts connections.
redis_server() {
  local name=$1 redis_port=$2
  shift 2
  mkdir -p "$dir/$name"
  start "$name" redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no \
    --dir "$dir/$name" "$@"
  wait_for_log "$name" "Ready to accept connections"
}

start_redis_single() {
  local redis_port
  redis_port=$(free_port)
  redis_server redis "$redis_port"
  broker_url="redis://127.0.0.1:$redis_port/0"
  redis_desc="$broker_url (single)"
}

# A master, its replica and three sentinels watching it (quorum 2): kill the master
# (kill -KILL PID) and the sentinels promote the replica about 2 s later; the nodes follow.
start_redis_sentinel() {
  local master_port replica_port sentinel_port sentinels=() i
  master_port=$(free_port)
  redis_server redis-master "$master_port"
  replica_port=$(free_port)
  redis_server redis-replica "$replica_port" --replicaof 127.0.0.1 "$master_port"
  for i in 1 2 3; do
    sentinel_port=$(free_port)
    mkdir -p "$dir/sentinel-$i"
    # Sentinel rewrites its file as it learns (replicas, other sentinels, a new master).
    printf '%s\n' "port $sentinel_port" "bind 127.0.0.1" "dir $dir/sentinel-$i" \
      "sentinel monitor wsamaster 127.0.0.1 $master_port 2" \
      "sentinel down-after-milliseconds wsamaster 2000" \
      "sentinel failover-timeout wsamaster 10000" >"$dir/sentinel-$i/sentinel.conf"
    start "sentinel-$i" redis-server "$dir/sentinel-$i/sentinel.conf" --sentinel
    wait_for_log "sentinel-$i" "[+]monitor master wsamaster"
    sentinels+=("127.0.0.1:$sentinel_port")
  done
  broker_url="redis-sentinel://$(IFS=,; echo "${sentinels[*]}")/wsamaster"
  redis_desc="$broker_url (master 127.0.0.1:$master_port, replica 127.0.0.1:$replica_port)"
}

# Three masters, the 16384 slots split between them by redis-cli --cluster create; each
# node's cluster bus on a port of its own (the default, port + 10000, may not exist).
start_redis_cluster() {
  local seeds=() seed i redis_port
  command -v redis-cli >/dev/null ||
    fail "redis-cli is not installed (scripts/install-deps.sh installs it)"
  for i in 1 2 3; do
    redis_port=$(free_port)
    redis_server "redis-$i" "$redis_port" --cluster-enabled yes --cluster-port "$(free_port)" \
      --cluster-config-file "$dir/redis-$i/nodes.conf" --cluster-node-timeout 2000
    seeds+=("127.0.0.1:$redis_port")
  done
  redis-cli --cluster create "${seeds[@]}" --cluster-yes >"$dir/cluster-create.log" 2>&1 ||
    fail "redis-cli --cluster create failed: $(tail -n 5 "$dir/cluster-create.log")"
  for seed in "${seeds[@]}"; do
    for _ in $(seq 100); do
      redis-cli -h 127.0.0.1 -p "${seed#*:}" cluster info 2>/dev/null |
        grep -q '^cluster_state:ok' && continue 2
      sleep 0.1
    done
    fail "Redis Cluster node $seed did not report cluster_state:ok within 10 s"
  done
  broker_url="redis-cluster://$(IFS=,; echo "${seeds[*]}")"
  redis_desc="$broker_url (3 masters)"
}

case $redis_kind in
  single|sentinel|cluster) "start_redis_$redis_kind" ;;
  *) fail "unknown --redis $redis_kind (single, sentinel or cluster)" ;;
esac

# --- keys and a token ---
if [[ ! -f $keys/private.jwk ]]; then
  mkdir -p "$keys"
  "$binary" keygen --out-private "$keys/private.jwk" --out-jwks "$keys/jwks.json" >/dev/null
fi
token=$("$binary" token --key "$keys/private.jwk" --sub dev --pub '>' --subscribe '>' --ttl 24h)

# --- the nodes: each on a free port it picks itself (the log says which) ---
node_ports=()
for i in $(seq "$nodes"); do
  start "node-$i" "$binary" serve --listen 127.0.0.1:0 \
    --shards "$shards" --no-pin --node-id "node-$i" --broker "$broker_url" \
    --jwks "$(realpath "$keys/jwks.json")" --drain-delay 2s "${extra[@]}"
  wait_for_log "node-$i" "listening"
  node_ports+=("$(sed -n 's/.*listening.*addr[":=]*127\.0\.0\.1:\([0-9]*\).*/\1/p' \
    "$dir/node-$i.log" | head -n 1)")
done

# --- HAProxy ---
if [[ $port == 0 ]]; then
  port=$(free_port)
fi
{
  cat <<EOF
# Generated by scripts/cluster.sh.
global
  log stdout format raw local0 info
  maxconn 4096

defaults
  mode http
  log global
  # The access log names the path only (%HPO): browsers send tokens as /ws?token=...
  log-format "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %tsc %{+Q}HM %{+Q}HPO %HV"
  option dontlognull
  timeout connect 5s
  timeout http-request 10s
  timeout client 1m
  timeout server 1m
  # After the upgrade: idle subscribers stay connected (wsagent pings them after
  # --idle-timeout, 1 minute by default).
  timeout tunnel 1h
  timeout client-fin 10s

frontend wsagent
  bind 127.0.0.1:$port
  # Only the WebSocket endpoint, the publish API and health go through; /metrics stays
  # on each node's own port.
  http-request deny deny_status 404 unless { path /ws /api/publish /healthz /readyz }
  default_backend nodes

backend nodes
  # Long-lived connections: balance by how many each node holds. No stickiness needed.
  balance leastconn
  # A stopped node answers /readyz 503 for --drain-delay (2 s here > fall x inter) while it
  # still accepts, so the check marks it down before its listener closes. A node that
  # stops without the delay (crash, SIGKILL): a refused connection is tried on another.
  option redispatch
  retries 2
  option httpchk
  http-check send meth GET uri /readyz
  http-check expect status 200
  default-server inter 500ms fall 2 rise 1
EOF
  for i in $(seq "$nodes"); do
    echo "  server node-$i 127.0.0.1:${node_ports[i - 1]} check"
  done
} >"$dir/haproxy.cfg"
haproxy -c -q -f "$dir/haproxy.cfg" >"$dir/haproxy-check.log" 2>&1 ||
  fail "HAProxy refused its configuration: $(cat "$dir/haproxy-check.log")"
start haproxy haproxy -db -f "$dir/haproxy.cfg"

# Up once HAProxy answers /readyz through a node it found healthy.
for _ in $(seq 100); do
  if /usr/bin/python3 -c 'import sys, urllib.request as u
u.urlopen(sys.argv[1], timeout=1)' "http://127.0.0.1:$port/readyz" 2>/dev/null; then
    up=1
    break
  fi
  kill -0 "$(pid_of "${started[-1]}")" 2>/dev/null || fail "HAProxy exited (log: $dir/haproxy.log)"
  sleep 0.1
done
[[ ${up:-0} == 1 ]] || fail "HAProxy did not answer /readyz within 10 s"

node_urls=()
pids=()
for i in $(seq "$nodes"); do
  node_urls+=("ws://127.0.0.1:${node_ports[i - 1]}/ws")
done
for entry in "${started[@]}"; do
  pids+=("$(pid_of "$entry")")
done

cat <<MSG

wsagent cluster on loopback: Redis ($redis_kind), $nodes nodes, HAProxy in front.
  WebSocket:  ws://127.0.0.1:$port/ws   (through HAProxy, subprotocol wsagent.v1)
  nodes:      ${node_urls[*]}
              (each also serves /metrics, /healthz and /readyz on its own port)
  Redis:      $redis_desc
  token:      $token
              (every tag, 24 h; more: $binary token --key $keys/private.jwk --sub NAME ...)
  try it:     /usr/bin/python3 scripts/try_client.py ws://127.0.0.1:$port/ws --token TOKEN
  logs:       $dir
Stop with Ctrl-C.

MSG
# Last: cluster.env tells scripts that everything is up (and printed).
cat >"$dir/cluster.env.tmp" <<EOF
URL=ws://127.0.0.1:$port/ws
NODE_URLS="${node_urls[*]}"
REDIS_URL=$broker_url
TOKEN=$token
PIDS="${pids[*]}"
DIR=$dir
EOF
mv "$dir/cluster.env.tmp" "$dir/cluster.env"

# Run until Ctrl-C (the trap stops everything). A process that ends on its own is reported
# and the rest keep running: stop a node (kill -TERM PID) to watch HAProxy's health check
# send its clients to the others.
while [[ ${#exited[@]} -lt ${#started[@]} ]]; do
  status=0
  wait -n -p pid || status=$?
  [[ $stopping == 1 ]] && break
  [[ -n ${pid:-} ]] || continue
  exited[$pid]=$status
  for entry in "${started[@]}"; do
    if [[ $(pid_of "$entry") == "$pid" ]]; then
      echo "cluster.sh: $(name_of "$entry") (pid $pid) exited with status $status" \
        "(log: $dir/$(name_of "$entry").log); the others keep running, Ctrl-C stops them" >&2
    fi
  done
done

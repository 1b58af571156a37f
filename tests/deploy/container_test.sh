#!/usr/bin/env bash
# Container test: builds an image of the built wsagent without a daemon (Debian's podman, vfs
# storage, runc) and runs it the way docker/ and deploy/k8s/ do: as the non-root user 10001,
# all capabilities dropped, read-only root, a mounted JWKS, a Redis broker, and
# docker/seccomp.json. A WebSocket client subscribes and receives through it, and /healthz
# answers. Then, with podman's default seccomp profile (which refuses io_uring), wsagent must
# exit 1 with its clear message. No registry is reachable here, so the image is FROM scratch
# with the binary and the shared libraries it links (docker/Dockerfile, for users, builds on
# debian:12-slim).
#
# Usage: container_test.sh PATH/TO/wsagent
# Exits 77 (ctest: skipped) with a message when podman or runc is missing (scripts/
# install-deps.sh installs them) or when not root (rootless podman needs subuid ranges).
# Everything it starts (containers, redis-server) is removed on every path; images and
# storage live in a temporary directory.
set -euo pipefail

binary=$(realpath "${1:?usage: $0 PATH/TO/wsagent}")
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
python=/usr/bin/python3

skip() {
  echo "container_test: SKIPPED: $*"
  exit 77
}
command -v podman >/dev/null || skip "podman is not installed (apt-get install podman runc)"
command -v runc >/dev/null || skip "runc is not installed (apt-get install runc)"
# Root podman (rootless would need uidmap and /etc/subuid ranges); through sudo when the
# tests run as a user who may use it without a password (as scripts/install-deps.sh does).
as_root=()
if [[ $(id -u) != 0 ]]; then
  sudo -n true 2>/dev/null || skip "needs root or password-less sudo for podman"
  as_root=(sudo -n)
fi

work=$(mktemp -d /tmp/wsagent-container-test.XXXXXX)
tag="$$-$RANDOM"
redis_pid=
# Our own containers.conf (podman reads only it): no default ulimits (podman's default nofile
# exceeds this machine's hard limit) and file events (no journald here).
printf '[containers]\ndefault_ulimits = []\n[engine]\nevents_logger = "file"\n' \
  >"$work/containers.conf"
pod=("${as_root[@]}" env CONTAINERS_CONF="$work/containers.conf" TMPDIR="$work"
     podman --root "$work/storage" --runroot "$work/run" --storage-driver vfs --runtime runc
     --cgroup-manager=cgroupfs)

cleanup() {
  for name in "ok-$tag" "nnp-$tag" "default-$tag"; do
    "${pod[@]}" rm -f -t 0 "$name" >/dev/null 2>&1 || true
  done
  if [[ -n $redis_pid ]]; then
    kill "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
  fi
  "${pod[@]}" rmi -a -f >/dev/null 2>&1 || true
  "${as_root[@]}" rm -rf "$work"  # the image storage belongs to root
}
trap cleanup EXIT

fail() {
  echo "container_test: FAILED: $*" >&2
  for log in "$work"/*.log; do
    [[ -f $log ]] && { echo "--- $(basename "$log") ---" >&2; tail -n 30 "$log" >&2; }
  done
  exit 1
}

free_port() {
  "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# Whether process $1 runs (not gone, not a zombie; kill -0 says neither for sudo's root process
# when the test is not root, nor tells a zombie from a live process).
running() {
  local state
  state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
  [[ -n $state && $state != Z ]]
}

# Waits for the container's log to name the port it listens on; prints it. Gives up when
# podman (process $2) exits first.
listening_port() {
  local log=$1 pid=$2 port=
  for _ in $(seq 300); do
    port=$(sed -n 's/.*msg=listening addr=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log" | head -n 1)
    [[ -n $port ]] && { echo "$port"; return 0; }
    running "$pid" || return 1
    sleep 0.1
  done
  return 1
}

# The uid and seccomp mode of the container's main process, as the host sees them.
process_status() {
  local pid
  pid=$("${pod[@]}" inspect --format '{{.State.Pid}}' "$1")
  awk '/^Uid:/ {uid=$2} /^Seccomp:/ {mode=$2} END {print uid, mode}' "/proc/$pid/status"
}

http_status() {
  "$python" -c 'import sys, urllib.request as u; print(u.urlopen(sys.argv[1], timeout=5).status)' \
    "$1" 2>/dev/null || echo none
}

# --- the image: FROM scratch, the binary, its shared libraries, a passwd naming uid 10001 ---
root="$work/context/rootfs"
mkdir -p "$root/usr/local/bin" "$root/etc" "$root/tmp"
cp "$binary" "$root/usr/local/bin/wsagent"
for lib in $(ldd "$binary" | grep -o '/[^ ]*'); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
echo 'wsagent:x:10001:10001:wsagent:/nonexistent:/usr/sbin/nologin' >"$root/etc/passwd"
echo 'wsagent:x:10001:' >"$root/etc/group"
cat >"$work/context/Containerfile" <<'EOF'
FROM scratch
COPY rootfs/ /
USER 10001:10001
ENTRYPOINT ["/usr/local/bin/wsagent"]
CMD ["serve"]
EOF
"${pod[@]}" build -q -t "wsagent-test:$tag" -f "$work/context/Containerfile" "$work/context" \
  >"$work/build.log" 2>&1 || fail "podman build failed"

# --- keys, a token, and the Redis the node uses as its broker ---
mkdir -p "$work/keys"
"$binary" keygen --out-private "$work/keys/key.jwk" --out-jwks "$work/keys/jwks.json" >/dev/null
token=$("$binary" token --key "$work/keys/key.jwk" --sub container-test --pub 'deploy.>' \
  --subscribe 'deploy.>' --ttl 10m)
redis_port=$(free_port)
redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no \
  >"$work/redis.log" 2>&1 &
redis_pid=$!

# Sanitizer builds: LeakSanitizer needs ptrace, which the profile refuses.
run_common=(--network host -e ASAN_OPTIONS=detect_leaks=0 -e WSAGENT_LISTEN=127.0.0.1:0
            -e WSAGENT_SHARDS=2 -e WSAGENT_NO_PIN=true -e WSAGENT_JWKS=/etc/wsagent/jwks.json
            -v "$work/keys/jwks.json:/etc/wsagent/jwks.json:ro" --cap-drop ALL --read-only)

# --- 1. docker/seccomp.json: serves, as uid 10001 under a seccomp filter ---
"${pod[@]}" run --rm --name "ok-$tag" "${run_common[@]}" \
  --security-opt "seccomp=$repo/docker/seccomp.json" \
  -e "WSAGENT_BROKER=redis://localhost:$redis_port/0" \
  "wsagent-test:$tag" >"$work/ok.log" 2>&1 &
ok_pid=$!
port=$(listening_port "$work/ok.log" "$ok_pid") ||
  fail "wsagent did not listen with docker/seccomp.json"
read -r uid seccomp < <(process_status "ok-$tag")
[[ $uid == 10001 ]] || fail "wsagent runs as uid $uid, not 10001"
[[ $seccomp == 2 ]] || fail "wsagent is not under a seccomp filter (Seccomp: $seccomp)"
[[ $(http_status "http://127.0.0.1:$port/healthz") == 200 ]] || fail "/healthz did not answer 200"
for _ in $(seq 100); do  # ready once both shards reach Redis
  [[ $(http_status "http://127.0.0.1:$port/readyz") == 200 ]] && break
  sleep 0.1
done
[[ $(http_status "http://127.0.0.1:$port/readyz") == 200 ]] || fail "/readyz never answered 200"
"$python" "$here/pubsub_check.py" --sub "ws://127.0.0.1:$port/ws" --token "$token" \
  >"$work/client.log" 2>&1 || fail "subscribe/receive through the container failed"
"${pod[@]}" stop -t 20 "ok-$tag" >/dev/null || fail "podman stop failed"
status=0
wait "$ok_pid" || status=$?
[[ $status == 0 ]] || fail "wsagent exited with $status after SIGTERM (expected 0)"
grep -q 'msg=stopped' "$work/ok.log" || fail "wsagent did not log its drain"

# --- 2. the same with no-new-privileges (Kubernetes' allowPrivilegeEscalation: false) ---
"${pod[@]}" run --rm --name "nnp-$tag" "${run_common[@]}" --security-opt no-new-privileges \
  --security-opt "seccomp=$repo/docker/seccomp.json" \
  "wsagent-test:$tag" >"$work/nnp.log" 2>&1 &
nnp_pid=$!
port=$(listening_port "$work/nnp.log" "$nnp_pid") ||
  fail "wsagent did not listen with no-new-privileges"
[[ $(http_status "http://127.0.0.1:$port/healthz") == 200 ]] ||
  fail "/healthz did not answer 200 with no-new-privileges"
"${pod[@]}" stop -t 20 "nnp-$tag" >/dev/null || fail "podman stop failed"
status=0
wait "$nnp_pid" || status=$?
[[ $status == 0 ]] || fail "wsagent exited with $status after SIGTERM with no-new-privileges"

# --- 3. podman's default profile refuses io_uring: exit 1 with the message that says why ---
status=0
timeout 60 "${pod[@]}" run --rm --name "default-$tag" "${run_common[@]}" "wsagent-test:$tag" \
  >"$work/default.log" 2>&1 || status=$?
[[ $status == 1 ]] || fail "with the default seccomp profile wsagent exited with $status, not 1"
grep -q 'io_uring is not permitted here.*seccomp profile in docker/' "$work/default.log" ||
  fail "the default-profile run did not say that io_uring is not permitted"

echo "container_test: ok (image $(du -sh "$root" | cut -f1), uid 10001, seccomp filter on)"

#!/usr/bin/env bash
# Interop: Debian's python3-websockets drives the real wsagent (see the .py beside this).
# Usage: python_websockets_test.sh PATH/TO/wsagent
# Starts the server on a free loopback port, runs the client, then stops the server with
# SIGTERM and expects exit 0. The server is killed on every path.
set -euo pipefail

binary=${1:?usage: $0 PATH/TO/wsagent}
here=$(cd "$(dirname "$0")" && pwd)
log=$(mktemp)
pid=

cleanup() {
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -f "$log"
}
trap cleanup EXIT

fail() {
  echo "python_websockets_test: $*" >&2
  echo "--- wsagent log ---" >&2
  cat "$log" >&2
  exit 1
}

# Only the flags below configure the server.
for var in $(compgen -e | grep '^WSAGENT_' || true); do
  unset "$var"
done

"$binary" serve --listen 127.0.0.1:0 --no-auth --shards 2 --no-pin 2>"$log" &
pid=$!

port=
for _ in $(seq 100); do  # up to 10 s for both shards to log `listening`
  if [[ $(grep -c 'msg=listening' "$log" || true) -ge 2 ]]; then
    port=$(sed -n 's/.*msg=listening addr=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log" | head -n 1)
    break
  fi
  kill -0 "$pid" 2>/dev/null || fail "wsagent exited before listening"
  sleep 0.1
done
[[ -n $port ]] || fail "wsagent did not log a listening port"

timeout 60 /usr/bin/python3 "$here/python_websockets_client.py" "$port" || fail "client failed"

kill -TERM "$pid"
status=0
timeout 10 tail --pid="$pid" -f /dev/null || fail "wsagent did not exit after SIGTERM"
wait "$pid" || status=$?
pid=
[[ $status -eq 0 ]] || fail "wsagent exited with $status after SIGTERM"
if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:|wsagent: fatal:' "$log"; then
  fail "wsagent reported an error"
fi
echo "python_websockets_test: ok"

#!/usr/bin/env bash
# Interop with the npm `jose` package, a JWT library nobody here wrote:
#  (a) files from `wsagent keygen` import into jose, tokens from `wsagent token` (EdDSA and
#      HS256) verify with jose's jwtVerify;
#  (b) a JWKS exported by jose (with an RSA key the server must skip) and tokens minted by
#      jose's SignJWT (EdDSA, HS256) are accepted by `wsagent serve`, over ?token= and
#      Authorization: Bearer (client: the npm `ws` package) and POST /api/publish; bad ones
#      get HTTP 401 without an upgrade.
# Usage: jose_test.sh /path/to/wsagent
# jose@5 and ws@8 are installed with npm into ${WSAGENT_NPM_CACHE:-$HOME/.cache/wsagent-npm}
# (outside the source tree). No network and no cached copy is a failure, never a skip.
set -euo pipefail

WSAGENT=${1:?usage: jose_test.sh /path/to/wsagent}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NPM_DIR=${WSAGENT_NPM_CACHE:-$HOME/.cache/wsagent-npm}

die() {
  echo "jose_test: FAIL: $*" >&2
  exit 1
}

[[ -x $WSAGENT ]] || die "not an executable: $WSAGENT"
command -v node >/dev/null || die "node is not installed (apt-get install nodejs npm)"
command -v npm >/dev/null || die "npm is not installed (apt-get install npm)"
node_major=$(node -p 'process.versions.node.split(".")[0]')
((node_major >= 18)) || die "node $(node --version) is too old: jose 5 and fetch need 18+"

# Installed once per cache directory; `npm install` again only when a package is missing.
have_packages() {
  (cd "$NPM_DIR" && node -e '
    const r = require("module").createRequire(process.cwd() + "/x.js");
    const major = (p) => Number(r(p + "/package.json").version.split(".")[0]);
    process.exit(major("jose") === 5 && major("ws") === 8 ? 0 : 1);' 2>/dev/null)
}
mkdir -p "$NPM_DIR"
if ! have_packages; then
  echo "jose_test: installing jose@5 ws@8 into $NPM_DIR"
  if ! timeout 180 npm install --no-save --no-audit --no-fund --prefix "$NPM_DIR" jose@5 ws@8 >&2; then
    die "npm install jose@5 ws@8 failed (is the npm registry reachable? set WSAGENT_NPM_CACHE to a directory holding them)"
  fi
  have_packages || die "jose@5 and ws@8 still missing from $NPM_DIR after npm install"
fi
export WSAGENT_NPM_DIR=$NPM_DIR

WORK=$(mktemp -d "${TMPDIR:-/tmp}/wsa_jose.XXXXXX")
SERVER_PID=
cleanup() {
  if [[ -n $SERVER_PID ]]; then
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

step() { echo "== $*"; }

# ---- (a) wsagent makes the keys and tokens; jose checks them -------------------------------
step "(a) wsagent keygen/token -> jose"
"$WSAGENT" keygen --out-private "$WORK/key.jwk" --out-jwks "$WORK/jwks.json" --kid interop-1 \
  || die "wsagent keygen failed"
"$WSAGENT" keygen --out-private "$WORK/thumb.jwk" --out-jwks "$WORK/thumb.json" >/dev/null \
  || die "wsagent keygen (default kid) failed"
[[ $(stat -c %a "$WORK/key.jwk") == 600 ]] || die "key.jwk mode is $(stat -c %a "$WORK/key.jwk"), want 600"
if "$WSAGENT" keygen --out-private "$WORK/key.jwk" --out-jwks "$WORK/other.json" 2>"$WORK/err"; then
  die "keygen replaced an existing key without --force"
fi
grep -q -- "--force" "$WORK/err" || die "keygen refusal does not mention --force: $(cat "$WORK/err")"

head -c 48 /dev/urandom | base64 -w0 >"$WORK/secret"
echo >>"$WORK/secret"
chmod 600 "$WORK/secret"

"$WSAGENT" token --key "$WORK/key.jwk" --sub alice --pub 'chat.*' --subscribe 'chat.>' \
  --subscribe news --ttl 1h >"$WORK/eddsa.jwt" || die "wsagent token (EdDSA) failed"
"$WSAGENT" token --hmac-secret-file "$WORK/secret" --sub bob --pub news --ttl 10m \
  >"$WORK/hs256.jwt" || die "wsagent token (HS256) failed"
node "$HERE/jose_interop.mjs" verify-wsagent "$WORK"

# ---- (b) jose makes the keys and tokens; the server checks them ----------------------------
step "(b) jose keys/tokens -> wsagent serve"
node "$HERE/jose_interop.mjs" make-keys "$WORK"

"$WSAGENT" serve --listen 127.0.0.1:0 --shards 1 --no-pin --jwks "$WORK/jose.jwks.json" \
  --hmac-secret-file "$WORK/secret" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
PORT=
for _ in $(seq 1 100); do
  PORT=$(sed -n 's/.*msg=listening addr=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$WORK/server.log" | head -1)
  [[ -n $PORT ]] && break
  kill -0 "$SERVER_PID" 2>/dev/null || die "wsagent serve exited: $(cat "$WORK/server.log")"
  sleep 0.1
done
[[ -n $PORT ]] || die "wsagent serve did not listen within 10 s: $(cat "$WORK/server.log")"
# The RSA key of the shared JWKS is skipped with a warning, not an error.
grep -q "rsa-1" "$WORK/server.log" || die "no warning about the skipped RSA key: $(cat "$WORK/server.log")"

if ! node "$HERE/jose_interop.mjs" against-server "$PORT" "$WORK"; then
  echo "--- server log" >&2
  cat "$WORK/server.log" >&2
  die "jose tokens against wsagent serve"
fi
kill -0 "$SERVER_PID" 2>/dev/null || die "wsagent serve died during the test: $(cat "$WORK/server.log")"
echo "jose_test: PASS"

#!/usr/bin/env bash
# JS conformance suite: SMART Health IT's `fhirclient` (the browser bundle) in headless Chromium against a
# fresh Bedside server — an EHR launch and a standalone launch through Bedside's real sign-in and consent
# pages, with PKCE — and the demo's sample app (served by Bedside at /apps/sample/) launched both ways.
#
#   bash conformance/js/run.sh PATH_TO_BEDSIDE_BINARY [extra `node --test` arguments]
#
# Needs Node >= 20 with npm (the npm registry, the first time or when package-lock.json changes) and the
# system Chromium at /usr/bin/chromium (or CONFORMANCE_CHROMIUM); it never downloads a browser.
# Installs node_modules with `npm ci` when missing or stale, starts `bedside serve --demo` on a free port
# with a temporary data dir, registers the test app with `bedside client add` (its redirect URI on
# another free port, where the test serves the app), runs `node --test` and always stops the server.
# Exits with the test runner's status.
set -euo pipefail

if [ $# -lt 1 ]; then
  echo "usage: bash conformance/js/run.sh PATH_TO_BEDSIDE_BINARY [node --test args...]" >&2
  exit 2
fi

BIN_ARG="$1"
shift
if [ ! -x "$BIN_ARG" ] || [ -d "$BIN_ARG" ]; then
  echo "run.sh: $BIN_ARG is not an executable file (build it with cargo build first)" >&2
  exit 2
fi
BIN="$(cd "$(dirname "$BIN_ARG")" && pwd)/$(basename "$BIN_ARG")"

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"

CHROMIUM="${CONFORMANCE_CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM" ]; then
  echo "run.sh: Chromium is not installed at $CHROMIUM; install it first (Debian/Ubuntu: apt-get install -y chromium)," >&2
  echo "run.sh: or point CONFORMANCE_CHROMIUM at a Chromium/Chrome binary. This suite never downloads a browser." >&2
  exit 3
fi
for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "run.sh: $tool is not installed (Node.js >= 20 is needed)" >&2
    exit 3
  fi
done
NODE_MAJOR="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$NODE_MAJOR" -lt 20 ]; then
  echo "run.sh: Node.js >= 20 is needed (found $(node --version))" >&2
  exit 3
fi

# The server and the CLI read BEDSIDE_* variables (flags win, but e.g. BEDSIDE_DATABASE_URL would beat
# --data-dir): start from a clean slate, keeping only the log settings.
while IFS= read -r var; do
  case "$var" in
    BEDSIDE_LOG | BEDSIDE_LOG_FORMAT) ;;
    BEDSIDE_*) unset "$var" ;;
  esac
done < <(compgen -e)

# playwright-core never downloads browsers on install; make sure nothing else tries either.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

# --- node_modules, reinstalled when package-lock.json or the Node version changes ----------------------
# fhirclient's optional dependencies (React Native / Expo crypto shims, ~340 MB) are not needed by its
# browser bundle: --omit=optional. No install scripts are needed either.
LOCK_HASH="$( { cat "$HERE/package-lock.json"; node --version; } | sha256sum | cut -d' ' -f1)"
STAMP="$HERE/node_modules/.bedside-lock-hash"
if [ ! -f "$HERE/node_modules/fhirclient/build/fhir-client.js" ] || [ ! -d "$HERE/node_modules/playwright-core" ] \
  || [ "$(cat "$STAMP" 2>/dev/null || true)" != "$LOCK_HASH" ]; then
  echo "run.sh: npm ci in $HERE"
  (cd "$HERE" && npm ci --silent --omit=optional --ignore-scripts --no-audit --no-fund)
  echo "$LOCK_HASH" > "$STAMP"
fi

# --- server -----------------------------------------------------------------------------------------------
DATA="$(mktemp -d "${TMPDIR:-/tmp}/bedside-conformance-js.XXXXXX")"
LOG="$DATA/server.log"
SERVER_PID=""

cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$DATA"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  node -e 'const s = require("net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

# Waits for /healthz; returns 1 if the server process died (e.g. the port was taken meanwhile).
wait_healthy() {
  node - "$1" "$SERVER_PID" <<'JSEOF'
const [url, pid] = process.argv.slice(2);
const deadline = Date.now() + 120_000;
(async () => {
  while (Date.now() < deadline) {
    try { process.kill(Number(pid), 0); } catch { process.exit(1); }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200) process.exit(0);
    } catch {}
    await new Promise((r) => setTimeout(r, 200));
  }
  console.error(`run.sh: ${url} did not answer within 120 s`);
  process.exit(2);
})();
JSEOF
}

# shellcheck source=../start-server.sh
. "$HERE/../start-server.sh"
start_bedside

# --- the app: registered with its exact redirect URIs on the port the test will serve it on ------------
# (on 127.0.0.1, the same site as the server, and on localhost, another site, like a real third-party app)
APP_PORT="$(free_port)"
while [ "$APP_PORT" = "$PORT" ]; do APP_PORT="$(free_port)"; done
CLIENT_JSON="$("$BIN" client add --data-dir "$DATA" --name "JS test app" --public \
  --redirect-uri "http://127.0.0.1:$APP_PORT/index.html" --redirect-uri "http://localhost:$APP_PORT/index.html" \
  --scope "launch launch/patient openid fhirUser offline_access patient/*.rs")"
CLIENT_ID="$(node -e 'console.log(JSON.parse(process.argv[1]).client_id)' "$CLIENT_JSON")"

export CONFORMANCE_BEDSIDE_BIN="$BIN"
export CONFORMANCE_DATA_DIR="$DATA"
export CONFORMANCE_SERVER_LOG="$LOG"
export CONFORMANCE_BASE_URL="$BASE"
export CONFORMANCE_FHIR_BASE="$BASE/fhir"
export CONFORMANCE_APP_PORT="$APP_PORT"
export CONFORMANCE_CLIENT_ID="$CLIENT_ID"
export CONFORMANCE_CHROMIUM="$CHROMIUM"
echo "run.sh: Bedside at $CONFORMANCE_FHIR_BASE (pid $SERVER_PID, data $DATA); app http://127.0.0.1:$APP_PORT and http://localhost:$APP_PORT, client_id $CLIENT_ID"

# --- tests ------------------------------------------------------------------------------------------------
set +e
node --test "$@" "$HERE"/test/*.test.mjs
status=$?
set -e

if [ "$status" -ne 0 ]; then
  echo "run.sh: node --test exited with $status; last server log lines:" >&2
  tail -n 40 "$LOG" >&2 || true
fi
exit "$status"

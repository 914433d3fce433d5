#!/usr/bin/env bash
# Python conformance suite: drives a fresh Bedside server with real FHIR clients (fhirpy sync and async,
# SMART Health IT's fhirclient) and validates every resource it returns with the official R4 models of
# fhir.resources.
#
#   bash conformance/python/run.sh PATH_TO_BEDSIDE_BINARY [extra pytest arguments]
#
# Creates (or reuses) the virtualenv target/conformance-venv, starts `bedside serve --demo` on a free
# port with a temporary data dir, mints a system token and a patient token, runs pytest and always stops
# the server. Exits with pytest's status.
set -euo pipefail

if [ $# -lt 1 ]; then
  echo "usage: bash conformance/python/run.sh PATH_TO_BEDSIDE_BINARY [pytest args...]" >&2
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

# The server and the token command read BEDSIDE_* variables (flags win, but e.g. BEDSIDE_DATABASE_URL
# would beat --data-dir): start from a clean slate, keeping only the log settings.
while IFS= read -r var; do
  case "$var" in
    BEDSIDE_LOG | BEDSIDE_LOG_FORMAT) ;;
    BEDSIDE_*) unset "$var" ;;
  esac
done < <(compgen -e)

export PYTHONDONTWRITEBYTECODE=1
export PIP_DISABLE_PIP_VERSION_CHECK=1

# --- virtualenv, rebuilt when the requirements or the interpreter change ---------------------------------
PYTHON="${PYTHON:-python3}"
VENV="$ROOT/target/conformance-venv"
REQ_HASH="$( { cat "$HERE/requirements.txt"; "$PYTHON" -c 'import sys; print(sys.version)'; } | sha256sum | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$VENV/.requirements-hash" 2>/dev/null || true)" != "$REQ_HASH" ]; then
  echo "run.sh: creating $VENV"
  rm -rf "$VENV"
  mkdir -p "$ROOT/target"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q -r "$HERE/requirements.txt"
  echo "$REQ_HASH" > "$VENV/.requirements-hash"
fi
PY="$VENV/bin/python"

# --- server -----------------------------------------------------------------------------------------------
DATA="$(mktemp -d "${TMPDIR:-/tmp}/bedside-conformance.XXXXXX")"
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
  "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Waits for /healthz; returns 1 if the server process died (e.g. the port was taken meanwhile).
wait_healthy() {
  "$PY" - "$1" "$SERVER_PID" <<'PYEOF'
import os, sys, time, urllib.request
url, pid = sys.argv[1], int(sys.argv[2])
deadline = time.monotonic() + 120
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit(1)
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            if r.status == 200:
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.2)
print(f"run.sh: {url} did not answer within 120 s", file=sys.stderr)
sys.exit(2)
PYEOF
}

# shellcheck source=../start-server.sh
. "$HERE/../start-server.sh"
start_bedside

CONFORMANCE_SYSTEM_TOKEN="$("$BIN" token --data-dir "$DATA" --base-url "$BASE" --scope 'system/*.cruds')"
CONFORMANCE_PATIENT_TOKEN="$("$BIN" token --data-dir "$DATA" --base-url "$BASE" --scope 'patient/*.read' --patient demo-patient-01)"
export CONFORMANCE_SYSTEM_TOKEN CONFORMANCE_PATIENT_TOKEN
export CONFORMANCE_FHIR_BASE="$BASE/fhir"
export CONFORMANCE_PATIENT_ID="demo-patient-01"
echo "run.sh: Bedside at $CONFORMANCE_FHIR_BASE (pid $SERVER_PID, data $DATA)"

# --- tests ------------------------------------------------------------------------------------------------
set +e
"$PY" -m pytest -q "$HERE" "$@"
status=$?
set -e

if [ "$status" -ne 0 ]; then
  echo "run.sh: pytest exited with $status; last server log lines:" >&2
  tail -n 40 "$LOG" >&2 || true
fi
exit "$status"

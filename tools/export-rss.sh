#!/usr/bin/env bash
# Measures the server's memory while a system-level Bulk Data export runs over many resources.
#
#   bash tools/export-rss.sh PATH_TO_RELEASE_BEDSIDE [COPIES]   (default 8 copies of the 40 Synthea patients)
#
# Loads ../shared/data/synthea COPIES times (fresh ids each time) into a fresh SQLite data dir with
# `bedside import`, starts `bedside serve`, kicks off `GET /fhir/$export` with an operator token, polls
# until the manifest is ready, and samples the server's resident memory (VmRSS) every 0.2 s. Prints the
# server's RSS before the export, its peak during the export (VmHWM is also read at the end) and the
# number of resources exported. Needs python3 and curl. Never a test: numbers depend on the machine.
set -euo pipefail
BIN="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
COPIES="${2:-8}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC="$ROOT/../shared/data/synthea"
[ -d "$SRC" ] || { echo "export-rss.sh: no Synthea data at $SRC" >&2; exit 2; }
WORK="$(mktemp -d "${TMPDIR:-/tmp}/bedside-export-rss.XXXXXX")"
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

echo "== generating $COPIES copies"
python3 - "$SRC" "$WORK/gen" "$COPIES" <<'PY'
import json, os, sys
src, out, copies = sys.argv[1], sys.argv[2], int(sys.argv[3])
os.makedirs(out, exist_ok=True)
files = sorted(f for f in os.listdir(src) if f.endswith(".json"))
for f in files:
    text = open(os.path.join(src, f)).read()
    if "Information" in f:  # hospitals and practitioners: shared, loaded once
        open(os.path.join(out, "0-" + f), "w").write(text)
        continue
    ids = [e["resource"]["id"] for e in json.loads(text)["entry"] if "id" in e.get("resource", {})]
    for c in range(copies):
        t = text
        for i in ids:
            t = t.replace(i, f"{i}-c{c}")
        open(os.path.join(out, f"{c + 1}-{f}"), "w").write(t)
PY
echo "== importing"
"$BIN" import --data-dir "$WORK/data" "$WORK/gen" | tail -3

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
BASE="http://127.0.0.1:$PORT"
"$BIN" serve --data-dir "$WORK/data" --listen "127.0.0.1:$PORT" --base-url "$BASE" --rate-limit 0 >"$WORK/server.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do curl -fs "$BASE/healthz" >/dev/null && break; sleep 0.2; done
TOKEN="$("$BIN" token --data-dir "$WORK/data" --base-url "$BASE" --scope 'system/*.rs' --expires-in 7200)"
rss() { awk '/^VmRSS/ {print $2}' "/proc/$PID/status"; }
echo "server RSS before the export: $(( $(rss) / 1024 )) MB"

STATUS="$(curl -fsS -D - -o /dev/null -H "Authorization: Bearer $TOKEN" -H 'Prefer: respond-async' \
  -H 'Accept: application/fhir+json' "$BASE/fhir/\$export" | awk 'tolower($1)=="content-location:" {print $2}' | tr -d '\r')"
PEAK=0
START=$(date +%s)
while :; do
  r=$(rss); [ "$r" -gt "$PEAK" ] && PEAK=$r
  code="$(curl -s -o "$WORK/manifest.json" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$STATUS")"
  [ "$code" = "200" ] && break
  [ "$code" = "202" ] || { echo "status $code: $(cat "$WORK/manifest.json")" >&2; exit 1; }
  for _ in 1 2 3 4 5; do r=$(rss); [ "$r" -gt "$PEAK" ] && PEAK=$r; sleep 0.2; done
done
HWM=$(awk '/^VmHWM/ {print $2}' "/proc/$PID/status")
COUNT="$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(sum(o["count"] for o in m["output"]), len(m["output"]))' "$WORK/manifest.json")"
echo "exported resources, files: $COUNT in $(( $(date +%s) - START )) s"
echo "server RSS peak sampled during the export: $(( PEAK / 1024 )) MB; VmHWM (whole run): $(( HWM / 1024 )) MB"

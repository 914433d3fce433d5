#!/usr/bin/env bash
# The nginx example of docs/deploy.md, tested: two Bedside nodes on one PostgreSQL database behind
# nginx terminating TLS, with the configuration taken from the document itself (only addresses,
# certificate paths and the port are substituted).
#
#   bash conformance/proxy/run.sh PATH_TO_BEDSIDE_BINARY
#
# Needs nginx, openssl, curl, python3 and PostgreSQL on 127.0.0.1:5432 with trust auth (as in CI).
# Checks, through https: the CapabilityStatement; SMART discovery names the public https base; an
# operator token reads a Patient on both nodes (round robin); a token minted on one node is accepted by
# the other; the proxy's request id comes back as X-Request-Id; bodies over the proxy's limit are 413.
set -euo pipefail
BIN="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
for tool in nginx openssl curl python3 psql; do
  command -v "$tool" >/dev/null || { echo "proxy/run.sh: $tool is not installed" >&2; exit 3; }
done
WORK="$(mktemp -d "${TMPDIR:-/tmp}/bedside-proxy.XXXXXX")"
DB="bedside_proxy_$$"
PG="postgres://postgres@127.0.0.1:5432"
PIDS=()
cleanup() {
  [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
fail() { echo "proxy/run.sh: FAILED: $*" >&2; tail -n 20 "$WORK"/*.log >&2 || true; exit 1; }

psql -q "$PG/postgres" -c "CREATE DATABASE $DB" >/dev/null
URL="$PG/$DB"
P1="$(free_port)"; P2="$(free_port)"; PN="$(free_port)"
BASE="https://127.0.0.1:$PN"

openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=127.0.0.1" \
  -addext "subjectAltName=IP:127.0.0.1" -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null

# The first node creates the schema and the demo data; then the second starts on the same database.
"$BIN" serve --database-url "$URL" --listen "127.0.0.1:$P1" --base-url "$BASE" --trusted-proxy 127.0.0.1 \
  --demo >"$WORK/node1.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 300); do curl -fs "http://127.0.0.1:$P1/readyz" >/dev/null && break; sleep 0.2; done
"$BIN" serve --database-url "$URL" --listen "127.0.0.1:$P2" --base-url "$BASE" --trusted-proxy 127.0.0.1 \
  >"$WORK/node2.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 300); do curl -fs "http://127.0.0.1:$P2/readyz" >/dev/null && break; sleep 0.2; done

# The nginx block of docs/deploy.md, with this run's addresses.
python3 - "$ROOT/docs/deploy.md" "$WORK" "$P1" "$P2" "$PN" <<'PY'
import re, sys
doc, work, p1, p2, pn = sys.argv[1:]
text = open(doc).read()
block = re.search(r"and the same for nginx:\s*```\n(.*?)```", text, re.S).group(1)
for old, new in [("10.0.0.11:8080", f"127.0.0.1:{p1}"), ("10.0.0.12:8080", f"127.0.0.1:{p2}"),
                 ("listen 443 ssl http2;", f"listen 127.0.0.1:{pn} ssl;"),
                 ("/etc/ssl/fhir.example.org.pem", f"{work}/cert.pem"), ("/etc/ssl/fhir.example.org.key", f"{work}/key.pem"),
                 ("fhir.example.org", "127.0.0.1")]:
    assert old in block, f"docs/deploy.md's nginx example no longer has {old!r}"
    block = block.replace(old, new)
conf = f"""pid {work}/nginx.pid;
error_log {work}/nginx-error.log;
daemon on;
events {{}}
http {{
  access_log {work}/nginx-access.log;
  client_body_temp_path {work}/body; proxy_temp_path {work}/proxy;
  fastcgi_temp_path {work}/fcgi; uwsgi_temp_path {work}/uwsgi; scgi_temp_path {work}/scgi;
{block}
}}
"""
open(f"{work}/nginx.conf", "w").write(conf)
PY
nginx -p "$WORK" -c "$WORK/nginx.conf" || fail "nginx did not start with the documented configuration"
for _ in $(seq 1 50); do [ -f "$WORK/nginx.pid" ] && break; sleep 0.1; done

C=(curl -sS --cacert "$WORK/cert.pem")
code="$("${C[@]}" -o "$WORK/meta.json" -w '%{http_code}' "$BASE/fhir/metadata")"
[ "$code" = 200 ] || fail "metadata through the proxy: $code"
grep -q '"CapabilityStatement"' "$WORK/meta.json" || fail "metadata is not a CapabilityStatement"
"${C[@]}" "$BASE/fhir/.well-known/smart-configuration" | grep -q "\"token_endpoint\":\"$BASE/auth/token\"" \
  || fail "SMART discovery does not name the public https base"

TOKEN="$("$BIN" token --database-url "$URL" --base-url "$BASE" --scope 'system/*.rs')"
PATIENT="$("${C[@]}" -H "Authorization: Bearer $TOKEN" "$BASE/fhir/Patient?_count=1" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["entry"][0]["resource"]["id"])')"
for i in 1 2 3 4; do  # round robin: both nodes answer
  code="$("${C[@]}" -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$BASE/fhir/Patient/$PATIENT")"
  [ "$code" = 200 ] || fail "read $i through the proxy: $code"
done
for p in "$P1" "$P2"; do  # each node accepts the token (one key set in the database)
  code="$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$p/fhir/Patient/$PATIENT")"
  [ "$code" = 200 ] || fail "node on port $p refused the token: $code"
done
rid="$("${C[@]}" -o /dev/null -D - "$BASE/fhir/metadata" | awk 'tolower($1)=="x-request-id:" {print $2}' | tr -d '\r')"
[[ "$rid" =~ ^[0-9a-f]{32}$ ]] || fail "X-Request-Id from nginx's \$request_id not returned (got '$rid')"
head -c $((17 * 1024 * 1024)) /dev/zero > "$WORK/big.json"
code="$("${C[@]}" -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/fhir+json' \
  --data-binary @"$WORK/big.json" "$BASE/fhir/Observation")"
[ "$code" = 413 ] || fail "a body over client_max_body_size: $code, not 413"
echo "proxy/run.sh: ok (docs/deploy.md's nginx example: TLS, two nodes on one PostgreSQL database, request ids, body limit)"

# Sourced by conformance/*/run.sh: starts `$BIN serve --demo` on a free port with data in $DATA and
# its log in $LOG, retrying up to three ports. The caller defines `free_port` and `wait_healthy URL`.
# Sets PORT, BASE and SERVER_PID; exits 1 (after printing the log) if the server never answers.
start_bedside() {
  local started="" attempt
  for attempt in 1 2 3; do
    PORT="$(free_port)"
    BASE="http://127.0.0.1:$PORT"
    "$BIN" serve --demo --listen "127.0.0.1:$PORT" --data-dir "$DATA" >>"$LOG" 2>&1 &
    SERVER_PID=$!
    if wait_healthy "$BASE/healthz"; then
      started=1
      break
    fi
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
    echo "run.sh: the server did not come up on port $PORT (attempt $attempt)" >&2
  done
  if [ -z "$started" ]; then
    echo "run.sh: could not start $BIN; its log:" >&2
    tail -n 50 "$LOG" >&2 || true
    exit 1
  fi
}

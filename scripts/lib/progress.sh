# Sourced by the scripts that fetch or build something once (scripts/lib/maven.sh,
# scripts/helm): a long download or build says every so often that it is still going,
# and has no deadline.

# wait_with_progress PID EVERY COMMAND…: wait for PID, running COMMAND (which prints one
# line) every EVERY seconds meanwhile; returns PID's exit status. Ctrl-C or a TERM stops
# PID too.
wait_with_progress() {
  local pid=$1 every=$2 next rc
  shift 2
  next=$((SECONDS + every))
  trap 'kill "$pid" 2>/dev/null; exit 130' INT TERM
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    if [ "$SECONDS" -ge "$next" ]; then
      "$@" >&2
      next=$((SECONDS + every))
    fi
  done
  if wait "$pid"; then rc=0; else rc=$?; fi
  trap - INT TERM
  return "$rc"
}

#!/usr/bin/env bash
# Sets up (first time) and starts the app on http://localhost:8501 with the embedded defaults (SQLite in ./data) and
# the job worker as a second, lower-priority process, so that a transcription never slows the clerks' pages. The
# worker is restarted if it stops unexpectedly; both stop when this script stops (Ctrl+C or SIGTERM). Extra arguments
# go to `streamlit run`, e.g. --server.address 0.0.0.0 for the LAN. The command line tool is .venv/bin/minutes.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh

# The worker, niced, restarted after a crash; `minutes worker` exits 0 when it is stopped on purpose.
(
  child=""
  trap 'if [ -n "$child" ]; then kill "$child" 2>/dev/null; wait "$child"; fi; exit 0' TERM
  while true; do
    nice -n 10 .venv/bin/minutes worker &
    child=$!
    if wait "$child"; then break; fi
    echo "ジョブワーカーが停止しました。2 秒後に再起動します。" >&2
    sleep 2
  done
) &
worker=$!

MINUTES_APP_WORKER=0 .venv/bin/streamlit run streamlit_app.py "$@" &
app=$!

stopped=0
stop() {
  trap - INT TERM
  kill "$app" "$worker" 2>/dev/null || true
}
trap 'stopped=1; stop' INT TERM
status=0
wait "$app" || status=$?
stop
wait "$app" "$worker" 2>/dev/null || true
if [ "$stopped" = 1 ]; then exit 0; fi # stopped on request (Ctrl+C, SIGTERM)
exit "$status"

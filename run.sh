#!/usr/bin/env bash
# Sets up (first time) and runs minutes. Without arguments: transcribes the bundled Japanese sample meeting.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
export HF_HUB_OFFLINE=1 PYANNOTE_METRICS_ENABLED=0
if [ $# -eq 0 ]; then
  set -- transcribe samples_audio/council_ja.wav --title "サンプル 定例会 一般質問"
fi
exec .venv/bin/minutes "$@"

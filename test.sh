#!/usr/bin/env bash
# Sets up (first time) and runs the whole test suite, offline, with the real models.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh --test
export HF_HUB_OFFLINE=1 PYANNOTE_METRICS_ENABLED=0
.venv/bin/ruff check .
.venv/bin/ruff format --check .
exec .venv/bin/python -m pytest "$@"

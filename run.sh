#!/usr/bin/env bash
# Sets up (first time) and starts the app on http://localhost:8501 with the embedded defaults (SQLite in ./data and
# an in-process job worker). Extra arguments go to `streamlit run`, e.g. --server.address 0.0.0.0 for the LAN.
# The command line tool is .venv/bin/minutes (see README).
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
exec .venv/bin/streamlit run streamlit_app.py "$@"

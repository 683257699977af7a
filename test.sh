#!/usr/bin/env bash
# Sets up (first time) and runs the whole test suite, offline, with the real models.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh --test
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/lint-imports  # the layers and no import cycles (pyproject.toml, ARCHITECTURE.md)
exec .venv/bin/python -m pytest "$@"

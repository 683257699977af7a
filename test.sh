#!/usr/bin/env bash
# Sets up (first time) and runs the whole test suite, offline, with the real models.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh --test
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/lint-imports  # the layers and no import cycles (pyproject.toml, ARCHITECTURE.md)
if [ "$#" -gt 0 ]; then
    exec .venv/bin/python -m pytest "$@"
fi
# The whole suite: the fast tests spread over every core (pytest-xdist), then the tests that run the real models one
# after the other (each already uses every core; two at once would only fight over them). Both phases always run.
status=0
.venv/bin/python -m pytest -m "not slow" -n auto || status=$?
.venv/bin/python -m pytest -m slow || status=$?
exit "$status"

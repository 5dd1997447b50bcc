#!/usr/bin/env bash
# Creates .venv with the project and its dev tools, and builds the front-end assets.
# Idempotent: does nothing when pyproject.toml and package.json have not changed.
set -euo pipefail
cd "$(dirname "$0")/.."

pick_python() {
  for candidate in "${PYTHON:-}" python3.11 python3.12 python3.13 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(0 if (3, 11) <= sys.version_info[:2] < (3, 14) else 1)'; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

stamp_of() { cat "$@" 2>/dev/null | sha256sum | cut -c1-16; }

py_stamp=$(stamp_of pyproject.toml)
if [ ! -x .venv/bin/python ] || [ "$(cat .venv/.installed 2>/dev/null)" != "$py_stamp" ]; then
  if ! python=$(pick_python); then
    echo "error: Python 3.11 to 3.13 is needed. Install it, e.g.: apt-get install python3 python3-venv" >&2
    exit 1
  fi
  if [ ! -x .venv/bin/python ]; then
    echo "==> creating .venv with $python"
    "$python" -m venv .venv || {
      echo "error: '$python -m venv' failed. Install the venv module: apt-get install python3-venv" >&2
      exit 1
    }
  fi
  echo "==> installing the project into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[dev]'
  echo "$py_stamp" > .venv/.installed
fi

js_stamp=$(stamp_of frontend/package.json frontend/package-lock.json frontend/build.mjs)
if [ ! -f frontend/static/vendor/.built ] || [ "$(cat frontend/static/vendor/.built)" != "$js_stamp" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "error: npm is needed to build the front-end assets. Install it: apt-get install nodejs npm" >&2
    exit 1
  fi
  echo "==> installing front-end packages from npm"
  # --include=dev: eslint and prettier (`npm run lint`) even when NODE_ENV=production.
  (cd frontend && { npm ci --include=dev --no-audit --no-fund --loglevel=error || npm install --include=dev --no-audit --no-fund --loglevel=error; } && npm run --silent build)
  echo "$js_stamp" > frontend/static/vendor/.built
fi

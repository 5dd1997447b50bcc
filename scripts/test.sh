#!/usr/bin/env bash
# Runs the whole pytest suite (PostgreSQL when DATABASE_URL points at one, SQLite otherwise).
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m pytest "$@"

#!/usr/bin/env bash
# Type-checks the apps with mypy and the django-stubs plugin (configured in pyproject.toml).
# The plugin loads config.settings, so run with the development settings and no local .env:
# the result never depends on the caller's environment.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBUG=1 NPUFLEET_ENV_FILE=""
unset SECRET_KEY
exec .venv/bin/mypy "$@"

#!/usr/bin/env bash
# Run every check: lint, format, types, then the whole test suite (it starts its own services).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
exec .venv/bin/pytest "$@"

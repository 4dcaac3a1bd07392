#!/usr/bin/env bash
# Run every check: lint, format, types, the layers' contracts (import-linter), then the
# whole test suite (it starts its own services), on every core (pytest-xdist).
# Arguments go to pytest: `scripts/test.sh -m "not slow"` runs the fast part.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/lint-imports --no-cache --no-logo   # the layers' contracts in pyproject.toml
exec .venv/bin/pytest -n auto "$@"

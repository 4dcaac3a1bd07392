#!/usr/bin/env bash
# Run every check: lint, format, types, the layers' contracts (import-linter), then the
# whole test suite (it starts its own services), on every core (pytest-xdist; a worker out
# of tests takes half of another's: the slow process tests would otherwise queue up on one).
# Arguments go to pytest: `scripts/test.sh -m "not slow"` runs the fast part.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/lint-imports --no-cache --no-logo   # the layers' contracts in pyproject.toml
if [ $# -gt 0 ]; then
  exec .venv/bin/pytest -n auto --dist worksteal "$@"
fi
# The whole suite: every core, then the tests held to a wall-clock bound, alone.
.venv/bin/pytest -n auto --dist worksteal -m "not serial"
exec .venv/bin/pytest -m serial

#!/usr/bin/env bash
# Run the service on its embedded default (SQLite under ./var), at http://127.0.0.1:8000.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/assess dev "$@"

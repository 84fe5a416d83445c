#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh machine, then run it.
#   - a virtualenv in .venv with ragtel and its test extras
#   - the OTLP test receiver (Elastic's mockotlpserver) from npm
#   - Arize Phoenix in .phoenix-venv, for the end-to-end tests (scripts/setup-phoenix.sh)
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k decorators`.
# Once set up, `.venv/bin/python -m pytest -m 'not integration'` is the quick run (under a
# minute): no subprocesses, receivers or servers.
set -euo pipefail
cd "$(dirname "$0")/.."

python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'
npm ci --prefix tests/receiver --no-audit --no-fund --loglevel=error
PYTHON="$python" bash scripts/setup-phoenix.sh

exec .venv/bin/python -m pytest "$@"

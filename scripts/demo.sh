#!/usr/bin/env bash
# Install ragtel into .venv and run the quickstart pipeline, which traces to
# ./ragtel-traces.jsonl (or $RAGTEL_TRACES_FILE) and prints where the traces went.
set -euo pipefail
cd "$(dirname "$0")/.."

python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet -e .
exec .venv/bin/python examples/quickstart.py

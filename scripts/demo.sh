#!/usr/bin/env bash
# Install ragtel into .venv and run `ragtel demo`: an offline RAG pipeline that
# sweeps chunk_size x top_k, writes its traces (with late simulated feedback)
# to ./ragtel-traces.jsonl (or $RAGTEL_TRACES_FILE), and prints the `ragtel view`
# and `ragtel report` commands to explore them. Extra arguments go to the demo.
set -euo pipefail
cd "$(dirname "$0")/.."

python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet -e .
exec .venv/bin/ragtel demo "$@"

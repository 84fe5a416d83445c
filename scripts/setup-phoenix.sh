#!/usr/bin/env bash
# Create .phoenix-venv with the Arize Phoenix server that the end-to-end tests
# run (see tests/phoenix_server.py). Phoenix gets a virtualenv of its own so its
# many dependencies never mix with the test virtualenv.
#
# Idempotent: does nothing when .phoenix-venv was built from the current
# tests/phoenix/requirements.txt with the current Python; otherwise rebuilds it.
set -euo pipefail
cd "$(dirname "$0")/.."

python="${PYTHON:-python3}"
venv=.phoenix-venv
requirements=tests/phoenix/requirements.txt
# Written last, so an interrupted install is never taken for a finished one.
stamp="$venv/.requirements.sha256"

want="$("$python" - "$requirements" <<'PY'
import hashlib, sys
digest = hashlib.sha256(sys.version.encode())
with open(sys.argv[1], "rb") as f:
    digest.update(f.read())
print(digest.hexdigest())
PY
)"

if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  exit 0
fi

echo "setup-phoenix: building $venv from $requirements (takes a few minutes)" >&2
rm -rf "$venv"
"$python" -m venv "$venv"
# Keep the virtualenv out of git even where .gitignore does not list it.
printf '*\n' > "$venv/.gitignore"
# Wheels only: no compiler needed, and an unsupported platform fails at once.
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  --only-binary=:all: -r "$requirements"
echo "$want" > "$stamp"

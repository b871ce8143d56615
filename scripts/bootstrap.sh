#!/usr/bin/env bash
# Sets up ./.venv with glorot and its test tools, every dependency at the version pinned in
# requirements.lock (refresh it with scripts/lock.py). Safe to run again: it reinstalls only
# when pyproject.toml or requirements.lock changed since the last successful install.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
stamp=.venv/.glorot-installed
want=$(cat pyproject.toml requirements.lock | sha256sum | cut -d' ' -f1)
if [ -x .venv/bin/python ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
echo "setting up .venv (first time: several minutes, torch is large)" >&2
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -c requirements.lock -e '.[test]'
echo "$want" > "$stamp"

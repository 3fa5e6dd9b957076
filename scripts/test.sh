#!/usr/bin/env bash
# Install mailbeacon with its test dependencies into .venv and run the whole test suite.
# With no MAILBEACON_* variables it runs on the embedded defaults (SQLite, in-process queue);
# set MAILBEACON_DATABASE_URL and MAILBEACON_REDIS_URL to run it on PostgreSQL and Redis.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'
exec .venv/bin/python -m pytest "$@"

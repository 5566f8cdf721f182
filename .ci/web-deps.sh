#!/usr/bin/env bash
# What the browser tests (tests/test_web.py) and benchmarks/bench_web.py need:
# Debian's chromium, the page's npm packages in tests/web/node_modules (npm ci, from
# tests/web/package-lock.json) and Playwright for Python (driving that chromium through
# its executable path: Playwright's own browser download is not used).
#
# Usage: bash .ci/web-deps.sh   (VENV=path picks the virtualenv; default .venv, else python3)
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
if [ -x "$VENV/bin/python" ]; then PY="$VENV/bin/python"; else PY=${PYTHON:-python3}; fi

retry() {  # a registry hiccup should not fail CI at once
    "$@" || { echo "web-deps: retrying: $*" >&2; sleep 5; "$@"; }
}

if ! command -v chromium >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    retry $SUDO apt-get update -qq
    retry $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
fi
chromium --version 2>/dev/null | head -n 1

if [ ! -f tests/web/node_modules/@litertjs/core/package.json ] \
    || [ ! -f tests/web/node_modules/@mediapipe/tasks-vision/package.json ]; then
    retry npm ci --prefix tests/web --no-audit --no-fund --loglevel=error
fi

if ! "$PY" -c "import playwright" >/dev/null 2>&1; then
    retry "$PY" -m pip install --quiet "playwright>=1.50"
fi
echo "web-deps: chromium, tests/web/node_modules and playwright are ready"

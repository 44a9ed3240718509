#!/usr/bin/env bash
# Creates (once) a Python venv holding one pinned PyPI tool for the server's tests
# (tuspy for tests/tuspy.rs, schemathesis for tests/schemathesis.rs).
#   setup-venv.sh VENV_DIR REQUIREMENT CHECK
# REQUIREMENT is a pip requirement with its version pinned (`tuspy==1.1.0`); CHECK is
# Python code run in the venv afterwards (an import) to prove the tool works.
# Idempotent: a venv whose marker file names the requirement is left as it is; anything
# else in VENV_DIR is replaced. The caller holds a lock, so parallel test processes do
# not race. Uses $GRIDWALK_PYTHON, else python3. Exit 3, with a message naming the
# Debian package, when no venv with pip can be made; other failures exit non-zero too.
set -euo pipefail
VENV="$1"
REQUIREMENT="$2"
CHECK="$3"
PY="${GRIDWALK_PYTHON:-python3}"
MARKER="$VENV/.installed-${REQUIREMENT//[^A-Za-z0-9._-]/_}"

[ -f "$MARKER" ] && exit 0

if ! command -v "$PY" >/dev/null 2>&1; then
    echo "$PY not found: install the Debian packages python3 and python3-venv" >&2
    exit 3
fi
rm -rf "$VENV"
mkdir -p "$(dirname "$VENV")"
if ! out=$("$PY" -m venv "$VENV" 2>&1); then
    rm -rf "$VENV"
    echo "cannot create a Python venv with $PY; install the Debian package python3-venv" \
        "(apt-get install python3-venv). $PY said: $out" >&2
    exit 3
fi
if ! "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
    rm -rf "$VENV"
    echo "the venv made by $PY has no pip; install the Debian package python3-venv" \
        "(apt-get install python3-venv)" >&2
    exit 3
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$REQUIREMENT" >&2
"$VENV/bin/python" -c "$CHECK" >&2
touch "$MARKER"

#!/bin/sh
# Install Atrium into ./.venv and run the demo on the embedded default:
# SQLite and local files under ./var, a demo tenant, http://127.0.0.1:8000.
# Safe to re-run: it keeps the data and prints a fresh one-time password.
set -eu
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
PYTHON="${PYTHON:-python3}"

"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || { echo "error: Atrium needs Python 3.11 or newer ($PYTHON is $("$PYTHON" -V 2>&1))" >&2; exit 1; }
if ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then
    echo "== installing python3-venv (Debian package)"
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q python3-venv
fi

echo "== installing Atrium into .venv"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -e .

export ATRIUM_DATA_DIR="${ATRIUM_DATA_DIR:-$PWD/var}"
echo "== preparing the data directory $ATRIUM_DATA_DIR"
.venv/bin/atrium init
.venv/bin/atrium demo
echo "== serving on http://${ATRIUM_SERVE__BIND:-127.0.0.1:8000} (Ctrl-C stops it)"
exec .venv/bin/atrium serve

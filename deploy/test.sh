#!/bin/sh
# Install everything the tests need and run them:
# Debian packages (real slapd, PostgreSQL, OpenSSH server, headless chromium, CJK fonts,
# debootstrap and systemd-nspawn for installer test hosts), a virtualenv with the test
# extras, then the whole pytest suite, spread over one worker per core (pytest-xdist: each
# worker starts its own servers and runs whole test files, in their written order).
# Extra arguments go to pytest, e.g.
#   sh deploy/test.sh -m "not slow"      # skip the slowest tests while developing
#   sh deploy/test.sh -n 0 tests/ldap    # one process, one folder
# ATRIUM_TEST_WORKERS sets the number of workers (default: auto, one per core).
set -eu
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
PYTHON="${PYTHON:-python3}"
PACKAGES="python3-venv slapd ldap-utils postgresql openssh-server openssh-client chromium fonts-noto-cjk
          debootstrap systemd-container iproute2 ca-certificates zstd openssl"

"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || { echo "error: Atrium needs Python 3.11 or newer" >&2; exit 1; }

missing=""
for pkg in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
    echo "== installing Debian packages:$missing"
    $SUDO apt-get update -q
    # The packages' services are not started here: the tests start their own on loopback.
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
fi

echo "== installing Atrium and the test tools into .venv"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -e '.[test]'

echo "== running the tests"
exec .venv/bin/python -m pytest --numprocesses "${ATRIUM_TEST_WORKERS:-auto}" --dist loadfile "$@"

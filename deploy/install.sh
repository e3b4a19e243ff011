#!/bin/sh
# Install or upgrade Atrium from this unpacked bundle, with the Ansible that comes in it:
#
#   ./install.sh INVENTORY [ansible-playbook options]     install, or upgrade to this bundle's release
#   ./install.sh --check INVENTORY                        check the inventory only; no host is contacted
#   ./install.sh --smoke INVENTORY [--json]               run the smoke tests against an installation
#
# Safe to re-run: a second run changes nothing, and a run that failed or was cut off half-way finishes when run
# again after the cause is fixed. The run's transcript goes to ./atrium-install.log (ATRIUM_INSTALL_LOG=FILE
# puts it elsewhere). Needs python3 with venv and an SSH client on this machine; nothing is fetched from the
# internet.
set -eu

bundle="$(cd "$(dirname "$0")" && pwd)"
if [ ! -f "$bundle/VERSION" ] || [ ! -d "$bundle/wheels" ] || [ ! -f "$bundle/ansible/site.yml" ]; then
    echo "error: run install.sh from an unpacked bundle (atrium-VERSION/ with VERSION, wheels/ and ansible/)" >&2
    exit 2
fi
version="$(cat "$bundle/VERSION")"

usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; }
mode=install
case "${1:-}" in
    --check) mode=check; shift ;;
    --smoke) mode=smoke; shift ;;
    -h|--help) usage; exit 0 ;;
    "") usage >&2; exit 2 ;;
esac
[ $# -ge 1 ] || { echo "error: name the inventory, e.g. ./install.sh ansible/inventories/split/hosts.yml" >&2; exit 2; }
inventory="$1"
shift
[ -e "$inventory" ] || { echo "error: no inventory at $inventory" >&2; exit 2; }

# The installer's own Python tools (Ansible, paramiko) in a virtualenv made from the bundle's wheels, kept per
# set of wheels so that a newer bundle with the same tools reuses it.
python="${PYTHON:-python3}"
tools_key="$(cd "$bundle/wheels" && ls ansible_core-*.whl paramiko-*.whl | sha256sum | cut -c1-12)"
tools="${XDG_CACHE_HOME:-$HOME/.cache}/atrium-installer/$tools_key"
mkdir -p "$(dirname "$tools")"
exec 9>"$tools.lock"
flock 9   # a second install.sh started at the same time waits for the first one's tools
if [ ! -x "$tools/bin/ansible-playbook" ] || [ ! -f "$tools/.complete" ]; then
    echo "== preparing the installer's tools in $tools (from the bundle's wheels)"
    rm -rf "$tools"
    "$python" -m venv "$tools" || { echo "error: $python -m venv failed: install python3-venv" >&2; exit 2; }
    "$tools/bin/pip" install --quiet --disable-pip-version-check --no-index --find-links "$bundle/wheels" \
        ansible-core paramiko
    touch "$tools/.complete"
fi
flock -u 9

export ANSIBLE_CONFIG="$bundle/ansible/ansible.cfg"
case "$mode" in
    smoke)
        exec "$tools/bin/python" "$bundle/smoke.py" -i "$inventory" --ansible-inventory "$tools/bin/ansible-inventory" "$@"
        ;;
    check)
        exec "$tools/bin/ansible-playbook" -i "$inventory" -e "atrium_bundle_dir=$bundle" \
            "$bundle/ansible/preflight.yml" "$@"
        ;;
esac

log="${ATRIUM_INSTALL_LOG:-$(pwd)/atrium-install.log}"
export ANSIBLE_LOG_PATH="$log"
echo "== installing Atrium $version with inventory $inventory (transcript: $log)"
status=0
"$tools/bin/ansible-playbook" -i "$inventory" -e "atrium_bundle_dir=$bundle" "$bundle/ansible/site.yml" "$@" \
    || status=$?
if [ "$status" -eq 0 ]; then
    echo "== Atrium $version is installed. Check it end to end: $0 --smoke $inventory"
else
    echo "== the installer stopped (exit $status); the transcript is in $log. Fix the cause and run the same" \
         "command again: it picks up where it stopped." >&2
fi
exit "$status"

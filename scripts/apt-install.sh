#!/bin/sh
# Install Debian/Ubuntu packages that are missing: scripts/apt-install.sh NAME PACKAGE...
# NAME prefixes every line it prints. Idempotent: installs only what is missing, so a machine that
# has everything needs neither root nor the network. Needs root to install (CI runs as root).
set -eu

name=$1
shift

missing=""
for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $pkg"
    fi
done

if [ -z "$missing" ]; then
    echo "$name: already installed: $*"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "$name: needs apt-get (Debian or Ubuntu); missing:$missing" >&2
    exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "$name: must run as root to install:$missing (try: sudo $0 $name $*)" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# What is asked for, not what the packages recommend.
# shellcheck disable=SC2086 # one word per package
apt-get install -y -qq --no-install-recommends $missing
echo "$name: installed:$missing"

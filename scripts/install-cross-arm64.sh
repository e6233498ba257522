#!/bin/sh
# Install Debian's aarch64 cross toolchain and QEMU user-mode emulation, which `make e2e-arm64`
# builds llama-server for ARM64 with (scripts/build-llama-server-arm64.py) and runs it under.
# Idempotent: installs only what is missing. Needs root (CI runs as root): sudo scripts/install-cross-arm64.sh
set -eu

# The compilers bring the arm64 glibc and libstdc++ (libc6-dev-arm64-cross, libstdc++-12-dev-arm64-cross)
# that qemu-aarch64 loads the binary against (-L /usr/aarch64-linux-gnu).
PACKAGES="gcc-aarch64-linux-gnu g++-aarch64-linux-gnu qemu-user cmake"

missing=""
for pkg in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $pkg"
    fi
done

if [ -z "$missing" ]; then
    echo "install-cross-arm64: already installed: $PACKAGES"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-cross-arm64: needs apt-get (Debian or Ubuntu); missing:$missing" >&2
    exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "install-cross-arm64: must run as root to install:$missing (try: sudo $0)" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086 # one word per package
apt-get install -y -qq --no-install-recommends $missing
echo "install-cross-arm64: installed:$missing"

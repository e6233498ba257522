#!/bin/sh
# Install Debian's aarch64 cross toolchain and QEMU user-mode emulation, which `make e2e-arm64`
# builds llama-server for ARM64 with (scripts/build-llama-server-arm64.py) and runs it under.
# The compilers bring the arm64 glibc and libstdc++ (libc6-dev-arm64-cross, libstdc++-12-dev-arm64-cross)
# that qemu-aarch64 loads the binary against (-L /usr/aarch64-linux-gnu).
# Idempotent: installs only what is missing. Needs root (CI runs as root): sudo scripts/install-cross-arm64.sh
set -eu
exec "$(dirname "$0")/apt-install.sh" install-cross-arm64 gcc-aarch64-linux-gnu g++-aarch64-linux-gnu qemu-user cmake

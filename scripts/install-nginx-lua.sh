#!/bin/sh
# Install Debian's nginx with the Lua module, which the proxy tests (tests/proxy) run the rendered
# nginx.conf and auth.lua in. Production runs OpenResty; these packages carry the same
# lua-nginx-module with resty.core, and auth.lua uses only APIs both have; lua-cjson is the JSON
# module OpenResty bundles (auth.lua reads generation requests' max_tokens with it).
# Idempotent: installs only what is missing. Needs root (CI runs as root): sudo scripts/install-nginx-lua.sh
set -eu

PACKAGES="nginx libnginx-mod-http-ndk libnginx-mod-http-lua lua-resty-core lua-resty-lrucache lua-cjson"

missing=""
for pkg in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $pkg"
    fi
done

if [ -z "$missing" ]; then
    echo "install-nginx-lua: already installed: $PACKAGES"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-nginx-lua: needs apt-get (Debian or Ubuntu); missing:$missing" >&2
    exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "install-nginx-lua: must run as root to install:$missing (try: sudo $0)" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# The tests need the binary and the modules, not what nginx recommends.
# shellcheck disable=SC2086 # one word per package
apt-get install -y -qq --no-install-recommends $missing
echo "install-nginx-lua: installed:$missing"

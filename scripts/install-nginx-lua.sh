#!/bin/sh
# Install Debian's nginx with the Lua module, which the proxy tests (tests/proxy) run the rendered
# nginx.conf and auth.lua in. Production runs OpenResty; these packages carry the same
# lua-nginx-module with resty.core, and auth.lua uses only APIs both have; lua-cjson is the JSON
# module OpenResty bundles (auth.lua reads generation requests' max_tokens with it).
# Idempotent: installs only what is missing. Needs root (CI runs as root): sudo scripts/install-nginx-lua.sh
set -eu
exec "$(dirname "$0")/apt-install.sh" install-nginx-lua \
    nginx libnginx-mod-http-ndk libnginx-mod-http-lua lua-resty-core lua-resty-lrucache lua-cjson

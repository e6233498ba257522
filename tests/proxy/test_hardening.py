"""What a reviewer checks beyond who gets in: logs keep no secret, the process runs as the pod's
non-root user and writes only under run/, and every environment's rendered configuration loads."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from generator.render import PROXY_CONF_DIR, PROXY_RUN_DIR, PROXY_SECRET_DIR
from generator.settings import Settings
from testkit.nginx import LUA_PREAMBLE, POD_UID, PROJECT_ROOT, Proxy, Runtime, check_config, configmap_data
from testkit.proxy_client import bearer, request
from tests.proxy.conftest import KEY

MiB = 1024 * 1024


def test_logs_never_hold_the_key_the_header_or_the_query(proxy: Proxy) -> None:
    request(proxy.port, "GET", f"/v1/models?api_key={KEY}&page=2", bearer(KEY))
    request(proxy.port, "GET", f"/v1/models?api_key={KEY}")
    request(proxy.port, "GET", "/v1/models", [("Authorization", f"Bearer {KEY}x")])
    request(proxy.port, "GET", "/v1/models", [("Authorization", f"Token {KEY}")])
    request(proxy.port, "POST", "/v1/embeddings", bearer(KEY), os.urandom(2 * MiB))  # warns: buffered to a file
    access, errors = proxy.read_access_log(), proxy.read_error_log()
    for log in (access, errors):
        assert KEY not in log
        assert "api_key" not in log and "page=2" not in log
        assert "Bearer" not in log and "Token" not in log
    assert '"GET /v1/models HTTP/1.1" 200' in access and '"GET /v1/models HTTP/1.1" 401' in access


def test_nothing_is_written_outside_run(proxy: Proxy) -> None:
    """The root filesystem is read-only: the pid file and every temporary file live under run/."""
    request(proxy.port, "POST", "/v1/embeddings", bearer(KEY), os.urandom(3 * MiB))  # a temporary file
    tree = {p.relative_to(proxy.prefix).as_posix() for p in proxy.prefix.rglob("*")}
    generation = f"{PROXY_SECRET_DIR}/{os.readlink(proxy.prefix / PROXY_SECRET_DIR / '..data')}"
    assert {p for p in tree if not p.startswith(f"{PROXY_RUN_DIR}/")} == {
        PROXY_CONF_DIR, f"{PROXY_CONF_DIR}/nginx.conf", f"{PROXY_CONF_DIR}/auth.lua", f"{PROXY_CONF_DIR}/metrics.lua", PROXY_RUN_DIR,
        PROXY_SECRET_DIR, f"{PROXY_SECRET_DIR}/api-key", f"{PROXY_SECRET_DIR}/..data", generation, f"{generation}/api-key",
    }
    assert {f"{PROXY_RUN_DIR}/nginx.pid", f"{PROXY_RUN_DIR}/client_body"} <= tree
    assert not re.search(r"\[(emerg|alert|crit)\]|Permission denied|Read-only", proxy.read_error_log())


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can start nginx as the pod's uid")
def test_it_runs_as_the_pods_non_root_user(proxy: Proxy) -> None:
    for pid in proxy.pids():
        uid_line = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("Uid:"))
        assert set(uid_line.split()[1:]) == {str(POD_UID)}


def test_the_files_are_the_configmaps_own(proxy: Proxy) -> None:
    """The harness changes nothing in them; the only addition is the preamble, outside them."""
    for name, text in proxy.files.items():
        assert (proxy.prefix / PROXY_CONF_DIR / name).read_text(encoding="utf-8") == text
    assert "load_module" not in proxy.files["nginx.conf"]
    assert [line for line in LUA_PREAMBLE.splitlines() if not line.startswith("#")] == [
        "load_module /usr/lib/nginx/modules/ndk_http_module.so;",
        "load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;",
    ]


@pytest.mark.parametrize("env", ["prod", "staging"])
def test_every_environments_configuration_loads(runtime: Runtime, env: str) -> None:
    """`nginx -t` on the project's own rendered environments (ports and limits as deployed)."""
    code, output = check_config(runtime, configmap_data(Settings(root=PROJECT_ROOT), env))
    assert code == 0, output
    assert "test is successful" in output

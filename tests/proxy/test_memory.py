"""The auth proxy's memory, budgeted like llama-server's: measured at its worst in real nginx and held
to generator/render.py's model, which derives worker_connections and the in-flight limits from the
container's 64Mi limit.

The finding: `GET /health` with an 8 MiB body was read and spooled unauthenticated; 50 such
connections took the worker from 6 to 58 MiB and left deleted temp files behind.

The measurement (testkit/proxy_memory.py) runs in a private network namespace: thousands of
loopback connections, no port shared with anyone else.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from typing import Any

import pytest

from generator.capacity.proxy import (
    PROXY_BODY_FACTOR,
    PROXY_CONNECTION_BYTES,
    PROXY_FIXED_BYTES,
    PROXY_HEADROOM,
    PROXY_METRICS_BYTES,
    PROXY_REQUEST_BYTES,
    PROXY_SLOT_BYTES,
)
from testkit.nginx import PROJECT_ROOT, Runtime

MiB = 1024 * 1024


def isolated(command: list[str]) -> list[str]:
    """`command` in a fresh network namespace with its loopback up, when we may make one (root)."""
    if os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("ip") is None:
        return command
    return ["unshare", "--net", "sh", "-c", 'ip link set lo up && exec "$@"', "sh", *command]


@pytest.fixture(scope="module")
def measured(runtime: Runtime) -> dict[str, Any]:
    done = subprocess.run(isolated([sys.executable, "-m", "testkit.proxy_memory"]), capture_output=True, text=True,
                          cwd=PROJECT_ROOT, timeout=300, check=False, env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})
    assert done.returncode == 0, done.stdout + done.stderr
    return dict(json.loads(done.stdout))


def test_a_body_on_the_probe_path_is_never_read(measured: dict[str, Any]) -> None:
    """50 connections sending GET /health with 8 MiB bodies: refused before a byte is read."""
    assert measured["health_flood_growth"] < 2 * MiB
    assert measured["spooled_files"] == 0


def test_a_connection_before_authentication_costs_no_more_than_budgeted(measured: dict[str, Any]) -> None:
    """Every header buffer full, the request never finished: the worst a client can do without a key."""
    # All but the sixteenth nginx keeps free and the requests' room (testkit.proxy_memory), every one held.
    assert measured["connections_open"] >= measured["limits"]["worker_connections"] * 7 // 8
    assert 0 < measured["per_connection"] <= PROXY_CONNECTION_BYTES


def test_a_request_in_flight_costs_no_more_than_budgeted(measured: dict[str, Any]) -> None:
    """The largest generation body read and checked, its stream held open upstream."""
    assert 0 < measured["per_request"] <= PROXY_REQUEST_BYTES + PROXY_BODY_FACTOR * measured["body_bytes"]


def test_idle_and_everything_at_once_fit_the_model_and_the_limit(measured: dict[str, Any]) -> None:
    limits = measured["limits"]
    assert measured["idle"]["total_pss"] <= PROXY_FIXED_BYTES + limits["worker_connections"] * PROXY_SLOT_BYTES
    worst = measured["with_requests"]["total_pss"]
    assert worst <= limits["memory_worst_bytes"] <= (1 - PROXY_HEADROOM) * limits["memory_limit_bytes"]
    assert limits["memory_limit_bytes"] == 64 * MiB


def test_metrics_cost_no_more_than_budgeted(measured: dict[str, Any]) -> None:
    """The shared dictionary, metrics.lua in the worker and a scrape under full load: within the model's share."""
    assert 0 < measured["metrics_cost"] <= PROXY_METRICS_BYTES
    assert measured["with_scrape"]["total_pss"] <= measured["limits"]["memory_worst_bytes"]

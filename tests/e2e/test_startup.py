"""What the start proves: the rendered command line runs as rendered on the pinned build, loopback
only, and the proxy's health path says 503 while the model loads, 200 once it serves."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from testkit.nginx import render_proxy_files
from testkit.pins import pinned_build
from tests.e2e.api import call, ok_json
from tests.e2e.conftest import Stack
from tests.e2e.environment import ENV, raw_values

pytestmark = pytest.mark.e2e


def test_health_is_503_while_loading_then_200_through_the_proxy(stack: Stack) -> None:
    statuses = [p.status for p in stack.health]
    first_ready = statuses.index(200)
    loading = [p for p in stack.health[:first_ready] if p.status == 503]
    assert loading, f"no 503 seen before ready: {statuses[:first_ready + 1]} (probes every few ms)"
    assert json.loads(loading[0].body)["error"]["message"] == "Loading model"
    # Before llama-server listens the proxy answers 502 itself; after ready it stays ready.
    assert set(statuses[:first_ready]) <= {502, 503}, statuses
    assert set(statuses[first_ready:]) == {200}, statuses


def rendered(args: list[str], flag: str) -> str:
    """The value the rendered command line gives a flag."""
    assert flag in args, f"{flag} is not rendered: {args}"
    return args[args.index(flag) + 1]


def test_llama_server_applied_the_rendered_flags(stack: Stack, llama_container: dict[str, Any]) -> None:
    """llama-server refuses unknown flags, so serving at all proves each rendered flag exists in this
    build; what it reports back (its /props and its log) proves it took their values."""
    args, log = llama_container["args"], stack.llama.log_text()
    props = ok_json(call(stack.outside.port, "GET", "/props", key=None))  # llama-server's own: the proxy hides it
    assert (props["total_slots"], props["model_alias"]) == (int(rendered(args, "--parallel")), rendered(args, "--alias"))
    assert f"context checkpoints enabled, max = {rendered(args, '--ctx-checkpoints')}," in log
    cache_types = f"K ({rendered(args, '--cache-type-k')})", f"V ({rendered(args, '--cache-type-v')})"
    assert all(kind in log for kind in cache_types), cache_types
    assert re.search(rf"llama_context: n_ubatch\s+= {rendered(args, '--ubatch-size')}\n", log)
    assert stack.llama.process.poll() is None
    assert "invalid argument" not in log and "DEPRECATED" not in log, log[:2000]


def test_llama_server_refuses_an_unknown_flag(stack: Stack) -> None:
    """The premise of the test above, checked on this build: an unknown flag stops it at once."""
    result = subprocess.run([*stack.llama.argv, "--no-such-flag"], env=stack.llama.env, capture_output=True,
                            text=True, timeout=60, cwd=stack.outside.home)
    assert result.returncode != 0
    assert "--no-such-flag" in result.stdout + result.stderr


def test_llama_server_listens_on_loopback_only(stack: Stack) -> None:
    assert f"listening on http://127.0.0.1:{stack.outside.port}" in stack.llama.log_text()


def test_the_served_build_is_the_pinned_one(stack: Stack) -> None:
    """/props reports the llama.cpp build the binary was compiled as: the one the image tag names.
    Asked of llama-server directly: the proxy does not open /props (it names the model path)."""
    props = ok_json(call(stack.outside.port, "GET", "/props", key=None))
    assert props["build_info"].startswith(f"b{pinned_build()}-"), props["build_info"]


def test_the_proxy_runs_the_e2e_environments_configuration(stack: Stack, tmp_path: Path) -> None:
    """The harness renders the proxy files from the e2e values' proxy block; the e2e environment
    rendered with the same three ports gives the very same files."""
    values = raw_values()
    values["proxy"] = {**values.get("proxy", {}), "port": stack.proxy.port}
    values["llama"] = {**values.get("llama", {}), "port": stack.outside.port}
    values["metrics"] = {**values.get("metrics", {}), "port": stack.proxy.metrics_port}
    assert render_proxy_files(tmp_path, values, ENV) == stack.proxy.files

"""Schema lookup: bundled versions, location order, broken versus missing, and a cache of JSON only."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from generator.kube import bundled, cache
from generator.kube.location import parse_location
from generator.kube.registry import (
    LookupFailed,
    SchemaNotFound,
    SchemaRegistry,
    download,
    python_pattern,
)
from generator.manifest import Identity

WIDGET = Identity.of("example.com/v1", "Widget", "gemma", "w")
WIDGET_SCHEMA = {"type": "object", "properties": {"spec": {"type": "object", "additionalProperties": False}}}


class SchemaServer(http.server.BaseHTTPRequestHandler):
    """Serves a JSON schema, an HTML error page with status 200, a 404 and a 500."""

    bodies: ClassVar[dict[str, tuple[int, bytes]]] = {
        "/good/example.com/widget_v1.json": (200, json.dumps(WIDGET_SCHEMA).encode()),
        "/html/example.com/widget_v1.json": (200, b"<html><body>rate limited</body></html>"),
        "/fail/example.com/widget_v1.json": (500, b"oops"),
    }
    requests: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        SchemaServer.requests.append(self.path)
        status, body = self.bodies.get(self.path, (404, b"not found"))
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        """Keep test output quiet."""


@pytest.fixture
def server() -> Iterator[str]:
    """A schema server on 127.0.0.1 in a thread; yields its base URL."""
    SchemaServer.requests = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), SchemaServer)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def registry(*templates: str, cache_dir: Path | None = None) -> SchemaRegistry:
    """A registry over some location templates."""
    return SchemaRegistry(tuple(parse_location(t, Path("/")) for t in templates), cache_dir)


def test_the_wheel_ships_the_default_versions() -> None:
    assert {"1.31", "1.34"} <= set(bundled.available_versions())


def test_core_kinds_come_from_the_bundled_strict_schemas() -> None:
    compiled = registry().lookup(Identity.of("apps/v1", "Deployment"), "1.31")
    assert compiled.source == "Kubernetes 1.31"
    assert compiled.versioned
    errors = list(compiled.validator.iter_errors({"apiVersion": "apps/v1", "kind": "Deployment", "spek": {}}))
    assert [e.message for e in errors] == ["Additional properties are not allowed ('spek' was unexpected)"]


def test_a_bundled_file_for_another_group_is_not_used() -> None:
    """`deployment-apps-v1.json` must not validate a CRD `Deployment` of `apps.example.com/v1`."""
    with pytest.raises(SchemaNotFound):
        registry().lookup(Identity.of("apps.example.com/v1", "Deployment"), "1.31")


def test_each_schema_is_compiled_once() -> None:
    reg = registry()
    first = reg.lookup(Identity.of("v1", "Service"), "1.34")
    assert reg.lookup(Identity.of("v1", "Service", "other", "x"), "1.34") is first
    assert reg.lookup(Identity.of("v1", "Service"), "1.31") is not first


def test_locations_are_tried_in_order_and_not_found_moves_on(tmp_path: Path, crd_schemas: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    found = registry(empty.as_posix(), crd_schemas.as_posix()).lookup(
        Identity.of("argoproj.io/v1alpha1", "Application"), "1.31"
    )
    assert found.source == f"{crd_schemas.as_posix()}/argoproj.io/application_v1alpha1.json"


def test_not_found_lists_every_place_tried(tmp_path: Path) -> None:
    with pytest.raises(SchemaNotFound) as caught:
        registry(tmp_path.as_posix()).lookup(WIDGET, "1.31")
    assert caught.value.tried == ("the bundled Kubernetes schemas", f"{tmp_path.as_posix()}/example.com/widget_v1.json")


def test_a_broken_local_schema_is_broken_not_missing(tmp_path: Path, crd_schemas: Path) -> None:
    (tmp_path / "example.com").mkdir()
    (tmp_path / "example.com" / "widget_v1.json").write_text('{"type": "object",')
    with pytest.raises(LookupFailed, match=r"^broken schema at .*/widget_v1.json: not valid JSON \(Expecting"):
        registry(tmp_path.as_posix(), crd_schemas.as_posix()).lookup(WIDGET, "1.31")


def test_a_schema_that_is_not_a_json_schema_is_broken(tmp_path: Path) -> None:
    (tmp_path / "example.com").mkdir()
    (tmp_path / "example.com" / "widget_v1.json").write_text('{"type": "objekt"}')
    with pytest.raises(LookupFailed, match="not a valid JSON schema"):
        registry(tmp_path.as_posix()).lookup(WIDGET, "1.31")


def test_a_downloaded_schema_is_cached_and_reused(server: str, tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    url = f"{server}/good/example.com/widget_v1.json"
    registry(f"{server}/good", cache_dir=cache_dir).lookup(WIDGET, "1.31")
    assert cache.get(cache_dir, url) == WIDGET_SCHEMA
    registry(f"{server}/good", cache_dir=cache_dir).lookup(WIDGET, "1.34")
    assert SchemaServer.requests == ["/good/example.com/widget_v1.json"]


def test_a_non_json_body_is_an_error_and_never_cached(server: str, tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    with pytest.raises(
        LookupFailed,
        match=r"^broken schema at http://127\.0\.0\.1:\d+/html/example\.com/widget_v1\.json: not valid JSON",
    ):
        registry(f"{server}/html", f"{server}/good", cache_dir=cache_dir).lookup(WIDGET, "1.31")
    assert not cache_dir.exists() or list(cache_dir.iterdir()) == []
    assert SchemaServer.requests == ["/html/example.com/widget_v1.json"]


def test_a_404_moves_on_to_the_next_location(server: str, tmp_path: Path) -> None:
    found = registry(f"{server}/missing", f"{server}/good", cache_dir=tmp_path).lookup(WIDGET, "1.31")
    assert found.source.endswith("/good/example.com/widget_v1.json")
    assert cache.get(tmp_path, f"{server}/missing/example.com/widget_v1.json") is None


def test_a_server_error_stops_the_lookup(server: str) -> None:
    with pytest.raises(LookupFailed, match="HTTP status 500"):
        registry(f"{server}/fail", f"{server}/good").lookup(WIDGET, "1.31")
    assert SchemaServer.requests == ["/fail/example.com/widget_v1.json"]


def test_download_returns_none_for_404(server: str) -> None:
    assert download(f"{server}/nothing.json") is None


def test_the_network_is_blocked_except_loopback() -> None:
    with pytest.raises(LookupFailed, match="network access blocked in tests"):
        download("http://192.0.2.1/schema.json")


def test_a_corrupt_cache_entry_is_fetched_again(server: str, tmp_path: Path) -> None:
    url = f"{server}/good/example.com/widget_v1.json"
    tmp_path.joinpath(cache.cache_path(tmp_path, url).name).write_text("<html>")
    registry(f"{server}/good", cache_dir=tmp_path).lookup(WIDGET, "1.31")
    assert cache.get(tmp_path, url) == WIDGET_SCHEMA


@pytest.mark.parametrize(("go", "python"), [
    ("^(?i)(abort|warn)?$", "^(?i:(abort|warn)?$)"),  # Prometheus Operator's PrometheusRule
    ("(?i)abc", "(?i)abc"),  # at the start Python reads it as Go does
    ("^[a-z(]+(?i)x$", "^[a-z(]+(?i:x$)"),  # a parenthesis in a class opens no group
    ("^(a(?i)b)$", "^(a(?i)b)$"),  # inside a group: left as written (reported as a broken schema)
])
def test_go_flag_groups_become_scoped_python_ones(go: str, python: str) -> None:
    assert python_pattern(go) == python


def test_a_prometheus_rule_validates_against_the_vendored_schema(crd_schemas: Path) -> None:
    rule: dict[str, Any] = {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule", "metadata": {"name": "r"},
            "spec": {"groups": [{"name": "g", "partial_response_strategy": "WARN",
                                 "rules": [{"alert": "A", "expr": "up == 0", "for": "5m"}]}]}}
    compiled = registry(str(crd_schemas)).lookup(Identity.of("monitoring.coreos.com/v1", "PrometheusRule"), "1.31")
    assert list(compiled.validator.iter_errors(rule)) == []
    rule["spec"]["groups"][0]["partial_response_strategy"] = "sometimes"
    assert [e.message for e in compiled.validator.iter_errors(rule)] == [
        "'sometimes' does not match '^(?i:(abort|warn)?$)'"]

"""Shared fixtures for the validator tests: no network but loopback, caches in tmp_path."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from generator.kube.check import shared_registry
from generator.kube.config import ENV_SCHEMA_LOCATIONS, VENDORED_CRDS, ValidateOptions

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CRD_SCHEMAS = VENDORED_CRDS
FIXTURES = Path(__file__).resolve().parent / "fixtures"
POSITIVE = FIXTURES / "positive"
NEGATIVE = FIXTURES / "negative"


def _is_loopback(address: Any) -> bool:
    """Whether a socket address is a Unix socket or on the loopback range."""
    if isinstance(address, (str, bytes)):
        return True  # AF_UNIX
    host = address[0]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def block_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refuse every connection except to loopback, as check-jsonschema's tests do."""
    real_connect = socket.socket.connect

    def guarded_connect(self: socket.socket, address: Any) -> Any:
        if not _is_loopback(address):
            raise OSError(f"network access blocked in tests: {address!r}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Caches under tmp_path, no schema locations from the developer's shell, fresh registries."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.delenv(ENV_SCHEMA_LOCATIONS, raising=False)
    shared_registry.cache_clear()
    yield
    shared_registry.cache_clear()


@pytest.fixture(scope="session")
def crd_schemas() -> Path:
    """The CRD schemas vendored in the package; their absence is a failure, never a skip."""
    if not (CRD_SCHEMAS / "argoproj.io").is_dir():
        pytest.fail(f"the vendored CRD schemas are missing: {CRD_SCHEMAS}")
    return CRD_SCHEMAS


def options_for(root: Path, crd_dir: Path, **overrides: Any) -> ValidateOptions:
    """Options that read CRD schemas from the offline catalog and cache under root."""
    values: dict[str, Any] = {
        "root": root,
        "schema_locations": (crd_dir.as_posix(),),
        "kubernetes_versions": ("1.31", "1.34"),
        "cache_dir": None,
    }
    values.update(overrides)
    return ValidateOptions(**values)

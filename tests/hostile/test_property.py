"""Property: whatever values file a user (or an attacker) writes, `render` answers 0, 1 or 2, in bounded time,
never with a traceback, and writes nothing unless it answers 0.

Values files are generated from the schema (every leaf given a value its schema allows) and then mutated:
a leaf set to a hostile value (a float for an integer, 10^400, NaN, control and bidirectional characters,
a trailing newline, a token, a container), an unknown key, a deleted required key, or the YAML text itself
damaged (random bytes, truncation, UTF-16, tags, aliases, deep nesting).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from generator import tree
from generator.cli import cli
from generator.docs import fields
from tests.conftest import REPO, snapshot

SCHEMA = json.loads((REPO / "schemas/values.schema.json").read_text())
BASE = yaml.safe_load((REPO / "values/prod.yaml").read_text())
LEAVES = [(path, node) for path, node in fields(SCHEMA) if node.get("type") != "object" or "additionalProperties" in node
          and isinstance(node["additionalProperties"], dict)]
# The same examples on every run (CI must not flake); GEMMA_GITOPS_PROPERTY_RANDOM=1 explores new ones.
EXAMPLES = int(os.environ.get("GEMMA_GITOPS_PROPERTY_EXAMPLES", "120"))
DERANDOMIZE = not os.environ.get("GEMMA_GITOPS_PROPERTY_RANDOM")
TOKEN = "ghp_" + "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC2dF4hJ6"

HOSTILE: st.SearchStrategy[Any] = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**70), max_value=2**70).map(float),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.just(10**400),
    st.text(max_size=40),
    st.sampled_from(["gemma\n", "default\n", "x\u202ey", "a\u0085b", "\x00", "\ud800", "\x1b[31m", "1e400", "8080.0",
                     TOKEN, f"https://x-access-token:{TOKEN}@github.com/a/b.git", "-----BEGIN PRIVATE KEY-----",
                     "AKIAQWERTYUIOPASDFGH", "x" * 5000, "../../etc/passwd", "{{ spec }}", "'; os.exit(1) --"]),
    st.none(),
    st.booleans(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)


def allowed(node: dict[str, Any]) -> st.SearchStrategy[Any]:
    """A value the leaf's schema allows (as far as a strategy can tell)."""
    if "enum" in node:
        return st.sampled_from(node["enum"])
    kind = node.get("type")
    if kind == "integer":
        return st.integers(node.get("minimum", -(2**31)), node.get("maximum", 2**31))
    if kind == "number":
        return st.floats(node.get("minimum", 0.1), node.get("maximum", 1e6), allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "string" and "pattern" in node:
        return st.from_regex(node["pattern"], fullmatch=True).filter(lambda s: len(s) <= node.get("maxLength", 10**6))
    if kind == "array":
        return st.lists(st.sampled_from(["1.31", "1.34", "1.35"]), min_size=1, max_size=3, unique=True)
    if kind == "object":
        return st.dictionaries(st.from_regex(r"[a-z]{1,10}", fullmatch=True), st.text(max_size=20), max_size=3)
    return st.text(max_size=30)


def put(data: dict[str, Any], path: str, value: Any) -> None:
    """Set a dotted path, creating maps on the way (a non-map on the way is replaced)."""
    *parents, last = path.split(".")
    node = data
    for key in parents:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    node[last] = value


def drop(data: dict[str, Any], path: str) -> None:
    """Delete a dotted path when it is there."""
    *parents, last = path.split(".")
    node: Any = data
    for key in parents:
        node = node.get(key) if isinstance(node, dict) else None
    if isinstance(node, dict):
        node.pop(last, None)


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    """The shipped prod values with some leaves given other allowed values, then structural mutations."""
    data = json.loads(json.dumps(BASE))
    for path, node in draw(st.lists(st.sampled_from(LEAVES), max_size=4)):
        put(data, path, draw(allowed(node)))
    for _ in range(draw(st.integers(0, 2))):
        path, _node = draw(st.sampled_from(LEAVES))
        action = draw(st.sampled_from(["hostile", "unknown", "drop"]))
        if action == "hostile":
            put(data, path, draw(HOSTILE))
        elif action == "unknown":
            put(data, f"{path.rpartition('.')[0] or 'llama'}.{draw(st.text(min_size=1, max_size=8))}", draw(HOSTILE))
        else:
            drop(data, path)
    return data


def damage(text: bytes, how: str, at: int, junk: bytes) -> bytes:
    """Damage the YAML text itself."""
    at = at % (len(text) + 1)
    mutations: dict[str, Callable[[], bytes]] = {
        "none": lambda: text,
        "insert": lambda: text[:at] + junk + text[at:],
        "truncate": lambda: text[:at],
        "utf16": lambda: text.decode("utf-8", "replace").encode("utf-16"),
        "crlf-bom": lambda: b"\xef\xbb\xbf" + text.replace(b"\n", b"\r\n"),
        "tag": lambda: text.replace(b"hostname:", b"hostname: !!python/object/apply:os.system", 1),
        "alias": lambda: b"x: &x [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n" + b"".join(
            b"%s: &%s [%s]\n" % (bytes([c]), bytes([c]), b",".join([b"*" + bytes([c - 1 if c > 97 else 120])] * 10))
            for c in range(97, 104)) + text,
        "deep": lambda: text + b"nodeSelector: " + b"[" * 5000 + b"]" * 5000 + b"\n",
    }
    return mutations[how]()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One project for every example, rendered once; each example starts from that tree."""
    root = tmp_path_factory.mktemp("property")
    shutil.copytree(REPO / "values", root / "values")
    shutil.copytree(REPO / "schemas", root / "schemas")
    assert CliRunner().invoke(cli, ["--root", str(root), "render"]).exit_code == 0
    return root


def restore(root: Path, files: dict[str, bytes]) -> None:
    """Put the rendered tree back as it was (after an example that rendered)."""
    for top in tree.OWNED_DIRS:
        shutil.rmtree(root / top, ignore_errors=True)
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)


@settings(max_examples=EXAMPLES, deadline=timedelta(seconds=30), derandomize=DERANDOMIZE, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])
@given(document=documents(), how=st.sampled_from(["none", "none", "none", "insert", "truncate", "utf16", "crlf-bom", "tag", "alias",
                                                  "deep"]),
       at=st.integers(0, 4000), junk=st.binary(min_size=1, max_size=8))
def test_render_answers_0_1_or_2_and_writes_nothing_unless_0(project: Path, document: dict[str, Any], how: str, at: int,
                                                             junk: bytes) -> None:
    before = snapshot(project)
    text = yaml.safe_dump(document, allow_unicode=False, sort_keys=False).encode("utf-8")
    (project / "values/prod.yaml").write_bytes(damage(text, how, at, junk))
    result = CliRunner().invoke(cli, ["--root", str(project), "render", "prod"])  # catches what would escape
    assert result.exit_code in (0, 1, 2), f"exit {result.exit_code}: {result.output}{result.exception!r}"
    event(f"exit {result.exit_code}")  # pytest --hypothesis-show-statistics shows the spread
    assert "Traceback" not in result.output
    assert tree.leftovers(project) == [] and not (project / tree.JOURNAL).exists()
    if result.exit_code == 0:
        restore(project, before)
    else:
        assert snapshot(project) == before, result.output

"""The libraries behind validation and YAML, measured on our own corpus: same answers first, then time.

    python -m bench.libraries     (the candidates are not dependencies: pip install them to measure them)

JSON Schema: jsonschema (the reference), jsonschema-rs and fastjsonschema decide every document of the
committed render and of the validator's fixtures against its Kubernetes 1.31/1.34 and CRD schemas.
YAML: our strict loader (PyYAML on libyaml's parser) against yaml-rs, ryaml and pyyaml-rs for
reading the corpus and YAML 1.1 scalars (`yes`, `on`, `0755`, a date) that hand-written values and
manifests hold; PyYAML's canonical dump against generator/yamlemit.py and the same libraries for
writing the corpus byte for byte (rapidyaml, which cannot dump Python data, re-emitting what it read).
A candidate that is not installed is said to be so, never timed.
Times: the fastest of 5 passes over the corpus after a warm-up, in this process. Asserts nothing.
"""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from generator import yamlemit, yamlio
from generator.kube import bundled
from generator.kube.config import VENDORED_CRDS
from generator.kube.location import expand, parse_location, template_values
from generator.kube.registry import python_patterns
from generator.kube.resource import load_file, manifest_files
from generator.manifest import Manifest

REPO = Path(__file__).resolve().parents[1]
VERSIONS = ("1.31", "1.34")
PASSES = 5
# What YAML 1.1 (PyYAML, and the API server's go-yaml) and YAML 1.2 read differently.
YAML11 = "a: yes\nb: on\nc: 0755\nd: 2025-01-01\ne: 1_000\nf: ~\ng: 0x1F\n"


def corpus() -> list[Manifest]:
    """Every resource of the committed render and of the validator's fixtures."""
    dirs = (REPO / "rendered", REPO / "argocd", REPO / "tests" / "kube" / "fixtures")
    return [m for d in dirs for f in manifest_files(d) for m in load_file(f, REPO).manifests]


def fastest(work: Callable[[], object]) -> float:
    """Seconds of the fastest of PASSES runs, after one untimed run."""
    work()
    times = []
    for _ in range(PASSES):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def optional(module: str) -> Any:
    """A candidate module, or None when it is not installed."""
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


# -- JSON Schema -------------------------------------------------------------------------------


def schema_pairs() -> list[tuple[str, str, dict[str, Any], Any]]:
    """(kind of schema, where, schema, document) for every document and version with a schema; `where` is
    the Kubernetes version (bundled: the schema is `id`entical for every document of one kind) or the file."""
    location = parse_location(VENDORED_CRDS.as_posix(), REPO)
    schemas: dict[tuple[str, str, str], tuple[str, str, dict[str, Any]] | None] = {}
    pairs = []
    for manifest in corpus():
        for version in VERSIONS:
            key = (version, manifest.identity.api_version, manifest.identity.kind)
            if key not in schemas:  # each schema read once, as the registry reads it
                schemas[key] = _schema(manifest, version, location)
            found = schemas[key]
            if found is not None:
                pairs.append((*found, manifest.doc))
    return pairs


def _schema(manifest: Manifest, version: str, location: Any) -> tuple[str, str, dict[str, Any]] | None:
    """(kind of schema, where, schema) of a resource for a version: bundled, else vendored, else None."""
    schema = bundled.load_schema(manifest.identity, version)
    if schema is not None:
        return "bundled", version, schema
    values = template_values(manifest.identity.kind, manifest.identity.api_version, f"{version}.0", True)
    path = Path(expand(location, values))
    return ("crd", path.as_posix(), python_patterns(json.loads(path.read_bytes()))) if path.is_file() else None


def jsonschema_candidates() -> dict[str, Callable[[str, str, dict[str, Any]], Callable[[Any], bool]] | None]:
    """name → a function compiling (kind, where, schema) into a verdict, None when not installed."""
    import jsonschema

    def reference(kind: str, where: str, schema: dict[str, Any]) -> Callable[[Any], bool]:
        v: Any = (jsonschema.Draft202012Validator(schema, registry=bundled.definitions(where).exact)
                  if kind == "bundled" else jsonschema.Draft7Validator(schema))
        return lambda doc: not any(True for _ in v.iter_errors(doc))

    def rust(kind: str, where: str, schema: dict[str, Any]) -> Callable[[Any], bool]:
        import jsonschema_rs

        v: Any = (jsonschema_rs.Draft202012Validator(schema, validate_formats=False, offline=True,
                                                     registry=bundled.definitions(where).fast)
                  if kind == "bundled" else jsonschema_rs.Draft7Validator(schema, validate_formats=False, offline=True))
        return lambda doc: bool(v.is_valid(doc))

    fast = optional("fastjsonschema")

    def generated(kind: str, where: str, schema: dict[str, Any]) -> Callable[[Any], bool]:
        definitions = json.loads((bundled.version_dir(where) / "_definitions.json").read_bytes()) if kind == "bundled" else {}
        check = fast.compile(schema, handlers={"https": lambda _uri: definitions}, use_default=False)

        def verdict(doc: Any) -> bool:
            try:
                check(doc)
            except fast.JsonSchemaException:
                return False
            return True
        return verdict

    return {"jsonschema": reference, "jsonschema-rs": rust, "fastjsonschema": generated if fast else None}


def compare_jsonschema() -> list[str]:
    """One line per candidate: agreement with jsonschema, compile and validation time."""
    pairs = schema_pairs()
    lines = [f"JSON Schema: {len(pairs)} document-schema pairs ({len({id(s) for _, _, s, _ in pairs})} schemas; "
             "compile includes each version's shared `_definitions.json`)"]
    reference: list[bool] = []
    for name, make in jsonschema_candidates().items():
        if make is None:
            lines.append(f"  {name:15} not installed: not measured")
            continue
        try:
            start = time.perf_counter()
            unique = {(k, w, id(s)): (k, w, s) for k, w, s, _ in pairs}
            compiled = {key: make(*schema) for key, schema in unique.items()}
            compile_ms = (time.perf_counter() - start) * 1000
        except Exception as err:  # a candidate that cannot compile our schemas is reported, not measured
            lines.append(f"  {name:15} cannot compile our schemas: {type(err).__name__}: {str(err)[:80]}")
            continue
        verdicts = _decide_all(compiled, pairs)
        reference = reference or verdicts
        same = sum(a == b for a, b in zip(reference, verdicts, strict=True))
        seconds = fastest(partial(_decide_all, compiled, pairs))
        lines.append(f"  {name:15} same verdict {same}/{len(pairs)}, compile {compile_ms:7.1f} ms, "
                     f"validate all {seconds * 1000:8.2f} ms")
    return lines


# -- YAML --------------------------------------------------------------------------------------


def yaml_readers() -> dict[str, Callable[[str], Any] | None]:
    """name → a function reading one document, None when not installed."""
    found: dict[str, Callable[[str], Any] | None] = {"PyYAML + libyaml (strict loader)": yamlio.load_one}
    for name, module in (("yaml-rs", "yaml_rs"), ("ryaml", "ryaml"), ("pyyaml-rs", "pyyaml_rs")):
        candidate = optional(module)
        reader = getattr(candidate, "loads", None) or getattr(candidate, "safe_load", None) if candidate else None
        found[name] = reader
    return found


def yaml_writers() -> dict[str, Callable[[Any], str] | None]:
    """name → a function writing one document, None when not installed."""
    found: dict[str, Callable[[Any], str] | None] = {"PyYAML (canonical dumper)": yamlemit.pyyaml_dump,
                                                      "generator/yamlemit.py, fresh memo": _fresh_dump,
                                                      "generator/yamlemit.py": yamlemit.dump}
    for name, module in (("yaml-rs", "yaml_rs"), ("ryaml", "ryaml")):
        candidate = optional(module)
        found[name] = getattr(candidate, "dumps", None) if candidate else None
    return found


def compare_yaml() -> list[str]:
    """One line per reader and writer: what it gets right on the corpus, and its time."""
    files = [f for d in (REPO / "rendered", REPO / "argocd") for f in manifest_files(d)]
    texts = [f.read_text(encoding="utf-8") for f in files]
    docs = [yamlio.load_one(t) for t in texts]
    expected11 = yamlio.load_one(YAML11)
    lines = [f"YAML: {len(texts)} files of the committed render"]
    for name, read in yaml_readers().items():
        if read is None:
            lines.append(f"  read  {name:34} not installed: not measured")
            continue
        same = sum(_safely(partial(_reads_as, read, t, d)) for t, d in zip(texts, docs, strict=True))
        yaml11 = _safely(partial(_reads_as, read, YAML11, expected11))
        seconds = fastest(partial(_each, read, texts))
        lines.append(f"  read  {name:34} same data {same}/{len(texts)}, YAML 1.1 scalars as PyYAML: {yaml11}, "
                     f"{seconds * 1000:7.1f} ms")
    lines.append(_rapidyaml(texts))
    expected = [yamlemit.pyyaml_dump(d) for d in docs]
    for name, write in yaml_writers().items():
        if write is None:
            lines.append(f"  write {name:34} not installed: not measured")
            continue
        same = sum(_safely(partial(_writes_as, write, d, e)) for d, e in zip(docs, expected, strict=True))
        seconds = fastest(partial(_each, write, docs))
        lines.append(f"  write {name:34} byte-identical {same}/{len(docs)}, {seconds * 1000:7.1f} ms")
    return lines


def _fresh_dump(doc: Any) -> str:
    """yamlemit's dump with its memos emptied first: what a document whose strings it has not seen costs."""
    yamlemit._DECISIONS.clear()
    yamlemit._WRITES.clear()
    return yamlemit.dump(doc)


def _rapidyaml(texts: list[str]) -> str:
    """rapidyaml has no dump of Python data; what its parse and emit keep of the committed files."""
    ryml = optional("ryml")
    if ryml is None:
        return "  write rapidyaml                          not installed: not measured"
    bodies = [t.split("---\n", 1)[1] for t in texts]
    same = sum(_safely(partial(_round_trips, ryml, b)) for b in bodies)
    return (f"  write rapidyaml                          no dump of Python data; its parse and emit of the files "
            f"keep {same}/{len(bodies)} unchanged")


def _round_trips(ryml: Any, body: str) -> bool:
    """Whether rapidyaml emits a document exactly as it read it."""
    return bool(ryml.emit_yaml(ryml.parse_in_arena(body.encode("utf-8"))) == body)


def _decide_all(compiled: dict[tuple[str, str, int], Callable[[Any], bool]],
                pairs: list[tuple[str, str, dict[str, Any], Any]]) -> list[bool]:
    """Every pair's verdict by one candidate."""
    return [compiled[k, w, id(s)](d) for k, w, s, d in pairs]


def _reads_as(read: Callable[[str], Any], text: str, expected: Any) -> bool:
    """Whether a reader reads a text as our strict loader does."""
    return bool(read(text) == expected)


def _writes_as(write: Callable[[Any], str], doc: Any, expected: str) -> bool:
    """Whether a writer writes a document byte for byte as PyYAML's canonical dumper."""
    return _explicit(write(doc)) == expected


def _each(work: Callable[[Any], object], items: list[Any]) -> list[object]:
    """A function applied to every item."""
    return [work(item) for item in items]


def _safely(test: Callable[[], bool]) -> bool:
    """A test's answer; False when it raises."""
    try:
        return bool(test())
    except Exception:  # a candidate that raises on our input gets it wrong
        return False


def _explicit(text: str) -> str:
    """A dump with the explicit document start ours has, for the writers that leave it out."""
    return text if text.startswith("---") else "---\n" + text


def main() -> int:
    """Print both comparisons."""
    print("\n".join([*compare_jsonschema(), "", *compare_yaml()]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

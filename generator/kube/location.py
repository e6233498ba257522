"""Schema locations: kubeconform-style templates over a resource's kind and version.

A location is a local path or an http(s) URL with Go-template variables, e.g. the
CRDs-catalog layout `{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json`.
Variables and their values follow kubeconform's `schemaPath` (yannh/kubeconform,
pkg/registry/registry.go); a template is parsed and trial-expanded once, when it is
configured, so a typo fails before the first resource is read.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from generator.errors import SchemaLookupError

VARIABLES = (
    "NormalizedKubernetesVersion",
    "StrictSuffix",
    "ResourceKind",
    "ResourceAPIVersion",
    "Group",
    "KindSuffix",
)
# The layout of datreeio/CRDs-catalog and of the copy vendored in generator/schemas/crds.
CATALOG_LAYOUT = "{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json"
CATALOG_URL = "https://raw.githubusercontent.com/datreeio/CRDs-catalog/main/" + CATALOG_LAYOUT
DEFAULT_KEYWORD = "default"  # stands for the default locations, as kubeconform's `default` does
CATALOG_KEYWORD = "catalog"  # the public catalog online: only when the user asks for it
# `cached:<url template>`: what an earlier run downloaded from that URL, read from the on-disk
# cache only; a miss is "not found", never a download, so the defaults stay offline.
CACHED_PREFIX = "cached:"

_ACTION = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_FIELD = re.compile(r"^\s*\.([A-Za-z_][A-Za-z0-9_]*)\s*$")


@dataclass(frozen=True)
class SchemaLocation:
    """One parsed location template: literal text and variable names, in order."""

    template: str  # as configured, after a bare directory got the catalog layout appended
    parts: tuple[tuple[bool, str], ...]  # (is_variable, text-or-name)

    @property
    def is_remote(self) -> bool:
        """Whether schemas come from a URL (downloaded, or cached from an earlier download)."""
        return self.template.startswith(("http://", "https://", CACHED_PREFIX))

    @property
    def cache_only(self) -> bool:
        """Whether only the on-disk cache of the URL may be read: never the network."""
        return self.template.startswith(CACHED_PREFIX)

    @property
    def uses_kubernetes_version(self) -> bool:
        """Whether the schema found here may differ between Kubernetes versions."""
        return any(is_var and name == "NormalizedKubernetesVersion" for is_var, name in self.parts)

    def static_prefix(self) -> str:
        """The literal text before the first variable: the directory a local location needs."""
        head = []
        for is_var, text in self.parts:
            if is_var:
                break
            head.append(text)
        return "".join(head)


def template_values(kind: str, api_version: str, kubernetes_version: str, strict: bool) -> dict[str, str]:
    """The values of the template variables, exactly as kubeconform computes them."""
    # yannh/kubeconform pkg/registry/registry.go schemaPath: `master` is not prefixed with `v`;
    # Group is the part before `/`, which for the core group's `v1` is `v1` itself.
    group_parts = api_version.split("/")
    kind_suffix = "-" + group_parts[0].split(".")[0].lower()
    if len(group_parts) > 1:
        kind_suffix += "-" + group_parts[1].lower()
    version = kubernetes_version if kubernetes_version == "master" else "v" + kubernetes_version
    return {
        "NormalizedKubernetesVersion": version,
        "StrictSuffix": "-strict" if strict else "",
        "ResourceKind": kind.lower(),
        "ResourceAPIVersion": group_parts[-1],
        "Group": group_parts[0],
        "KindSuffix": kind_suffix,
    }


def expand(location: SchemaLocation, values: dict[str, str]) -> str:
    """The path or URL of one schema."""
    return "".join(values[text] if is_var else text for is_var, text in location.parts)


def parse_template(template: str) -> tuple[tuple[bool, str], ...]:
    """Split a template into literal text and `{{ .Variable }}` actions; refuse anything else."""
    parts: list[tuple[bool, str]] = []
    position = 0
    for match in _ACTION.finditer(template):
        parts.append((False, template[position : match.start()]))
        parts.append((True, _variable(template, match.group(1))))
        position = match.end()
    tail = template[position:]
    if "{{" in tail:
        raise SchemaLookupError(f"schema location {template!r}: unclosed action (a '{{{{' without '}}}}')")
    parts.append((False, tail))
    return tuple(p for p in parts if p[0] or p[1])


def _variable(template: str, action: str) -> str:
    """The variable an action names, or a SchemaLookupError naming the known ones."""
    match = _FIELD.match(action)
    if match is None or match.group(1) not in VARIABLES:
        known = ", ".join("." + v for v in VARIABLES)
        raise SchemaLookupError(
            f"schema location {template!r}: unknown template action {{{{{action}}}}} (known variables: {known})"
        )
    return match.group(1)


def parse_location(text: str, base: Path) -> SchemaLocation:
    """Parse a configured location; a bare directory or URL prefix gets the catalog layout."""
    template = text.strip()
    if not template.endswith("json"):
        # kubeconform appends its Kubernetes-schema layout here; ours appends the CRD catalog
        # layout, since core kinds always come from the bundled schemas.
        template = template.rstrip("/") + "/" + CATALOG_LAYOUT
    parse_template(template)  # report errors in the text the user wrote, before it is resolved
    if not template.startswith(("http://", "https://", CACHED_PREFIX)):
        template = (base / os.path.expanduser(template)).as_posix()
    return SchemaLocation(template, parse_template(template))


def check_local(location: SchemaLocation) -> None:
    """Refuse a local location whose fixed directory part does not exist (a typo, most likely)."""
    if location.is_remote:
        return
    prefix = location.static_prefix()
    directory = Path(prefix) if prefix.endswith("/") else Path(prefix).parent
    if not directory.is_dir():
        raise SchemaLookupError(
            f"schema location {location.template!r}: directory {directory.as_posix()} does not exist"
        )

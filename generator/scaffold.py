"""Scaffold: the files `init` starts a deployment repository with, rendered in memory from the package.

Each file has a policy. A *seed* is the team's from the moment it is written: values, the README,
.gitignore; `init` writes it only where it is missing and never proposes a change to it. A *managed*
file is the tool's plumbing (the marker, the Makefile, the pre-commit config, the CI workflow): its
first line says so, re-running `init` in the project shows what this version of the tool would change
in it, and `init --upgrade` writes that. Deleting that first line makes the file the team's: upgrades
then leave it alone (as `render` leaves argocd/ files without its header alone).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from .capacity.catalog import CatalogEntry
from .errors import TemplateError
from .render import render_template
from .settings import MARKER, SHARED_LAYER, VALUES_DIR

MANAGED_MARK = "Managed by gemma-gitops"  # in the first line of every managed file
TEMPLATE_DIR = "scaffold"


class Policy(enum.Enum):
    """Whose a scaffold file is once written."""

    SEED = "seed"  # the team's: written when missing, never changed by the tool
    MANAGED = "managed"  # the tool's: upgrades show and write what a newer version changes


@dataclass(frozen=True)
class Answers:
    """What a team tells `init` about its deployment (the seed values are made from these)."""

    env: str
    hostname: str
    repo_url: str
    namespace: str
    kubernetes_versions: tuple[str, ...]
    model: CatalogEntry


@dataclass(frozen=True)
class ScaffoldFile:
    """One file of the scaffold: where it goes, which template makes it, and whose it is."""

    path: str  # relative to the project root, posix; `{env}` stands for the first environment
    template: str  # under templates/scaffold/
    policy: Policy


FILES: tuple[ScaffoldFile, ...] = (
    ScaffoldFile(MARKER, "gemma-gitops.toml.j2", Policy.MANAGED),
    ScaffoldFile("Makefile", "Makefile.j2", Policy.MANAGED),
    ScaffoldFile(".pre-commit-config.yaml", "pre-commit-config.yaml.j2", Policy.MANAGED),
    ScaffoldFile(".github/workflows/gemma-gitops.yml", "github-workflow.yml.j2", Policy.MANAGED),
    ScaffoldFile(f"{VALUES_DIR}/{{env}}.yaml", "values-env.yaml.j2", Policy.SEED),
    ScaffoldFile(f"{VALUES_DIR}/{SHARED_LAYER}", "values-shared.yaml.j2", Policy.SEED),
    ScaffoldFile(".gitignore", "gitignore.j2", Policy.SEED),
    ScaffoldFile("README.md", "README.md.j2", Policy.SEED),
)


@dataclass(frozen=True)
class Rendered:
    """A scaffold file's destination, bytes and policy."""

    path: str
    data: bytes
    policy: Policy


def managed_files(version: str) -> tuple[Rendered, ...]:
    """The managed files as this version of the tool writes them (they depend on nothing else)."""
    return tuple(_render(f, f.path, {"version": version}) for f in FILES if f.policy is Policy.MANAGED)


def all_files(answers: Answers, version: str) -> tuple[Rendered, ...]:
    """Every file of a new project: managed files, then seeds made from the answers."""
    context = {"version": version, **_answers_context(answers)}
    seeds = tuple(_render(f, f.path.format(env=answers.env), context) for f in FILES if f.policy is Policy.SEED)
    return (*managed_files(version), *seeds)


def _answers_context(answers: Answers) -> dict[str, Any]:
    """What the seed templates see."""
    return {"env": answers.env, "hostname": answers.hostname, "repo_url": answers.repo_url,
            "namespace": answers.namespace, "kubernetes_versions": list(answers.kubernetes_versions),
            "model": answers.model}


def _render(file: ScaffoldFile, path: str, context: dict[str, Any]) -> Rendered:
    """One template rendered; a managed file must start with the managed mark (a template bug otherwise)."""
    text = render_template(f"{TEMPLATE_DIR}/{file.template}", context)
    if file.policy is Policy.MANAGED and not is_managed(text.encode("utf-8")):
        raise TemplateError(f"templates/{TEMPLATE_DIR}/{file.template}: a managed file's first line must say "
                            f"{MANAGED_MARK!r}")
    return Rendered(path, text.encode("utf-8"), file.policy)


def is_managed(data: bytes) -> bool:
    """Whether a file's first line carries the managed mark (a team that deletes it takes the file over)."""
    return MANAGED_MARK.encode() in data.split(b"\n", 1)[0]

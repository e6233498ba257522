"""Offline Kubernetes validation: schemas per Kubernetes version, CRD schemas, cross-resource rules.

Data flows through one module per noun, as in kubeconform (yannh/kubeconform, pkg/):
`resource` (manifest files read with the strict loader of generator/yamlio.py, each document a
Manifest with its identity) → `location` / `registry` (schema lookup) → `validator` (one resource
against its schemas) → `rules` (checks across resources) → `report` → `output`.
`check` wires them: `validate_paths` for files, `validate_manifests` for a render held in memory
(what `gemma-gitops check` validates); generator/cli/validate.py is the click layer.
"""

from __future__ import annotations

from generator.kube.check import validate_manifests, validate_paths
from generator.kube.config import ValidateOptions, resolve_options
from generator.kube.output import format_json, format_text
from generator.kube.report import Report, Result, Status

__all__ = [
    "Report",
    "Result",
    "Status",
    "ValidateOptions",
    "format_json",
    "format_text",
    "resolve_options",
    "validate_manifests",
    "validate_paths",
]

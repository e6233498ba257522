"""Cross-resource rules: what no schema can express, one small module per rule.

Each rule module has an `ID`, a docstring that is its user documentation (with a passing
and a failing example), and a `check(scope)` generator of findings; `RULES` maps IDs to
checks, in the order their findings are reported (the shape of yamllint's rules).
"""

from __future__ import annotations

from types import ModuleType

from generator.kube.rules import (
    argocd_application,
    config_ref,
    ingress_backend,
    network_policy,
    probe_port,
    resource_quantity,
    route_backend,
    service_selector,
    service_target_port,
    unique_resource,
    volume_mount,
)
from generator.kube.rules.base import Rule, Scope

MODULES: tuple[ModuleType, ...] = (
    unique_resource,
    service_selector,
    service_target_port,
    route_backend,
    ingress_backend,
    volume_mount,
    config_ref,
    network_policy,
    probe_port,
    resource_quantity,
    argocd_application,
)
RULES: dict[str, Rule] = {module.ID: module.check for module in MODULES}


def documentation(rule_id: str) -> str:
    """A rule's user documentation: its module docstring."""
    module = next(m for m in MODULES if m.ID == rule_id)
    return module.__doc__ or ""


__all__ = ["RULES", "Rule", "Scope", "documentation"]

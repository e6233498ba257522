"""Reporters: the same Report as text lines or as JSON.

Text: one line per problem, `file::$.json.path: message (Kind or rule-id)`, one line per
skipped resource, one per check this tool could not run (a tool limitation, not a problem of the
manifests), kubeconform's verdicts when asked for, then kubeconform's summary line.
"""

from __future__ import annotations

import json
from typing import Any

from generator.kube.report import ExternalVerdict, Report, Result, Status


def format_text(report: Report) -> str:
    """The report as text, one trailing newline."""
    lines = [str(problem) for problem in report.problems()]
    lines += [_skipped_line(r) for r in report.results if r.status is Status.SKIPPED]
    lines += [f"tool limitation: {line}" for line in report.limitations()]
    lines += [_verdict_line(v) for v in report.external]
    lines.append(report.summary_line())
    return "\n".join(lines) + "\n"


def _skipped_line(result: Result) -> str:
    """`argocd/x.yaml: skipped ClusterSecretStore 'vault' (ClusterSecretStore is listed in ignore-kinds)`."""
    described = result.identity.describe() if result.identity else "document"
    return f"{result.label}: skipped {described} ({result.note})"


def _verdict_line(verdict: ExternalVerdict) -> str:
    """`kubeconform 1.31: Summary: ... (exit 0)`, or the reason it did not run."""
    if verdict.status == "skipped":
        return verdict.summary
    return (
        f"{verdict.tool} {verdict.kubernetes_version}: {verdict.status}: {verdict.summary} (exit {verdict.exit_code})"
    )


def format_json(report: Report) -> str:
    """The report as indented JSON with sorted keys, one trailing newline."""
    return json.dumps(as_json(report), indent=2, sort_keys=True) + "\n"


def as_json(report: Report) -> dict[str, Any]:
    """The report as plain data."""
    return {
        "summary": {
            "resources": len(report.results),
            "files": len(report.files),
            "valid": report.count(Status.VALID),
            "invalid": report.count(Status.INVALID),
            "errors": report.count(Status.ERROR),
            "skipped": report.count(Status.SKIPPED),
            "line": report.summary_line(),
        },
        "ok": not report.failed,
        "kubernetesVersions": list(report.kubernetes_versions),
        "toolLimitations": list(report.limitations()),
        "resources": [_result_json(r) for r in report.results],
        "external": [_verdict_json(v) for v in report.external],
    }


def _result_json(result: Result) -> dict[str, Any]:
    """One resource's result as plain data."""
    sig = result.identity
    return {
        "file": result.label,
        "apiVersion": sig.api_version if sig else None,
        "kind": sig.kind if sig else None,
        "namespace": (sig.namespace or None) if sig else None,
        "name": sig.name if sig else None,
        "status": result.status.name.lower(),
        "note": result.note or None,
        "problems": [
            {"path": p.path, "message": p.message, "source": p.rule, "rule": p.detail or None} for p in result.problems
        ],
    }


def _verdict_json(verdict: ExternalVerdict) -> dict[str, Any]:
    """An external tool's verdict as plain data."""
    return {
        "tool": verdict.tool,
        "kubernetesVersion": verdict.kubernetes_version or None,
        "status": verdict.status,
        "summary": verdict.summary,
        "exitCode": verdict.exit_code,
    }

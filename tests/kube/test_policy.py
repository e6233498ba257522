"""Policy: checkov's Kubernetes checks (offline) and yamllint, as Problems."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from generator.errors import Problem
from testkit import policy
from testkit.policy import (
    CHECKOV_OFFLINE_ENV,
    assert_policy_clean,
    checkov_argv,
    parse_checkov,
    run_checkov,
    run_yamllint,
)
from tests.kube.conftest import POSITIVE

LATEST = """---
apiVersion: v1
kind: Pod
metadata:
  name: bad
  namespace: gemma
spec:
  containers:
    - name: c
      image: nginx:latest
"""


def test_checkov_is_run_offline() -> None:
    argv = checkov_argv("checkov", Path("rendered/prod"))
    assert argv == [
        "checkov",
        "-d",
        "rendered/prod",
        "--framework",
        "kubernetes",
        "--compact",
        "--quiet",
        "--skip-download",
        "--output",
        "json",
    ]
    assert CHECKOV_OFFLINE_ENV == {"BC_SKIP_MAPPING": "TRUE", "CKV_SKIP_PACKAGE_UPDATE_CHECK": "True"}


def test_checkov_passes_the_positive_set_and_fails_a_bad_pod(tmp_path: Path) -> None:
    """One checkov run (it takes seconds to start): the positive files clean, the bad pod not."""
    shutil.copytree(POSITIVE / "rendered" / "prod", tmp_path / "prod")
    (tmp_path / "prod" / "pod-bad.yaml").write_text(LATEST)
    problems = run_checkov(tmp_path / "prod", root=tmp_path)
    assert {p.file for p in problems} == {"prod/pod-bad.yaml"}
    assert (
        Problem(
            "prod/pod-bad.yaml",
            "$.spec.containers[0].image",
            "Pod.gemma.bad: Image Tag should be fixed - not latest or blank (CKV_K8S_14)",
        )
        in problems
    )


def test_yamllint_reports_line_column_level_and_rule(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("key: yes\nkey: no\n")
    assert [str(p) for p in run_yamllint([tmp_path], root=tmp_path)] == [
        'a.yaml::line 1, column 1: [warning] missing document start "---" (document-start)',
        "a.yaml::line 1, column 6: [warning] truthy value should be one of [false, true] (truthy)",
        'a.yaml::line 2, column 1: [error] duplication of key "key" in mapping (key-duplicates)',
        "a.yaml::line 2, column 6: [warning] truthy value should be one of [false, true] (truthy)",
    ]


def test_yamllint_allows_a_long_unbreakable_image_reference(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "---\nimage: " + "r.example.com/x@sha256:" + "0" * 64 + "\n#" + " word" * 16 + "\n"
    )
    assert [p.message for p in run_yamllint([tmp_path / "a.yaml"])] == [
        "[error] line too long (81 > 80 characters) (line-length)"
    ]


def test_the_positive_set_passes_yamllint_and_checkov() -> None:
    """The helper the lead points at the real rendered tree: assert_policy_clean(root / "rendered" / env)."""
    assert_policy_clean(POSITIVE / "rendered" / "prod", root=POSITIVE)
    assert run_yamllint([POSITIVE / "argocd"]) == []


def test_parse_checkov_reads_a_list_of_reports_and_parse_errors(tmp_path: Path) -> None:
    report = {
        "results": {
            "failed_checks": [
                {
                    "check_id": "CKV2_K8S_6",
                    "check_name": "NetworkPolicy missing",
                    "resource": "Pod.gemma.x",
                    "file_abs_path": str(tmp_path / "pod.yaml"),
                    "file_line_range": [1, 9],
                    "check_result": {"evaluated_keys": ["resource_type"]},
                }
            ],
            "parsing_errors": [str(tmp_path / "broken.yaml")],
        }
    }
    assert parse_checkov(json.dumps([report]), "", tmp_path, tmp_path) == [
        Problem("broken.yaml", "", "checkov could not parse this file (checkov)"),
        Problem("pod.yaml", "lines 1-9", "Pod.gemma.x: NetworkPolicy missing (CKV2_K8S_6)"),
    ]


def test_parse_checkov_turns_a_crash_into_a_problem(tmp_path: Path) -> None:
    assert parse_checkov("", "Traceback ...\nValueError: boom", tmp_path, tmp_path) == [
        Problem(str(tmp_path), "", "checkov failed: ValueError: boom")
    ]


def test_policy_main_prints_problems_and_exits_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    problem = Problem("rendered/prod/pod.yaml", "$.spec", "Pod.gemma.x: Image should use digest (CKV_K8S_43)")
    monkeypatch.setattr(policy, "policy_problems", lambda directory, root: [problem])
    assert policy.main(["rendered/prod"]) == 1
    assert capsys.readouterr().out == f"{problem}\npolicy: 1 problem(s) in 1 directory\n"

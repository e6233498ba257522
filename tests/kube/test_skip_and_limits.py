"""`validate --skip`, rule IDs in JSON, and CEL rules this tool cannot evaluate, through click."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.kube.conftest import NEGATIVE
from tests.kube.test_command import invoke

ROUTE_CASE = NEGATIVE / "cel-httproute"
WIDGET_SCHEMA = {
    "type": "object",
    "properties": {
        "apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"},
        "spec": {"type": "object", "properties": {"url": {"type": "string"}, "replicas": {"type": "integer"}},
                 "x-kubernetes-validations": [
                     {"rule": "isURL(self.url)", "message": "url must be a URL"},
                     {"rule": "self.replicas <= 3", "message": "at most 3 replicas"}]},
    },
}
WIDGET = "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: {name}\nspec:\n  url: x\n  replicas: {replicas}\n"


def lines(*args: str) -> list[str]:
    """Output lines of `validate` on the HTTPRoute case with the vendored schemas."""
    result = invoke("--root", str(ROUTE_CASE), "validate", *args, str(ROUTE_CASE))
    assert result.exit_code in (0, 1)
    return result.output.splitlines()


def test_skip_cel_drops_exactly_the_cel_lines() -> None:
    every, without = lines(), lines("--skip", "cel")
    assert [line for line in every if not line.endswith("(cel)")] == without
    assert sum(line.endswith("(cel)") for line in every) == 7
    assert not any(line.endswith("(cel)") for line in without)


def test_skip_accepts_a_list_and_refuses_unknown_names(tmp_path: Path) -> None:
    case = NEGATIVE / "native-service"
    result = invoke("--root", str(case), "validate", "--skip", "cel,native", "--skip", "rules", str(case))
    assert (result.exit_code, result.output.splitlines()[-1]) == (
        0, "Summary: 1 resource found in 1 file - Valid: 1, Invalid: 0, Errors: 0, Skipped: 0")
    result = invoke("--root", str(case), "validate", "--skip", "cel,schemas", str(case))
    assert result.exit_code == 2
    assert "--skip: unknown check(s) schemas (known: cel, native, rules)" in result.output


def test_json_carries_the_rule_of_each_problem() -> None:
    result = invoke("--root", str(ROUTE_CASE), "validate", "--output", "json", str(ROUTE_CASE))
    problems = [p for r in json.loads(result.output)["resources"] for p in r["problems"]]
    redirect = next(p for p in problems if "RequestRedirect filter must not" in p["message"])
    assert (redirect["source"], redirect["rule"]) == ("cel", "(has(self.backendRefs) && size(self.backendRefs) > 0) ?"
                                                      " (!has(self.filters) || self.filters.all(f, !has(f.requestRedirect))): true")
    native = json.loads(invoke("--root", str(NEGATIVE / "native-pdb"), "validate", "--output", "json",
                               str(NEGATIVE / "native-pdb")).output)
    assert {(p["source"], p["rule"]) for r in native["resources"] for p in r["problems"]} == {("native:pdb", "pdb")}


@pytest.fixture
def widgets(tmp_path: Path) -> Path:
    """A schema location whose Widget CRD has a rule we cannot compile, and two Widgets."""
    (tmp_path / "schemas" / "example.com").mkdir(parents=True)
    (tmp_path / "schemas" / "example.com" / "widget_v1.json").write_text(json.dumps(WIDGET_SCHEMA))
    (tmp_path / "rendered" / "prod").mkdir(parents=True)
    for name, replicas in (("a", 2), ("b", 5)):
        (tmp_path / "rendered" / "prod" / f"widget-{name}.yaml").write_text(WIDGET.format(name=name, replicas=replicas))
    return tmp_path


def test_an_uncompilable_rule_is_reported_once_and_counted(widgets: Path) -> None:
    result = invoke("--root", str(widgets), "validate", "--schema-location", str(widgets / "schemas"),
                    str(widgets / "rendered"))
    schema = (widgets / "schemas" / "example.com" / "widget_v1.json").as_posix()
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "rendered/prod/widget-b.yaml::$.spec: Invalid value: \"object\": at most 3 replicas (cel)",
        f"tool limitation: {schema}#/properties/spec: CEL rule 'isURL(self.url)' not evaluated: cannot compile:"
        " 1:6: undeclared reference to 'isURL' (in container '')",
        "Summary: 2 resources found in 2 files - Valid: 1, Invalid: 1, Errors: 0, Skipped: 0, Tool limitations: 1",
    ]


def test_a_limitation_alone_is_no_failure_but_is_in_json(widgets: Path) -> None:
    (widgets / "rendered" / "prod" / "widget-b.yaml").unlink()
    result = invoke("--root", str(widgets), "validate", "--output", "json", "--schema-location",
                    str(widgets / "schemas"), str(widgets / "rendered"))
    data = json.loads(result.output)
    assert (result.exit_code, data["ok"], len(data["toolLimitations"])) == (0, True, 1)
    assert data["summary"]["line"].endswith("Tool limitations: 1")

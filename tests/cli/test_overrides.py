"""-f FILE, -f - and --set through the CLI: precedence, where each command takes them, and bad overrides."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from generator.cli import cli
from tests.conftest import snapshot


def invoke(project: Path, *args: str, stdin: str | None = None) -> Result:
    """The CLI on the project, with standard input."""
    return CliRunner().invoke(cli, ["--root", str(project), *args], input=stdin, catch_exceptions=False)


def context_size(result: Result) -> int:
    """llama-server's `-c` in the Deployment that `template -o json` printed."""
    assert result.exit_code == 0, result.output
    listing = json.loads(result.stdout)
    deployment = next(item for item in listing["items"] if item["kind"] == "Deployment")
    container = next(c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "llama-server")
    return int(container["args"][container["args"].index("-c") + 1])


@pytest.fixture
def files(project: Path) -> Path:
    """Two extra values files beside the project: a.yaml sets 2048, b.yaml 3072."""
    for name, size in (("a", 2048), ("b", 3072)):
        (project / f"{name}.yaml").write_text(f"llama:\n  contextSize: {size}\n")
    return project


# prod.yaml sets 4096. Lowest first: schema defaults < values/_shared.yaml < values/prod.yaml < each -f in
# order < each --set in order; --set wins over -f wherever it stands on the command line.
PRECEDENCE = [
    ([], None, 4096),
    (["-f", "{a}"], None, 2048),
    (["-f", "{a}", "-f", "{b}"], None, 3072),
    (["-f", "{b}", "-f", "{a}"], None, 2048),
    (["-f", "{a}", "--set", "llama.contextSize=1536"], None, 1536),
    (["--set", "llama.contextSize=1536", "-f", "{a}"], None, 1536),
    (["--set", "llama.contextSize=1536", "--set", "llama.contextSize=2560"], None, 2560),
    (["-f", "-"], "llama: {contextSize: 2560}\n", 2560),
    (["-f", "{a}", "-f", "-"], "llama: {contextSize: 2560}\n", 2560),
    (["-f", "-", "-f", "{a}"], "llama: {contextSize: 2560}\n", 2048),
    (["-f", "-", "--set", "llama.contextSize=1536"], "llama: {contextSize: 2560}\n", 1536),
]


@pytest.mark.parametrize(("args", "stdin", "expected"), PRECEDENCE)
def test_precedence(files: Path, args: list[str], stdin: str | None, expected: int) -> None:
    argv = [arg.format(a=files / "a.yaml", b=files / "b.yaml") for arg in args]
    assert context_size(invoke(files, "template", "prod", "-o", "json", *argv, stdin=stdin)) == expected


def test_the_environment_file_wins_over_the_shared_layer_and_an_override_over_both(files: Path) -> None:
    (files / "values/_shared.yaml").write_text("llama:\n  contextSize: 1024\n  threads: 1\n")
    assert context_size(invoke(files, "template", "prod", "-o", "json")) == 4096
    assert context_size(invoke(files, "template", "prod", "-o", "json", "-f", str(files / "a.yaml"))) == 2048


def test_a_list_item_and_a_dotted_key(project: Path) -> None:
    result = invoke(project, "template", "prod", "-o", "json", "--set", "kubernetesVersions[1]=1.35",
                    "--set", r"nodeSelector.kubernetes\.io/arch=amd64", "--set", "llama.resources.limits.cpu=2")
    assert result.exit_code == 0, result.output
    deployment = next(i for i in json.loads(result.stdout)["items"] if i["kind"] == "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"kubernetes.io/arch": "amd64"}
    assert next(c for c in pod["containers"] if c["name"] == "llama-server")["resources"]["limits"]["cpu"] == "2"


def test_budget_and_diff_take_overrides(project: Path) -> None:
    budget = invoke(project, "budget", "prod", "-o", "json", "--set", "llama.contextSize=8192")
    assert budget.exit_code == 0, budget.output
    assert json.loads(budget.stdout)[0]["kvCells"]["nCtx"] == 8192
    refused = invoke(project, "budget", "prod", "--set", "llama.resources.limits.memory=1Gi")
    assert refused.exit_code == 1  # the override is taken: 1 GiB cannot hold the model


# -- bad overrides: one clear line, exit 2, nothing written -------------------------------------


BAD = [
    (["--set", "llama.contextSise=4096"],
     "  --set llama.contextSise::llama.contextSise: unknown key 'contextSise'; allowed here: batchSize, cacheRamMiB, "),
    (["--set", "llama.contextSize=lots"],
     "  --set llama.contextSize::llama.contextSize: 'lots' is not of type 'integer' (Context window in tokens (`-c`); "
     "the KV cache grows with it.)"),
    (["--set", "llama.contextSize=100"],
     "  --set llama.contextSize::llama.contextSize: 100 is out of range: expected 512 to 131072"),
    (["--set", "llama..contextSize=4096"],
     "error: --set llama..contextSize: bad path 'llama..contextSize' at character 6: expected a key after '.' "),
    (["--set", "llama.contextSize"],
     "error: --set llama.contextSize: expected PATH=VALUE, such as llama.contextSize=8192"),
    (["--set", "kubernetesVersions[5]=1.35"],
     "error: --set kubernetesVersions[5]: no list item kubernetesVersions[5]: kubernetesVersions has 2 item(s); "
     "an index may be at most 2 (to append)"),
    (["--set", "hostname[0]=x"],
     "error: --set hostname[0]: no list item hostname[0]: hostname is str, not a list"),
    (["-f", "{extra}"],
     "  {extra}::llama.threads (line 3): 'two' is not of type 'integer'"),
    (["-f", "-"], "  (stdin)::llama (line 1): 'big' is not of type 'object'"),
    (["-f", "-", "-f", "-"], "error: -f -: standard input can be read once; give it once"),
    (["-f", "{missing}"], "Error: Invalid value for '-f' / '--values': "),
]


@pytest.mark.parametrize(("args", "expected"), BAD)
def test_bad_overrides_exit_2_with_one_clear_line_and_write_nothing(project: Path, args: list[str],
                                                                     expected: str) -> None:
    assert invoke(project, "render").exit_code == 0
    before = snapshot(project)
    extra = project / "extra.yaml"
    extra.write_text("llama:\n  contextSize: 2048\n  threads: two\n")
    values = {"extra": str(extra), "missing": str(project / "missing.yaml")}
    argv = [arg.format(**values) for arg in args]
    result = invoke(project, "render", "prod", "--values-not-in-git", *argv, stdin="llama: big\n")
    assert result.exit_code == 2
    assert any(line.startswith(expected.format(**values)) for line in result.output.splitlines()), result.output
    assert "Traceback" not in result.output
    assert snapshot(project) == before


def test_render_refuses_overrides_unless_told(project: Path) -> None:
    assert invoke(project, "render").exit_code == 0
    before = snapshot(project)
    result = invoke(project, "render", "prod", "--set", "llama.contextSize=2048")
    assert result.exit_code == 2
    assert result.output == (
        "error: render: --set llama.contextSize would write rendered/ from values that are not in values/ (and so "
        "not in git); put them in a values file, print the result with `gemma-gitops template`, or pass "
        "--values-not-in-git to write it anyway\n")
    assert snapshot(project) == before
    told = invoke(project, "render", "prod", "--set", "llama.contextSize=2048", "--values-not-in-git")
    assert told.exit_code == 0, told.output
    assert "- -c\n            - '2048'\n" in (project / "rendered/prod/deployment-gemma.yaml").read_text()
    stale = invoke(project, "check", "prod")  # the tree now reflects a value git does not have, and check says so
    assert stale.exit_code == 1
    assert stale.output.splitlines()[-2] == ("out of date: 2 changed (rendered/prod/configmap-gemma-proxy.yaml, "
                                             "rendered/prod/deployment-gemma.yaml). Run: make render")

"""Bad values: a clear message naming file, line or key path, value and what is allowed; exit 2; nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Run, snapshot


def write_prod(project: Path, text: str) -> None:
    (project / "values/prod.yaml").write_text(text)


VALID_TAIL = "argocd:\n  repoURL: https://github.com/example/gemma-gitops.git\n"


def test_yaml_syntax_error_names_file_line_and_column(run: Run, project: Path) -> None:
    write_prod(project, "hostname: gemma.example.com\nllama:\n  contextSize: [4096\n" + VALID_TAIL)
    result = run("render", "prod")
    assert result.exit_code == 2
    assert result.output.splitlines()[0] == "error: values/prod.yaml: not valid YAML"
    assert "  values/prod.yaml::line 4, column 7: expected ',' or ']', but got ':'" in result.output.splitlines()


def test_duplicate_key_is_an_error_with_both_lines(run: Run, project: Path) -> None:
    write_prod(project, "hostname: a.example.com\nhostname: b.example.com\n" + VALID_TAIL)
    result = run("render", "prod")
    assert result.exit_code == 2
    assert "values/prod.yaml::line 2, column 1: duplicate key 'hostname' (first at line 1)" in result.output


@pytest.mark.parametrize(("snippet", "expected"), [
    ("llama:\n  contextSize: lots\n",
     "values/prod.yaml::llama.contextSize (line 3): 'lots' is not of type 'integer' (Context window in tokens (`-c`); the KV cache grows with it.)"),
    ("llama:\n  contextSize: 100\n",
     "values/prod.yaml::llama.contextSize (line 3): 100 is out of range: expected 512 to 131072"),
    ("llama:\n  image: ghcr.io/ggml-org/llama.cpp:latest\n",
     "values/prod.yaml::llama.image (line 3): 'ghcr.io/ggml-org/llama.cpp:latest' is not valid: expected A container image reference pinned by tag or digest; `latest` is rejected because it changes under you."),
    ("proxy:\n  image: openresty/openresty\n",
     "values/prod.yaml::proxy.image (line 3): 'openresty/openresty' is not valid: expected A container image reference pinned by tag or digest; `latest` is rejected because it changes under you."),
    ("cache:\n  accessMode: ReadWriteSometimes\n",
     "values/prod.yaml::cache.accessMode (line 3): 'ReadWriteSometimes' is not one of 'ReadWriteOnce', 'ReadWriteOncePod', 'ReadWriteMany'"),
    ("llama:\n  contextSise: 4096\n",
     "values/prod.yaml::llama.contextSise (line 3): unknown key 'contextSise'; allowed here: batchSize, cacheRamMiB, "),
    ("proxy:\n  resources:\n    limits: {cpu: 50m, memory: 64MB}\n",
     "values/prod.yaml::proxy.resources.limits.memory (line 4): '64MB' is not valid: expected A Kubernetes memory quantity in bytes with an optional binary or decimal suffix (`64Mi`, `4Gi`, `512M`)."),
])
def test_schema_errors_name_path_value_and_what_is_allowed(run: Run, project: Path, snippet: str, expected: str) -> None:
    write_prod(project, "hostname: gemma.example.com\n" + snippet + VALID_TAIL)
    result = run("render", "prod")
    assert result.exit_code == 2
    assert any(line.startswith(f"  {expected}") for line in result.output.splitlines()), result.output


def test_missing_required_key(run: Run, project: Path) -> None:
    write_prod(project, VALID_TAIL)
    result = run("render", "prod")
    assert result.exit_code == 2
    assert "'hostname' is a required property" in result.output


def test_every_error_of_every_file_is_reported_at_once(run: Run, project: Path) -> None:
    write_prod(project, "hostname: NOT A HOST\nllama:\n  threads: 0\n  batchSize: huge\n" + VALID_TAIL)
    staging = project / "values/staging.yaml"
    staging.write_text(staging.read_text().replace("contextSize: 2048", "contextSize: -1"))
    result = run("render")
    assert result.exit_code == 2
    first = result.output.splitlines()[0]
    assert first == "error: values/prod.yaml: 3 invalid values; values/staging.yaml: 1 invalid value"
    for path in ("values/prod.yaml::hostname (line 1)", "values/prod.yaml::llama.threads (line 3)",
                 "values/prod.yaml::llama.batchSize (line 4)", "values/staging.yaml::llama.contextSize (line 10)"):
        assert path in result.output


def test_nothing_is_written_when_any_environment_is_invalid(run: Run, project: Path) -> None:
    run("render")
    before = snapshot(project)
    prod = project / "values/prod.yaml"
    prod.write_text(prod.read_text().replace("contextSize: 4096", "contextSize: 8192"))
    staging = project / "values/staging.yaml"
    staging.write_text(staging.read_text().replace("threads: 1", "threads: one"))
    assert run("render").exit_code == 2
    assert snapshot(project) == before


def test_an_error_in_the_shared_layer_points_at_that_file(run: Run, project: Path) -> None:
    (project / "values/_shared.yaml").write_text("proxy:\n  keyReloadSeconds: 0\n")
    result = run("render", "prod")
    assert result.exit_code == 2
    assert "values/_shared.yaml::proxy.keyReloadSeconds (line 2): 0 is out of range: expected 1 to 3600" in result.output


def test_shared_layer_sits_between_defaults_and_the_environment(run: Run, project: Path) -> None:
    (project / "values/_shared.yaml").write_text("proxy:\n  keyReloadSeconds: 7\n  workerProcesses: 2\n")
    staging = project / "values/staging.yaml"  # sets keyReloadSeconds: 10 itself
    assert run("render").exit_code == 0
    prod_conf = (project / "rendered/prod/configmap-gemma-proxy.yaml").read_text()
    staging_conf = (project / "rendered/staging/configmap-gemma-proxy.yaml").read_text()
    assert "reload_seconds = 7," in prod_conf and "worker_processes 2;" in prod_conf
    assert "reload_seconds = 10," in staging_conf and "worker_processes 2;" in staging_conf
    assert staging.exists()


def test_unknown_environment(run: Run) -> None:
    result = run("render", "qa")
    assert result.exit_code == 2
    assert result.output.splitlines()[0] == "error: unknown environment 'qa': no values/qa.yaml (environments: prod, staging)"


def test_environment_name_must_be_a_label(run: Run, project: Path) -> None:
    (project / "values/Bad_Env.yaml").write_text("hostname: gemma.example.com\n" + VALID_TAIL)
    result = run("render")
    assert result.exit_code == 2
    assert "environment name 'Bad_Env' must be a lowercase RFC 1123 label" in result.output


def test_top_level_must_be_a_mapping(run: Run, project: Path) -> None:
    write_prod(project, "- just\n- a list\n")
    result = run("render", "prod")
    assert result.exit_code == 2
    assert "values/prod.yaml: expected a mapping at the top level" in result.output


def test_no_traceback_for_a_missing_values_directory(run: Run, tmp_path: Path) -> None:
    result = run("render", root=tmp_path / "nowhere")
    assert result.exit_code == 2
    assert "Traceback" not in result.output

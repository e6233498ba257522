"""Escape hatches add to the pod and never replace what we own: extraEnv, extraVolumes and mounts, extraArgs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from generator import conflicts, llamaflags
from generator.render import LLAMA_ENV, MOUNT_PATHS, POD_ANNOTATIONS, POD_LABELS, VOLUMES
from tests.conftest import Run
from tests.plans import plan_for
from tests.platform.conftest import WriteEnv, container, docs_for, line_of, pod


def problems(**changes: Any) -> list[str]:
    """The conflicts of the prod values with changes, as printed, without the file and rule."""
    return [f"{p.path}: {p.message}" for p in conflicts.problems(plan_for("prod", **changes))]


def test_what_render_lists_as_ours_is_what_the_template_renders() -> None:
    docs = docs_for()
    spec, metadata = pod(docs), docs["Deployment/gemma"]["spec"]["template"]["metadata"]
    assert set(POD_LABELS) == set(metadata["labels"]) and set(POD_ANNOTATIONS) == set(metadata["annotations"])
    assert set(VOLUMES) == {v["name"] for v in spec["volumes"]}
    assert {e["name"] for e in container(docs, "llama-server")["env"]} == set(LLAMA_ENV)
    assert "env" not in container(docs, "auth-proxy")
    assert set(MOUNT_PATHS) == {m["mountPath"] for c in spec["containers"] for m in c["volumeMounts"]}


def test_extras_are_added_after_ours() -> None:
    env = {"name": "LLAMA_ARG_CACHE_REUSE", "value": "256"}
    docs = docs_for(llama__extraEnv=[env], proxy__extraEnv=[{"name": "TZ", "value": "UTC"}],
                    extraVolumes=[{"name": "templates", "configMap": {"name": "chat-templates"}}],
                    llama__extraVolumeMounts=[{"name": "templates", "mountPath": "/templates", "readOnly": True}],
                    proxy__extraVolumeMounts=[{"name": "templates", "mountPath": "/opt/extra"}],
                    llama__extraArgs=["--temp", "0.7", "--no-warmup"])
    llama, proxy = container(docs, "llama-server"), container(docs, "auth-proxy")
    assert llama["env"][-1] == env and proxy["env"] == [{"name": "TZ", "value": "UTC"}]
    assert pod(docs)["volumes"][-1] == {"name": "templates", "configMap": {"name": "chat-templates"}}
    assert llama["volumeMounts"][-1] == {"name": "templates", "mountPath": "/templates", "readOnly": True}
    assert proxy["volumeMounts"][-1] == {"name": "templates", "mountPath": "/opt/extra"}
    assert llama["args"][-3:] == ["--temp", "0.7", "--no-warmup"]


def test_env_names_we_set_or_own_are_refused() -> None:
    found = problems(llama__extraEnv=[{"name": "HF_HOME", "value": "/elsewhere"},
                                      {"name": "LLAMA_ARG_CTX_SIZE", "value": "100000"},
                                      {"name": "LLAMA_API_KEY", "value": "secret"},
                                      {"name": "LLAMA_ARG_HOST", "value": "0.0.0.0"},
                                      {"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "hf", "key": "token"}}},
                                      {"name": "X", "value": "1"}, {"name": "X", "value": "2"}])
    assert found == [
        "llama.extraEnv[0].name: 'HF_HOME' cannot be overridden: set by gemma-gitops",
        "llama.extraEnv[1].name: 'LLAMA_ARG_CTX_SIZE' cannot be overridden: llama-server reads it as -c, which is not "
        "settable here: gemma-gitops renders -c from the values",
        "llama.extraEnv[2].name: 'LLAMA_API_KEY' cannot be overridden: llama-server reads it as --api-key, which is not "
        "settable here: the auth proxy checks the API key (apiKey, proxy)",
        "llama.extraEnv[3].name: 'LLAMA_ARG_HOST' cannot be overridden: llama-server reads it as --host, which is not "
        f"settable here: {conflicts._PROXY_ONLY}",
        "llama.extraEnv[6].name: 'X' is given twice",
    ]


def test_the_api_key_never_leaves_the_proxy() -> None:
    ref = {"secretKeyRef": {"name": "gemma-api-key", "key": "api-key"}}
    assert problems(llama__extraEnv=[{"name": "KEY", "valueFrom": ref}],
                    extraVolumes=[{"name": "k", "secret": {"secretName": "gemma-api-key"}},
                                  {"name": "p", "projected": {"sources": [{"secret": {"name": "gemma-api-key"}}]}}]) == [
        "llama.extraEnv[0].valueFrom: Secret 'gemma-api-key' holds the API key: it stays in the proxy",
        "extraVolumes[0]: Secret 'gemma-api-key' holds the API key: only the proxy mounts it",
        "extraVolumes[1]: Secret 'gemma-api-key' holds the API key: only the proxy mounts it",
    ]


def test_volumes_and_mounts_never_cover_ours() -> None:
    found = problems(extraVolumes=[{"name": "models", "emptyDir": {}}, {"name": "data", "emptyDir": {}},
                                   {"name": "node", "hostPath": {"path": "/var"}}],
                     llama__extraVolumeMounts=[{"name": "data", "mountPath": "/models"},
                                               {"name": "data", "mountPath": "/models/hub/x"},
                                               {"name": "data", "mountPath": "/tmp"},
                                               {"name": "data", "mountPath": "/"},
                                               {"name": "api-key", "mountPath": "/key"},
                                               {"name": "data", "mountPath": "/data"},
                                               {"name": "data", "mountPath": "/data/"}],
                     proxy__extraVolumeMounts=[{"name": "data", "mountPath": "/opt/gemma-proxy/secrets"},
                                               {"name": "data", "mountPath": "/opt/gemma-proxy"},
                                               {"name": "data", "mountPath": "/opt/gemma-proxy-other"}])
    assert found == [
        "extraVolumes[0].name: volume 'models' is ours; choose another name",
        "extraVolumes[2].hostPath: a hostPath volume exposes the node's filesystem to the pod; use a PersistentVolumeClaim, "
        "ConfigMap or Secret",
        *(f"llama.extraVolumeMounts[{i}].mountPath: {path!r} would mount over {ours}, which gemma-gitops mounts (the model "
          "cache, scratch space, or the proxy's config, key and run directories)"
          for i, path, ours in ((0, "/models", "/models"), (1, "/models/hub/x", "/models"), (2, "/tmp", "/tmp"), (3, "/", "/models"))),
        "llama.extraVolumeMounts[4].name: mounts volume 'api-key', which extraVolumes does not define (only extraVolumes "
        "may be mounted; they are: data, models, node)",
        "llama.extraVolumeMounts[6].mountPath: '/data/' is mounted twice in this container",
        *(f"proxy.extraVolumeMounts[{i}].mountPath: {path!r} would mount over {ours}, which gemma-gitops mounts (the model "
          "cache, scratch space, or the proxy's config, key and run directories)"
          for i, path, ours in ((0, "/opt/gemma-proxy/secrets", "/opt/gemma-proxy/secrets"),
                                (1, "/opt/gemma-proxy", "/opt/gemma-proxy/conf"))),
    ]


def test_extra_args_are_flags_the_pinned_build_knows() -> None:
    assert problems(llama__extraArgs=["--no-warmup", "--temp", "0.7", "--seed", "-1", "--control-vector-layer-range", "2", "8",
                                      "--chat-template-file", "/templates/chatml.jinja", "--no-slots", "--props"]) == []
    assert problems(llama__extraArgs=["--metrix", "0.7", "--temp", "--no-warmup", "--control-vector-layer-range", "2"]) == [
        "llama.extraArgs[0]: '--metrix': llama-server b11434 knows no such flag; expected a flag (did you mean --metrics?)",
        "llama.extraArgs[1]: '0.7': llama-server b11434 knows no such flag; expected a flag (each value follows its flag)",
        "llama.extraArgs[2]: --temp takes 1 value, each its own item right after it",
        "llama.extraArgs[4]: --control-vector-layer-range takes 2 values, each its own item right after it",
    ]


@pytest.mark.parametrize(("arg", "reason"), [
    ("--host", conflicts._PROXY_ONLY),
    ("--port", conflicts._PROXY_ONLY),
    ("-c", "gemma-gitops renders -c from the values"),
    ("--ctx-size", "gemma-gitops renders -c from the values"),
    ("--n-gpu-layers", "it changes the memory budget: set it through the values (llama.*)"),
    ("--webui", conflicts._UNTRUSTED),
    ("--threads-http", "gemma-gitops renders --threads-http from the values"),
    ("-to", "gemma-gitops renders --timeout from the values"),
    ("--api-key", "the auth proxy checks the API key (apiKey, proxy)"),
    ("--api_key_file", "the auth proxy checks the API key (apiKey, proxy)"),  # llama-server reads `_` as `-`
    ("--api-prefix", conflicts._PROXY_ONLY),
    ("--ssl-key-file", conflicts._PROXY_ONLY),
    ("--tools", conflicts._UNTRUSTED),
    ("--media-path", conflicts._UNTRUSTED),
    ("-m", conflicts._MODEL),
    ("--gpt-oss-20b-default", conflicts._MODEL),
    ("-hft", "a token on the command line is a token in git: give HF_TOKEN in llama.extraEnv from a Secret (valueFrom)"),
    ("--mmproj", conflicts._SECOND_MODEL),
    ("-md", conflicts._SECOND_MODEL),
    ("--embeddings", "it changes the memory budget: set it through the values (llama.*)"),
    ("--rerank", "it changes the memory budget: set it through the values (llama.*)"),
    ("--swa-full", "it changes the memory budget: set it through the values (llama.*)"),
    ("--fit", "it changes the memory budget: set it through the values (llama.*)"),
    ("--tensor-split", conflicts._PLACEMENT),
    ("--metrics", "metrics.enabled turns it on, and only the proxy's metrics port serves it"),
])
def test_flags_we_own_are_refused_with_the_reason(arg: str, reason: str) -> None:
    needed = llamaflags.known()[llamaflags.normalize(arg)].values
    assert problems(llama__extraArgs=[arg, *["1"] * needed]) == [f"llama.extraArgs[0]: {arg} is not settable here: {reason}"]


def test_every_flag_we_own_is_one_the_build_knows() -> None:
    known = llamaflags.known()
    assert [flag for flag in conflicts.OWNED if flag not in known] == []
    assert all(flag in known for flag in conflicts.ENV_ALLOWED)


def test_extra_args_need_an_image_of_the_build_they_are_checked_against() -> None:
    assert problems(llama__image="ghcr.io/ggml-org/llama.cpp:server-b9999", llama__extraArgs=["--no-warmup"]) == [
        "llama.extraArgs: extraArgs are checked against llama-server b11434's flags, but the image "
        "'ghcr.io/ggml-org/llama.cpp:server-b9999' does not name that build in its tag"]
    assert problems(llama__image="mirror.example.com/llama.cpp:server-b11434@sha256:" + "b" * 64,
                    llama__extraArgs=["--no-warmup"]) == []
    assert problems(llama__image="ghcr.io/ggml-org/llama.cpp:server-b9999") == []  # nothing to check


def test_a_conflict_is_a_values_error_at_its_line_and_nothing_is_written(run: Run, project: Path,
                                                                         write_env: WriteEnv) -> None:
    path = write_env({"llama": {"extraArgs": ["--no-warmup", "--api-key", "hunter2"]}})
    result = run("render")
    assert result.exit_code == 2
    assert result.output.splitlines()[-2:] == [
        "error: values/edge.yaml: 1 value conflicts with what gemma-gitops renders",
        f"  values/edge.yaml::llama.extraArgs[1] (line {line_of(path, '- --api-key')}): --api-key is not settable here: "
        "the auth proxy checks the API key (apiKey, proxy) (values-conflict)"]
    assert not (project / "rendered").exists()


@pytest.mark.parametrize(("changes", "expected"), [
    ({"llama": {"extraArgs": "--no-warmup"}}, "values/edge.yaml::llama.extraArgs: '--no-warmup' is not of type 'array'"),
    ({"llama": {"extraArgs": [""]}}, "values/edge.yaml::llama.extraArgs[0]: '' is not valid: expected at least 1 character(s)"),
    ({"llama": {"extraEnv": [{"value": "x"}]}}, "values/edge.yaml::llama.extraEnv[0]: 'name' is a required property"),
    ({"llama": {"extraEnv": [{"name": "1X", "value": "x"}]}}, "values/edge.yaml::llama.extraEnv[0].name: '1X' is not valid"),
    ({"llama": {"extraEnv": [{"name": "X", "valueFrom": {"secretRef": {}}}]}},
     "values/edge.yaml::llama.extraEnv[0].valueFrom.secretRef: unknown key 'secretRef'"),
    ({"extraVolumes": [{"name": "x", "emptyDri": {}}]}, "values/edge.yaml::extraVolumes[0].emptyDri: unknown key 'emptyDri'"),
    ({"llama": {"extraVolumeMounts": [{"name": "x", "mountPath": "relative"}]}},
     "values/edge.yaml::llama.extraVolumeMounts[0].mountPath: 'relative' is not valid"),
    ({"proxy": {"extraVolumeMounts": [{"name": "x", "mountPath": "/x", "readonly": True}]}},
     "values/edge.yaml::proxy.extraVolumeMounts[0].readonly: unknown key 'readonly'"),
])
def test_malformed_escape_hatches_are_values_errors(run: Run, project: Path, write_env: WriteEnv,
                                                    changes: dict[str, Any], expected: str) -> None:
    write_env(changes)
    result = run("render")
    assert result.exit_code == 2
    assert any(line.startswith(f"  {expected.split('::')[0]}::{expected.split('::')[1].split(':')[0]} (line ") and
               expected.split(": ", 1)[1] in line for line in result.output.splitlines()), result.output
    assert not (project / "rendered").exists()

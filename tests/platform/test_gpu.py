"""GPU serving: the CUDA image of the pinned build, a GPU resource, and a memory budget split between RAM and VRAM.

Rendered and validated here; never run (these machines have no GPU).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from generator import conflicts, guards
from generator.capacity.budget import LlamaSettings, predict
from generator.capacity.catalog import lookup
from generator.capacity.gpu import (
    CARDS_GB,
    CUDA_CONTEXT_BYTES,
    CUDA_HOST_BYTES,
    Offload,
    gpu_memory_bytes,
    offloaded_kv_bytes,
    split,
)
from generator.capacity.quantity import GiB
from testkit.pins import pinned_build, without_digest
from tests.conftest import REPO, Run
from tests.plans import plan_for
from tests.platform.conftest import WriteEnv, container, docs_for, line_of, pod, rendered, validate_ok

GEMMA = lookup("ggml-org/gemma-3-1b-it-GGUF", "gemma-3-1b-it-Q4_K_M.gguf")
assert GEMMA is not None
G = GEMMA.geometry
S = LlamaSettings(context_size=4096, embeddings=True, ctx_checkpoints=4)
SCHEMA = json.loads((REPO / "schemas/values.schema.json").read_text())
GPU: dict[str, Any] = {"llama__gpuLayers": 999, "llama__gpu": {"enabled": True, "card": "nvidia-a10"}}


@pytest.mark.parametrize(("ngl", "layers", "output"), [(0, 0, False), (1, 0, True), (2, 1, True), (26, 25, True),
                                                       (27, 26, True), (999, 26, True)])
def test_offload_follows_llama_cpp(ngl: int, layers: int, output: bool) -> None:
    # src/llama-model.cpp: i_gpu_start = max(n_layer + 1 - ngl, 0); the output layer is layer n_layer.
    assert Offload.of(ngl, G.n_layer) == Offload(layers, output)


def test_everything_on_the_gpu_leaves_the_input_embeddings_in_ram() -> None:
    budget = predict(G, S)
    host, gpu = split(G, S, budget, 999, 1, 24 * 10**9)
    assert host.kv_cache == 0 and gpu.kv_cache == budget.kv_cache
    assert gpu.weights == G.file_size_bytes  # every layer plus the (tied) output matrix, at the bytes per parameter it costs
    embeddings = G.n_vocab * G.n_embd
    # What stays mapped: the file less the layers, at the bytes per parameter of an untied model (the smaller share).
    assert host.weights == pytest.approx(G.file_size_bytes * 2 * embeddings / (2 * embeddings + G.n_layer * 26_836_992),
                                         rel=1e-6)
    assert gpu.per_gpu == gpu.weights + gpu.kv_cache + budget.compute + CUDA_CONTEXT_BYTES and gpu.fits


def test_partial_offload_moves_the_last_layers_kv_exactly() -> None:
    budget = predict(G, S)
    # Gemma 3 1B: layers 5, 11, 17, 23 attend over the whole context, the rest slide; -ngl 4 puts 23, 24, 25 on the GPU.
    kv = offloaded_kv_bytes(G, S, budget.cells, Offload(3, True))
    cells, per_cell = budget.cells, 2 * 256 * 2  # K and V rows of one 256-wide head, f16
    assert kv == (cells.full_per_stream + 2 * cells.swa_per_stream) * per_cell
    host, gpu = split(G, S, budget, 4, 1, None)
    assert host.kv_cache == budget.kv_cache - kv and not gpu.fits  # unknown memory never fits


def test_two_gpus_share_the_layers_and_each_holds_a_compute_buffer() -> None:
    budget = predict(G, S)
    _, one = split(G, S, budget, 999, 1, None)
    _, two = split(G, S, budget, 999, 2, None)
    assert two.per_gpu < one.per_gpu
    assert two.per_gpu >= one.compute + one.cuda + (one.weights - one.output_weights + one.kv_cache) // 2


@pytest.mark.parametrize(("card", "gib", "mig", "expected"), [
    ("nvidia-a10", 0, "", 24 * 10**9), ("nvidia-t4", 0, "", 16 * 10**9), ("", 0, "1g.10gb", 10 * 10**9),
    ("nvidia-a100-80gb", 0, "3g.40gb+me", 40 * 10**9), ("nvidia-a10", 20, "", 20 * GiB), ("", 0, "", None),
])
def test_gpu_memory(card: str, gib: float, mig: str, expected: int | None) -> None:
    assert gpu_memory_bytes(card, gib, mig) == expected


def test_the_card_catalog_is_the_schema_enum() -> None:
    assert SCHEMA["properties"]["llama"]["properties"]["gpu"]["properties"]["card"]["enum"] == ["", *CARDS_GB]


def test_the_cuda_image_is_the_tested_build() -> None:
    default = SCHEMA["properties"]["llama"]["properties"]["gpu"]["properties"]["image"]["default"]
    assert without_digest(default) == f"ghcr.io/ggml-org/llama.cpp:server-cuda-b{pinned_build()}"


def test_a_gpu_replica_renders_the_cuda_image_the_resource_the_runtime_and_the_tolerations() -> None:
    docs = docs_for(**GPU, llama__gpu__runtimeClassName="nvidia", tolerations=[{"key": "pool", "operator": "Exists"}])
    llama, spec = container(docs, "llama-server"), pod(docs)
    assert llama["image"] == f"ghcr.io/ggml-org/llama.cpp:server-cuda-b{pinned_build()}"
    assert llama["resources"]["limits"]["nvidia.com/gpu"] == 1 and llama["resources"]["requests"]["nvidia.com/gpu"] == 1
    assert "-ngl" in llama["args"] and llama["args"][llama["args"].index("-ngl") + 1] == "999"
    assert spec["runtimeClassName"] == "nvidia"
    assert spec["tolerations"] == [{"key": "pool", "operator": "Exists"},
                                   {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    assert "nvidia.com/gpu" not in container(docs, "auth-proxy")["resources"]["limits"]


def test_a_mig_slice_is_its_own_resource() -> None:
    llama = container(docs_for(llama__gpuLayers=999, llama__gpu={"enabled": True, "migProfile": "1g.10gb"}), "llama-server")
    assert llama["resources"]["limits"]["nvidia.com/mig-1g.10gb"] == 1 and "nvidia.com/gpu" not in llama["resources"]["limits"]


def test_the_startup_window_is_the_same_download() -> None:
    cpu, gpu = plan_for("prod").capacity, plan_for("prod", **GPU).capacity
    assert cpu is not None and gpu is not None and gpu.startup == cpu.startup


def test_ram_is_checked_against_the_limit_without_what_went_to_the_gpu() -> None:
    cpu, gpu = plan_for("prod").capacity, plan_for("prod", **GPU).capacity
    assert cpu is not None and gpu is not None and gpu.gpu is not None
    moved = (cpu.budget.weights - gpu.budget.weights) + (cpu.budget.kv_cache - gpu.budget.kv_cache)
    assert gpu.budget.kv_cache == 0 and moved > 0
    # What moved leaves RAM; the CUDA runtime comes in (for a 1B model it weighs more than what moved).
    assert gpu.fit.total == cpu.fit.total - moved + CUDA_HOST_BYTES


def test_a_gpu_too_small_is_an_error_with_the_breakdown() -> None:
    plan = plan_for("prod", llama__gpuLayers=999, llama__gpu={"enabled": True, "memoryGiB": 1})
    errors = [p for p in guards.run(plan) if p.rule == "gpu-memory"]
    assert len(errors) == 1 and errors[0].is_error
    assert errors[0].message.startswith("the fullest GPU needs 1.81 GiB (weights 769.1 MiB, kv cache 38.0 MiB, compute "
                                        "530.6 MiB, cuda 512.0 MiB) but has 1.00 GiB: lower llama.gpuLayers")


@pytest.mark.parametrize(("changes", "expected"), [
    ({"llama__gpuLayers": 99}, "llama.gpuLayers: -ngl 99 offloads layers to a GPU, but no GPU is requested"),
    ({"llama__gpu": {"enabled": True, "card": "nvidia-a10"}}, "llama.gpuLayers: llama.gpu requests a GPU but llama.gpuLayers is 0"),
    ({"llama__gpuLayers": 9, "llama__gpu": {"enabled": True}}, "llama.gpu: the GPU's memory is unknown"),
    ({"llama__gpuLayers": 9, "llama__gpu": {"enabled": True, "migProfile": "1g.5gb", "count": 2}},
     "llama.gpu.count: a CUDA process uses one MIG device: with migProfile, count must be 1"),
    ({**GPU, "llama__gpu": {"enabled": True, "card": "nvidia-a10", "runtimeClassName": "nvidia"}, "runtimeClassName": "gvisor"},
     "runtimeClassName: the pod runs with llama.gpu.runtimeClassName 'nvidia' on GPUs; 'gvisor' cannot apply too"),
])
def test_gpu_settings_that_cannot_work_are_values_errors(changes: dict[str, Any], expected: str) -> None:
    found = [f"{p.path}: {p.message}" for p in conflicts.problems(plan_for("prod", **changes))]
    assert any(f.startswith(expected) for f in found), found


def test_ngl_without_a_gpu_fails_the_render_at_its_line(run: Run, project: Path, write_env: WriteEnv) -> None:
    path = write_env({"llama": {"gpuLayers": 99}})
    result = run("render")
    assert result.exit_code == 2
    assert (f"  values/edge.yaml::llama.gpuLayers (line {line_of(path, 'gpuLayers: 99')}): -ngl 99 offloads layers to a GPU, "
            "but no GPU is requested: set llama.gpu.enabled (with its card or memoryGiB), or llama.gpuLayers: 0 "
            "(values-conflict)") in result.output.splitlines()
    assert not (project / "rendered").exists()


@pytest.mark.parametrize(("gpu", "expected"), [
    ({"vendor": "amd"}, "values/edge.yaml::llama.gpu.vendor: 'amd' is not one of 'nvidia'"),
    ({"card": "rtx-4090"}, "values/edge.yaml::llama.gpu.card: 'rtx-4090' is not one of"),
    ({"migProfile": "10gb"}, "values/edge.yaml::llama.gpu.migProfile: '10gb' is not valid"),
    ({"count": 0}, "values/edge.yaml::llama.gpu.count: 0 is out of range: expected 1 to 8"),
    ({"image": "ghcr.io/ggml-org/llama.cpp:latest"}, "values/edge.yaml::llama.gpu.image: 'ghcr.io/ggml-org/llama.cpp:latest' is not valid"),
    ({"enabled": "yes"}, "values/edge.yaml::llama.gpu.enabled: 'yes' is not of type 'boolean'"),
    ({"memory": 24}, "values/edge.yaml::llama.gpu.memory: unknown key 'memory'"),
])
def test_bad_gpu_values(run: Run, write_env: WriteEnv, gpu: dict[str, object], expected: str) -> None:
    write_env({"llama": {"gpu": gpu}})
    result = run("render")
    assert result.exit_code == 2
    assert any(line.startswith("  " + expected.split("::")[0] + "::" + expected.split("::")[1].split(":")[0] + " (line ")
               and expected.split(": ", 1)[1] in line for line in result.output.splitlines()), result.output


def test_a_gpu_environment_renders_and_validates(run: Run, project: Path, write_env: WriteEnv) -> None:
    write_env({"nodeSelector": {"kubernetes.io/arch": "amd64"},
               "llama": {"gpuLayers": 999, "gpu": {"enabled": True, "card": "nvidia-l4", "runtimeClassName": "nvidia"}}})
    assert run("render", "edge").exit_code == 0
    validate_ok(run)
    budget = run("budget", "edge")
    assert "  GPU: 26 layers and the output layer on 1 GPU (the table above is what stays in RAM)" in budget.output
    assert rendered(project)["Deployment/gemma"]["spec"]["template"]["spec"]["runtimeClassName"] == "nvidia"


def test_budget_json_has_the_gpu_side(run: Run, write_env: WriteEnv) -> None:
    write_env({"llama": {"gpuLayers": 10, "gpu": {"enabled": True, "card": "nvidia-t4", "count": 2}}})
    [report] = json.loads(run("budget", "--output", "json", "edge").stdout)
    assert report["gpu"]["count"] == 2 and report["gpu"]["offloadedLayers"] == 9 and report["gpu"]["outputLayer"] is True
    assert report["gpu"]["memory"] == 16 * 10**9 and report["gpu"]["fits"] is True


def test_the_weight_split_errs_high_on_both_sides() -> None:
    budget = predict(G, S)
    host, gpu = split(G, S, budget, 999, 1, None)
    assert host.weights + gpu.weights > G.file_size_bytes  # never less than the file between them
    assert replace(budget, weights=0).total < host.total  # the host still holds the input embeddings

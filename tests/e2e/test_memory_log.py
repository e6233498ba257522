"""Reading llama-server's startup log and comparing it with the budget, on lines b11434 printed.

Fast and without llama-server: runs in every `make test`.
"""

from __future__ import annotations

import pytest

from tests.e2e.memory import KvLine, MiB, compare, markdown, parse_startup_log

# llama-server b11434, Gemma 3 270M, -c 4096 -np 1 --embeddings --pooling mean, -lv 4 (excerpt).
STARTUP = """\
0.00.806.477 I load_tensors:   CPU_Mapped model buffer size =   235.16 MiB
0.00.806.490 I load_tensors:   CPU_REPACK model buffer size =    12.66 MiB
0.00.821.523 I llama_context:        CPU  output buffer size =     1.00 MiB
0.00.821.526 I llama_kv_cache_iswa: creating non-SWA KV cache, size = 4096 cells
0.00.821.587 I llama_kv_cache:        CPU KV buffer size =    12.00 MiB
0.00.828.184 I llama_kv_cache: size =   12.00 MiB (  4096 cells,   3 layers,  1/1 seqs), K (f16):    6.00 MiB, V (f16):    6.00 MiB
0.00.828.200 I llama_kv_cache_iswa: creating     SWA KV cache, size = 1024 cells
0.00.828.269 I llama_kv_cache:        CPU KV buffer size =    15.00 MiB
0.00.836.219 I llama_kv_cache: size =   15.00 MiB (  1024 cells,  15 layers,  1/1 seqs), K (f16):    7.50 MiB, V (f16):    7.50 MiB
0.00.838.578 I sched_reserve:        CPU compute buffer size =   523.28 MiB
"""


def test_every_buffer_is_read() -> None:
    allocated = parse_startup_log(STARTUP)
    assert allocated.model_mapped == round(235.16 * MiB) and allocated.model_repack == round(12.66 * MiB)
    assert allocated.kv_full == KvLine(12 * MiB, 4096, 3)
    assert allocated.kv_swa == KvLine(15 * MiB, 1024, 15)
    assert allocated.kv == 27 * MiB
    assert allocated.compute == round(523.28 * MiB) and allocated.output == 1 * MiB


def test_a_model_without_sliding_window_has_one_cache() -> None:
    log = "\n".join(line for line in STARTUP.splitlines() if "SWA" not in line and "15 layers" not in line)
    assert parse_startup_log(log).kv_swa is None


def test_a_missing_line_is_named() -> None:
    with pytest.raises(AssertionError, match="compute buffer size"):
        parse_startup_log(STARTUP.replace("compute buffer", "something"))


def test_deviation_is_relative_to_what_llama_server_allocated() -> None:
    budget = {"budget": {"kvCache": 27 * MiB, "weights": 253_113_024, "compute": 562_561_024}}
    kv, model, compute, total = compare(parse_startup_log(STARTUP), budget)
    assert kv.deviation == 0
    assert compute.deviation == pytest.approx(536.5 / 523.28 - 1, abs=1e-4)
    assert total.allocated == kv.allocated + model.allocated + compute.allocated
    assert "| kv cache (non-SWA + SWA) | 27.00 | 27.00 | +0.0% |" in markdown((kv, model, compute, total), [])

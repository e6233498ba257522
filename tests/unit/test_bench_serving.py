"""The serving benchmark's arithmetic on fixed inputs: its section of results.md, the steady window and the
saturation point, the bandwidth program's output, the sweep's configurations. No timing is asserted;
the measurements themselves run in `make bench-serving`."""

from __future__ import annotations

import pytest

from bench.serving import bandwidth, quota, results, series
from bench.serving.load import Streamed, Timings
from bench.serving.measure import LoadPoint, load_point, saturation, steady_window, tokens_within

SECTION = f"{results.BEGIN}\n## Serving\n\nnumbers\n{results.END}"


def test_make_bench_keeps_the_serving_section_it_did_not_write() -> None:
    old = f"# Benchmark results\n\nold tables\n\n{SECTION}\n"
    assert results.section_of(old) == SECTION
    rewritten = results.with_section("# Benchmark results\n\nnew tables\n", results.section_of(old))
    assert rewritten == f"# Benchmark results\n\nnew tables\n\n{SECTION}\n"


def test_bench_serving_replaces_only_its_own_section() -> None:
    document = f"# Benchmark results\n\nbefore\n\n{SECTION}\n\nafter\n"
    block = f"{results.BEGIN}\nfresh\n{results.END}"
    assert results.with_section(document, block) == f"# Benchmark results\n\nbefore\n\n{block}\n\nafter\n"
    assert results.section_of("no section here") is None
    assert results.with_section("doc\n", None) == "doc\n"


def streamed(client: int, sent: float, tokens: tuple[float, ...], predicted: int = 0) -> Streamed:
    n = predicted or len(tokens)
    return Streamed(client, sent, tokens, tokens[-1], Timings(100, 200.0, n, 1000.0))


def test_the_steady_window_ends_when_the_first_client_is_done() -> None:
    # Client 0 finishes its last request at 3.0, client 1 at 4.0: after 3.0 only one client is busy.
    runs = [streamed(0, 0.0, (0.5, 1.0)), streamed(0, 1.0, (2.0, 3.0)), streamed(1, 0.1, (1.5, 4.0))]
    assert steady_window(runs) == (0.0, 3.0)


def test_tokens_in_merged_events_count_by_the_servers_count() -> None:
    # Four tokens in two events: each event weighs two.
    assert tokens_within(streamed(0, 0.0, (1.0, 2.0), predicted=4), 0.0, 1.5) == 2.0


def test_a_load_point_of_one_client() -> None:
    runs = [streamed(0, 0.0, (1.0, 1.5, 2.0)), streamed(0, 2.0, (3.0, 3.5, 4.0))]
    point = load_point(1, 1, runs)
    assert (point.window_seconds, point.generation_tps) == (4.0, 1.5)  # 6 tokens in 4 s
    assert (point.ttft_p50, point.per_client_tps, point.prompt_tokens) == (1.0, 2.0, 100)  # 2 tokens after the first in 1 s


def point(clients: int, tps: float) -> LoadPoint:
    return LoadPoint(1, clients, 8, 10.0, tps, 0.0, 0.0, 0.0, 0.0, 100, 0.0)


@pytest.mark.parametrize(("curve", "where"), [
    ([(1, 50.0), (2, 80.0), (4, 83.0), (8, 84.0)], 2),  # 4 clients add under 5 %
    ([(1, 50.0), (2, 51.0)], 1),
    ([(1, 50.0), (2, 60.0), (4, 70.0)], 4),  # still growing at the last step measured
    ([(1, 52.0), (2, 48.8), (4, 68.3), (8, 69.0)], 4),  # a dip at 2 is not the end of growth
])
def test_saturation_is_where_more_clients_add_under_five_percent(curve: list[tuple[int, float]], where: int) -> None:
    assert saturation([point(c, t) for c, t in curve]) == where


def test_the_bandwidth_output_drops_each_kernels_first_repetition() -> None:
    out = "copy 9.0\ncopy 12.0\ncopy 11.5\nread 14.0\nread 16.0\nread 15.5\n"
    assert bandwidth.parse(out) == {"copy": [12.0, 11.5], "read": [16.0, 15.5]}


@pytest.mark.parametrize(("cores", "cpus"), [(0.5, "0"), (1.0, "0"), (1.5, "0-1"), (2.0, "0-1"), (4.0, "0-3")])
def test_taskset_gets_the_whole_cores_of_the_limit(cores: float, cpus: str) -> None:
    assert quota.cpu_list(cores) == cpus


def test_the_sweep_leaves_out_a_quantized_cache_without_flash_attention() -> None:
    configs = series.sweep_configs(2.0)
    labels = [c.label for c in configs]
    assert len(configs) == 2 * 3 * 3  # threads 1-2, ubatch 128/256/512, (on, f16) (on, q8_0) (off, f16)
    assert not any("flash-attn off, cache q8_0" in label for label in labels)
    assert all(c.changes["llama.resources.limits.cpu"] == "2" for c in configs)
    assert series.sweep_config(2, 512, "off", "f16", 1.5).flags == {"--flash-attn": "off"}
    assert series.sweep_config(2, 512, "off", "f16", 1.5).changes["llama.resources.limits.cpu"] == "1500m"


def test_batches_below_the_schemas_minimum_go_through_the_benchmarks_substitutions() -> None:
    small = series.batch_config(series.SMALLEST_BATCH, 2.0)
    assert small.flags == {"--batch-size": "2", "--ubatch-size": "2"} and "llama.batchSize" not in small.changes
    large = series.batch_config(256, 2.0)
    assert large.flags == {} and (large.changes["llama.batchSize"], large.changes["llama.ubatchSize"]) == (256, 256)

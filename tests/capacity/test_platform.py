"""CPU targets: presets, what the architecture alone implies, and a machine's own flags."""

from __future__ import annotations

import pytest

from generator.capacity.platform import AMD64, ARM64, REFERENCE, from_cpu_flags, from_system_info, platform_for, preset


@pytest.mark.parametrize(("name", "arch", "amx"), [
    ("ampere-a1", ARM64, False), ("neoverse-n1", ARM64, False), ("graviton3", ARM64, False),
    ("x86-64-v3", AMD64, False), ("x86-64-v4", AMD64, False), ("sapphirerapids-amx", AMD64, True),
])
def test_presets(name: str, arch: str, amx: bool) -> None:
    found = preset(name)
    assert (found.arch, found.amx) == (arch, amx)


def test_ampere_a1_is_neoverse_n1_with_dotprod_only() -> None:
    a1 = preset("ampere-a1")
    assert a1 is preset("neoverse-n1") is REFERENCE
    assert (a1.has("dotprod"), a1.has("i8mm"), a1.has("sve")) == (True, False, False)


@pytest.mark.parametrize(("arch", "target", "expected"), [
    ("arm64", None, "neoverse-n1"), ("amd64", None, "sapphirerapids-amx"), (None, None, "neoverse-n1"),
    ("amd64", "x86-64-v3", "x86-64-v3"), (None, "graviton3", "neoverse-v1"),
])
def test_platform_for_values(arch: str | None, target: str | None, expected: str) -> None:
    assert platform_for(arch, target).name == expected


@pytest.mark.parametrize(("arch", "target", "message"), [
    ("arm64", "x86-64-v3", "is amd64, but the nodeSelector asks for arm64"),
    ("arm64", "m1", "unknown CPU target 'm1'; choose one of"),
    ("riscv64", None, "no CPU presets for architecture 'riscv64'"),
])
def test_platform_for_refuses_what_cannot_be(arch: str, target: str | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        platform_for(arch, target)


def test_from_cpu_flags() -> None:
    epyc = from_cpu_flags(AMD64, "fpu sse2 avx2 avx512f avx512_vnni amx_tile amx_int8", without=frozenset({"amx_int8"}))
    assert epyc.features == {"avx2", "avx512", "avx512_vnni"} and not epyc.amx
    n1 = from_cpu_flags(ARM64, "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp")
    assert n1.features == preset("neoverse-n1").features


def test_from_system_info() -> None:
    """The features the running ggml-cpu reports, here llama-server b11434 under QEMU as a Neoverse N1."""
    line = ("system_info: n_threads = 2 (n_threads_batch = 2) / 2 | CPU : NEON = 1 | ARM_FMA = 1 | FP16_VA = 1 | "
            "DOTPROD = 1 | LLAMAFILE = 1 | OPENMP = 1 | REPACK = 1 | ")
    assert from_system_info(ARM64, line).features == preset("ampere-a1").features
    x86 = ("system_info: n_threads = 2 (n_threads_batch = 2) / 2 | CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | "
           "FMA = 1 | BMI2 = 1 | AVX512 = 1 | AVX512_VBMI = 1 | AVX512_VNNI = 1 | AVX512_BF16 = 1 | LLAMAFILE = 1 | OPENMP = 1 | REPACK = 1 | ")
    assert from_system_info(AMD64, x86).features == {"avx2", "avx512", "avx512_vnni"}

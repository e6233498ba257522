"""The CPU a deployment targets, as far as llama.cpp's memory depends on it: which weight-repacking
kernels ggml compiles and picks there.

ggml decides repacking from compile-time features (ggml/src/ggml-cpu/ggml-cpu.c: ggml_cpu_has_avx2()
is `#if defined(__AVX2__)`, ggml_cpu_has_dotprod() is `__ARM_FEATURE_DOTPROD`, ...). The image we
deploy (ghcr.io/ggml-org/llama.cpp:server-bN, .devops/cpu.Dockerfile) is built with
GGML_CPU_ALL_VARIANTS, one ggml-cpu library per CPU family (ggml/src/CMakeLists.txt), and loads the
best-scoring one the node supports (ggml/src/ggml-cpu/arch/*/cpu-feats.cpp). So a preset below is the
variant llama-server runs on that CPU, named after the CPU.
"""

from __future__ import annotations

from dataclasses import dataclass

# Feature names: ggml's (the ggml_cpu_has_* functions repack.cpp and ggml-cpu.cpp ask).
AVX2 = "avx2"
AVX512 = "avx512"  # AVX512F
AVX512_VNNI = "avx512_vnni"
AMX_INT8 = "amx_int8"
NEON = "neon"
DOTPROD = "dotprod"
FP16 = "fp16"  # FP16 vector arithmetic
I8MM = "i8mm"  # ggml_cpu_has_matmul_int8
SVE = "sve"
SVE2 = "sve2"

AMD64 = "amd64"
ARM64 = "arm64"
FEATURES = {AMD64: frozenset({AVX2, AVX512, AVX512_VNNI, AMX_INT8}), ARM64: frozenset({NEON, DOTPROD, FP16, I8MM, SVE, SVE2})}


@dataclass(frozen=True)
class CpuPlatform:
    """An architecture (Kubernetes' name: amd64, arm64) and the ggml CPU features llama.cpp runs with."""

    name: str
    arch: str
    features: frozenset[str]
    sve_bytes: int = 0  # SVE vector length in bytes (ggml_cpu_get_sve_cnt); 0 without SVE
    note: str = ""

    def has(self, feature: str) -> bool:
        """True when the ggml variant running here is compiled with `feature`."""
        return feature in self.features

    @property
    def amx(self) -> bool:
        """ggml registers its AMX buffer type only with AMX-INT8 and AVX512-VNNI (ggml-cpu.cpp)."""
        return self.has(AMX_INT8) and self.has(AVX512_VNNI)


def _platform(name: str, arch: str, features: set[str], sve_bytes: int = 0, note: str = "") -> CpuPlatform:
    """A preset, checked against the features its architecture can have."""
    unknown = set(features) - FEATURES[arch]
    if unknown:
        raise ValueError(f"{name}: {sorted(unknown)} are not {arch} features")
    return CpuPlatform(name, arch, frozenset(features), sve_bytes, note)


# The ggml CPU variant each CPU gets from the official image (ggml/src/CMakeLists.txt
# ggml_add_cpu_backend_variant), by the CPU's name.
PRESETS: dict[str, CpuPlatform] = {p.name: p for p in (
    _platform("neoverse-n1", ARM64, {NEON, DOTPROD, FP16},
              note="Ampere Altra / OCI A1, Graviton2: variant armv8.2_2 (dotprod, fp16; no SVE, no i8mm)"),
    _platform("armv8-a", ARM64, {NEON}, note="Cortex-A72 class, Graviton1: variant armv8.0_1 (no dotprod)"),
    _platform("neoverse-n2", ARM64, {NEON, DOTPROD, FP16, SVE, I8MM, SVE2}, sve_bytes=16,
              note="128-bit SVE2 with i8mm (Graviton4, Ampere One class): variant armv8.6_2"),
    _platform("neoverse-v1", ARM64, {NEON, DOTPROD, FP16, SVE, I8MM}, sve_bytes=32,
              note="256-bit SVE with i8mm (Graviton3): variant armv8.6_1"),
    _platform("x86-64-v3", AMD64, {AVX2}, note="AVX2 (Haswell and later, Zen 1-3): variant haswell"),
    _platform("x86-64-v4", AMD64, {AVX2, AVX512}, note="AVX-512 without AMX (Skylake-X to Ice Lake, Zen 4/5)"),
    _platform("sapphirerapids-amx", AMD64, {AVX2, AVX512, AVX512_VNNI, AMX_INT8},
              note="Xeon with AMX (Sapphire Rapids and later): variant sapphirerapids"),
)}
# Names people use for the same CPUs.
ALIASES: dict[str, str] = {"ampere-a1": "neoverse-n1", "graviton2": "neoverse-n1", "graviton3": "neoverse-v1",
                           "graviton4": "neoverse-n2", "amx": "sapphirerapids-amx"}
# When the values name only the architecture: the reference nodes for arm64 (every arm64 CPU with
# dotprod repacks the same bytes, see repack.py), and on amd64 the variant that copies the most
# (AMX), so a pod scheduled on any x86 node fits.
DEFAULT_FOR_ARCH: dict[str, str] = {ARM64: "neoverse-n1", AMD64: "sapphirerapids-amx"}
REFERENCE = PRESETS["neoverse-n1"]  # the reference deployment: OCI Always Free A1 nodes


def preset(name: str) -> CpuPlatform:
    """A preset by name or alias; a ValueError lists the choices."""
    key = ALIASES.get(name, name)
    if key not in PRESETS:
        raise ValueError(f"unknown CPU target {name!r}; choose one of {', '.join(sorted([*PRESETS, *ALIASES]))}")
    return PRESETS[key]


def platform_for(arch: str | None, cpu_target: str | None = None) -> CpuPlatform:
    """The platform values target: an explicit preset (which must match the arch), else the arch's default."""
    if cpu_target is not None:
        chosen = preset(cpu_target)
        if arch is not None and chosen.arch != arch:
            raise ValueError(f"CPU target {cpu_target!r} is {chosen.arch}, but the nodeSelector asks for {arch}")
        return chosen
    if arch is None:
        return REFERENCE
    if arch not in DEFAULT_FOR_ARCH:
        raise ValueError(f"no CPU presets for architecture {arch!r}; llama.cpp's image is built for "
                         f"{', '.join(DEFAULT_FOR_ARCH)}")
    return PRESETS[DEFAULT_FOR_ARCH[arch]]


# /proc/cpuinfo flag (x86 `flags`, ARM `Features`) → ggml feature.
CPUINFO_FLAGS: dict[str, str] = {
    "avx2": AVX2, "avx512f": AVX512, "avx512_vnni": AVX512_VNNI, "amx_int8": AMX_INT8,
    "asimd": NEON, "asimddp": DOTPROD, "asimdhp": FP16, "i8mm": I8MM, "sve": SVE, "sve2": SVE2,
}


def from_cpu_flags(arch: str, flags: str, name: str = "this machine", without: frozenset[str] = frozenset()) -> CpuPlatform:
    """The platform a `-march=native` build has on a CPU with these /proc/cpuinfo flags, minus `without`
    (the test build compiles AMX out: scripts/install-llama-server.py NO_AMX_FLAGS)."""
    found = {CPUINFO_FLAGS[flag] for flag in flags.split() if flag in CPUINFO_FLAGS} & FEATURES[arch]
    return CpuPlatform(name, arch, frozenset(found - without), note=f"from /proc/cpuinfo: {', '.join(sorted(found - without))}")


# llama.cpp's `system_info: ... CPU : NEON = 1 | DOTPROD = 1 | ...` names (ggml-cpu.cpp
# ggml_backend_cpu_get_features) → ggml feature: what the running ggml-cpu variant was compiled with.
SYSTEM_INFO_FEATURES: dict[str, str] = {
    "AVX2": AVX2, "AVX512": AVX512, "AVX512_VNNI": AVX512_VNNI, "AMX_INT8": AMX_INT8,
    "NEON": NEON, "DOTPROD": DOTPROD, "FP16_VA": FP16, "MATMUL_INT8": I8MM, "SVE": SVE, "SVE2": SVE2,
}


def from_system_info(arch: str, line: str, name: str = "llama-server's build") -> CpuPlatform:
    """The platform a running llama-server reports in its `system_info` log line."""
    reported = dict(item.strip().rsplit(" = ", 1) for item in line.split("CPU :", 1)[-1].split("|") if " = " in item)
    found = {SYSTEM_INFO_FEATURES[key] for key, value in reported.items() if key in SYSTEM_INFO_FEATURES and value != "0"}
    sve_bytes = int(reported.get("SVE_CNT", "0") or 0)
    features = frozenset(found & FEATURES[arch])
    return CpuPlatform(name, arch, features, sve_bytes, note=f"ggml-cpu reports {', '.join(sorted(features)) or 'no SIMD'}")

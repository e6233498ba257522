"""The test llama-server holds no AMX instruction, on any x86-64 machine CI may get.

ggml's AMX kernels kill llama-server with SIGILL on Xeons that advertise AMX (see the comment above
NO_AMX_FLAGS in scripts/install-llama-server.py), so the build leaves them out. Two proofs that hold
on a machine without AMX too: the installed binary and every library beside it disassemble (objdump,
binutils) to code with no AMX instruction; and this machine's compiler, asked for an AMX CPU, drops
AMX when given NO_AMX_FLAGS before or after -march, as the build passes them.
"""

from __future__ import annotations

import platform
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import skip_or_fail
from tests.scripts.load import script

NO_AMX_FLAGS = script("install-llama-server").NO_AMX_FLAGS.split()
# Every AMX mnemonic (AMX-TILE, -INT8, -BF16, -FP16, -COMPLEX), and any tile register operand, so a
# later AMX extension is caught too.
AMX = re.compile(r"\t(ldtilecfg|sttilecfg|tilerelease|tilezero|tileloadd|tileloaddt1|tilestored|tdpbssd|tdpbsud|tdpbusd"
                 r"|tdpbuud|tdpbf16ps|tdpfp16ps|tcmmimfp16ps|tcmmrlfp16ps)\b|%tmm[0-7]\b")
INSTRUCTION = re.compile(r"^\s+[0-9a-f]+:\t\S", re.MULTILINE)
# What the positive control assembles: one instruction of each AMX extension binutils has known longest.
AMX_SAMPLE = "ldtilecfg (%rax)\ntilezero %tmm0\ntileloadd (%rax,%rbx,1),%tmm1\ntdpbssd %tmm2,%tmm1,%tmm0\n" \
             "tdpbf16ps %tmm2,%tmm1,%tmm0\ntilestored %tmm0,(%rax,%rbx,1)\ntilerelease\n"
AMX_MARCHES = ("sapphirerapids", "graniterapids")  # CPUs with AMX, as GCC and Clang name them

pytestmark = pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="AMX exists on x86-64 only")


def tool(name: str) -> str:
    """A binutils or compiler program, or a skip (a failure under GEMMA_GITOPS_REQUIRE_E2E=1)."""
    found = shutil.which(name)
    if found is None:
        skip_or_fail(f"{name} is not installed (Debian/Ubuntu: apt-get install binutils gcc); cannot check the build for AMX")
    return found


def disassemble(path: Path) -> str:
    """objdump's disassembly of every executable section."""
    done = subprocess.run([tool("objdump"), "-d", "--no-show-raw-insn", str(path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"objdump -d {path} failed: {done.stderr[:2000]}"
    return done.stdout


def amx_instructions(disassembly: str) -> list[str]:
    """The disassembled lines that use AMX."""
    return [line.strip() for line in disassembly.splitlines() if AMX.search(line)]


def shipped_binaries(binary: Path) -> list[Path]:
    """llama-server and the ggml libraries beside it (where ggml's CPU kernels live), each file once."""
    files = {binary.resolve(), *(p.resolve() for p in binary.parent.glob("libggml*.so*"))}
    return sorted(files)


def test_the_detector_sees_amx_as_objdump_prints_it(tmp_path: Path) -> None:
    """Positive control: AMX assembled by binutils and disassembled the same way is found, every line."""
    source, obj = tmp_path / "amx.s", tmp_path / "amx.o"
    source.write_text(AMX_SAMPLE)
    subprocess.run([tool("as"), str(source), "-o", str(obj)], check=True, capture_output=True)
    found = amx_instructions(disassemble(obj))
    assert len(found) == len(AMX_SAMPLE.splitlines()), found


def test_llama_server_and_its_libraries_hold_no_amx_instruction(llama_binary: Path) -> None:
    binaries = shipped_binaries(llama_binary)
    names = [p.name for p in binaries]
    assert llama_binary.resolve() in binaries and any(n.startswith("libggml-cpu.so") for n in names), names
    for path in binaries:
        disassembly = disassemble(path)
        assert len(INSTRUCTION.findall(disassembly)) > 100, f"{path.name}: objdump printed almost no code"
        found = amx_instructions(disassembly)
        assert not found, f"{path.name} holds {len(found)} AMX instructions, e.g. {found[:5]}: see NO_AMX_FLAGS"


def amx_macros(compiler: str, flags: list[str]) -> list[str]:
    """The __AMX_*__ macros `compiler` predefines with `flags`."""
    done = subprocess.run([compiler, *flags, "-dM", "-E", "-x", "c", "-"], input="", capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return sorted(re.findall(r"#define (__AMX_\w+__)", done.stdout))


def test_no_amx_flags_win_over_march_in_either_order() -> None:
    """As -march=native does on an AMX Xeon, -march=<AMX CPU> turns AMX on; NO_AMX_FLAGS turn it off, before or after."""
    compiler = tool("cc")
    known = [m for m in AMX_MARCHES if subprocess.run([compiler, f"-march={m}", "-E", "-x", "c", "-"], input=b"",
                                                      capture_output=True, check=False).returncode == 0]
    if not known:
        skip_or_fail(f"{compiler} knows none of -march={', '.join(AMX_MARCHES)}: too old to build ggml's AMX kernels at all")
    for march in known:
        assert "__AMX_TILE__" in amx_macros(compiler, [f"-march={march}"]), march
        assert amx_macros(compiler, [*NO_AMX_FLAGS, f"-march={march}"]) == [], march
        assert amx_macros(compiler, [f"-march={march}", *NO_AMX_FLAGS]) == [], march

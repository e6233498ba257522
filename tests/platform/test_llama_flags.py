"""llama-server b11434's flags, parsed from its --help: spellings, values, variables."""

from __future__ import annotations

from typing import Any

import pytest

from generator import llamaflags
from generator.llamaflags import Flag, parse_help
from generator.render import llama_args
from testkit.pins import pinned_build
from tests.plans import plan_for

SAMPLE = """\
----- common params -----

-h,    --help, --usage                  print usage and exit
-c,    --ctx-size N                     size of the prompt context (default: 0, 0 = loaded from model)
                                        (env: LLAMA_ARG_CTX_SIZE)
--perf, --no-perf                       whether to enable internal libllama performance timings (default:
                                        false)
                                        (env: LLAMA_ARG_PERF)
-ot,   --override-tensor <tensor name pattern>=<buffer type>,...
                                        override tensor buffer type
--control-vector-layer-range START END
                                        layer range to apply the control vector(s) to, start and end inclusive
-fa,   --flash-attn [on|off|auto]       set Flash Attention use ('on', 'off', or 'auto', default: 'auto')
"""


def test_parse_help() -> None:
    assert parse_help(SAMPLE) == (
        Flag(("-h", "--help", "--usage"), 0, "", "print usage and exit"),
        Flag(("-c", "--ctx-size"), 1, "LLAMA_ARG_CTX_SIZE",
             "size of the prompt context (default: 0, 0 = loaded from model) (env: LLAMA_ARG_CTX_SIZE)"),
        Flag(("--perf", "--no-perf"), 0, "LLAMA_ARG_PERF",
             "whether to enable internal libllama performance timings (default: false) (env: LLAMA_ARG_PERF)"),
        Flag(("-ot", "--override-tensor"), 1, "", "override tensor buffer type"),
        Flag(("--control-vector-layer-range",), 2, "",
             "layer range to apply the control vector(s) to, start and end inclusive"),
        Flag(("-fa", "--flash-attn"), 1, "", "set Flash Attention use ('on', 'off', or 'auto', default: 'auto')"),
    )


def test_the_committed_help_is_the_pinned_build() -> None:
    assert llamaflags.BUILD == pinned_build()
    known = llamaflags.known()
    assert len({id(flag) for flag in known.values()}) > 200
    assert all(s.startswith("-") and " " not in s for s in known)


VARIANTS: tuple[dict[str, Any], ...] = ({}, {"llama__swaFull": True}, {"llama__embeddings": False},
                                        {"llama__kvUnified": True})


def test_every_flag_we_render_is_one_the_build_knows() -> None:
    for changes in VARIANTS:
        args = llama_args(plan_for("prod", **changes))
        flags = [a for a in args if a.startswith("-") and not a.lstrip("-").isdigit()]
        assert [f for f in flags if f not in llamaflags.known()] == []


@pytest.mark.parametrize(("arg", "expected"), [
    ("--api_key", "--api-key"), ("--ctx-size", "--ctx-size"), ("-hf_repo", "-hf_repo"), ("--n_gpu_layers", "--n-gpu-layers"),
])
def test_underscores_in_long_flags_read_as_dashes(arg: str, expected: str) -> None:
    assert llamaflags.normalize(arg) == expected

"""`gemma-gitops hash-key`: the key from standard input only, the line to stdout, the key id to stderr."""

from __future__ import annotations

import hashlib

from click.testing import CliRunner

from generator import keys
from generator.cli import cli

KEY = "sk-gemma-test-0123456789abcdef"


def test_it_prints_a_line_that_accepts_the_key_and_the_key_id() -> None:
    result = CliRunner().invoke(cli, ["hash-key"], input=f"{KEY}\n")
    assert result.exit_code == 0, result.output
    line = result.stdout.strip()
    _, salt, digest = line.split(":")
    assert digest == hashlib.sha256(bytes.fromhex(salt) + KEY.encode()).hexdigest()
    assert result.stderr == f"key id: {keys.key_id(KEY)}\n"
    assert KEY not in result.stdout + result.stderr


def test_the_key_is_never_an_argument() -> None:
    result = CliRunner().invoke(cli, ["hash-key", KEY], input="")
    assert result.exit_code == 2
    assert "unexpected extra argument" in result.stderr.lower()


def test_a_short_key_exits_2_without_echoing_it() -> None:
    result = CliRunner().invoke(cli, ["hash-key"], input="sk-short-key-15\n")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == "error: not a usable key: a key has at least 16 characters (this one has 15)\n"


def test_more_than_one_key_exits_2() -> None:
    result = CliRunner().invoke(cli, ["hash-key"], input=f"{KEY}\n{KEY}x\n")
    assert result.exit_code == 2
    assert result.stderr == "error: expected one key on standard input, got 2 non-empty lines\n"

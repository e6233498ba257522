"""`hash-key`: the key-file line that accepts an API key without holding it (generator/keys.py)."""

from __future__ import annotations

import sys

import click

from .. import keys
from ..errors import GeneratorError


@click.command("hash-key")
def hash_key() -> None:
    """Read an API key from standard input; print the key-file line that accepts it without holding it.

    The line (`sha256:<salt>:<digest>`) goes to standard output, for the vault entry behind the key
    Secret; the key's identity in the proxy's access log goes to standard error. The key is read from
    standard input only, never from the command line (which other users and shell history can see).

    Exit codes: 0 printed; 2 not exactly one usable key on standard input.
    """
    lines = [line.strip() for line in sys.stdin.read().splitlines() if line.strip()]
    if len(lines) != 1:
        raise GeneratorError(f"expected one key on standard input, got {len(lines)} non-empty lines")
    try:
        line = keys.hash_line(lines[0], keys.new_salt())
    except keys.InvalidKey as err:
        raise GeneratorError(f"not a usable key: {err}") from err
    click.echo(line)
    click.echo(f"key id: {keys.key_id(lines[0])}", err=True)


COMMANDS = (hash_key,)

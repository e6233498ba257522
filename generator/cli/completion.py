"""`completion SHELL`: the shell script that completes commands, options and environment names.

Install it as `kubectl completion` and `helm completion` are installed (the README says how, per shell).
The script calls gemma-gitops back with `_GEMMA_GITOPS_COMPLETE` set; click answers from the command
tree, and environment names come from the project found from the shell's working directory.
"""

from __future__ import annotations

import click
from click.shell_completion import get_completion_class

SHELLS = ("bash", "zsh", "fish")
COMPLETE_VAR = "_GEMMA_GITOPS_COMPLETE"  # what click derives from the program name; named here for the tests


@click.command("completion")
@click.argument("shell", type=click.Choice(SHELLS))
@click.pass_context
def completion(ctx: click.Context, shell: str) -> None:
    """Print the completion script for SHELL.

    \b
    bash: echo 'eval "$(gemma-gitops completion bash)"' >> ~/.bashrc
    zsh:  echo 'eval "$(gemma-gitops completion zsh)"' >> ~/.zshrc
    fish: gemma-gitops completion fish > ~/.config/fish/completions/gemma-gitops.fish

    Exit codes: 0 printed; 2 an unknown shell.
    """
    group = ctx.find_root().command
    program = ctx.find_root().info_name or "gemma-gitops"
    script_class = get_completion_class(shell)
    if script_class is None:  # click knows every shell of SHELLS; this keeps the type checker informed
        raise click.BadParameter(f"no completion for {shell}")
    click.echo(script_class(group, {}, program, COMPLETE_VAR).source())


COMMANDS = (completion,)

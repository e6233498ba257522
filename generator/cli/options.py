"""What every command shares: the project the group found, environment arguments, overrides, and --output."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeVar

import click
from click.shell_completion import CompletionItem

from ..errors import GeneratorError
from ..project import ProjectError, find_root, pin_warning
from ..settings import LOCK_WAIT_SECONDS, SHARED_LAYER, VALUES_DIR, Override, Settings
from ..valuefiles import environment_names
from ..version import tool_version

F = TypeVar("F", bound=Callable[..., Any])

# The one output-format registry: every command with --output picks its formats from here.
FORMATS: dict[str, str] = {
    "text": "for a terminal",
    "json": "one JSON document, for scripts",
    "markdown": "for a pull-request comment or a GitHub job summary",
    "yaml": "a multi-document YAML stream, as the files are written",
}


@dataclass(frozen=True)
class Invocation:
    """What the group was given: `--root` (None: find the project from the working directory), `--lock-wait`,
    and the cache directory the environment names."""

    root: Path | None = None
    lock_wait_seconds: float = LOCK_WAIT_SECONDS
    cache_dir: Path | None = None  # where compiled templates are kept between runs


def project_root(invocation: Invocation, required: bool = True) -> Path:
    """`--root`, else the project found by walking up from the working directory (else, when not
    required, the working directory itself)."""
    if invocation.root is not None:
        return invocation.root.resolve()
    try:
        return find_root(Path.cwd())
    except ProjectError:
        if required:
            raise
        return Path.cwd().resolve()


def complete_envs(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The environments of the project, for shell completion (none where there is no project)."""
    given = ctx.find_root().params.get("root")
    try:
        root = project_root(Invocation(given))
        names = environment_names(Settings(root=root))
    except GeneratorError:
        return []
    return [CompletionItem(name) for name in names if name.startswith(incomplete)]


envs_argument = click.argument("envs", nargs=-1, shell_complete=complete_envs)
env_argument = click.argument("env", shell_complete=complete_envs)


def output_option(*formats: str) -> Callable[[F], F]:
    """`--output`/`-o` with the given formats of the registry; the first is the default."""
    unknown = set(formats) - set(FORMATS)
    if unknown:
        raise ValueError(f"no such output format: {', '.join(sorted(unknown))}")
    described = "; ".join(f"{name} {FORMATS[name]}" for name in formats)
    return click.option("--output", "-o", type=click.Choice(formats), default=formats[0], show_default=True,
                        help=f"Output format: {described}.")


def override_options(function: F) -> F:
    """`-f FILE` and `--set PATH=VALUE`: values layers above the environment's files."""
    function = click.option(
        "--set", "sets", multiple=True, metavar="PATH=VALUE",
        help=("Set one value, typed by the schema (llama.contextSize=8192, kubernetesVersions[1]=1.35,"
              " nodeSelector.kubernetes\\.io/arch=amd64); repeatable, applied in order above every -f."))(function)
    return click.option(
        "-f", "--values", "values_files", multiple=True, type=click.File("r", encoding="utf-8"), metavar="FILE",
        help="A values file layered above values/<env>.yaml; repeatable, later files win; '-' reads stdin.")(function)


def overrides_of(values_files: Iterable[IO[str]], sets: Iterable[str]) -> tuple[Override, ...]:
    """The command line's overrides in precedence order: the -f files as given, then the --set values."""
    files: list[Override] = []
    for handle in values_files:
        stdin = handle.name in ("-", "<stdin>")
        if stdin and any(o.source == "(stdin)" for o in files):
            raise GeneratorError("-f -: standard input can be read once; give it once")
        try:
            text = handle.read()
        except UnicodeDecodeError as err:
            raise GeneratorError(f"-f {handle.name}: not UTF-8 text ({err.reason} at byte {err.start})") from err
        files.append(Override("(stdin)" if stdin else handle.name, text, "file"))
    return (*files, *(Override(f"--set {s.partition('=')[0]}", s, "set") for s in sets))


def environment_arg(root: Path, arg: str) -> str:
    """An environment name, or a values file path given where one is expected (`values/staging.yaml`)."""
    if "/" not in arg and not arg.endswith((".yaml", ".yml")):
        return arg
    path = Path(arg).resolve()
    values_dir = (root / VALUES_DIR).resolve()
    if path.parent == values_dir and path.suffix == ".yaml" and path.name != SHARED_LAYER and path.is_file():
        return path.stem
    known = ", ".join(environment_names(Settings(root=root))) or "none yet"
    why = "is the layer under every environment" if path.name == SHARED_LAYER else "is not a values/<env>.yaml file"
    raise GeneratorError(f"{arg} {why} of the project at {root}: name an environment instead (environments: {known})")


def settings(ctx: click.Context, envs: tuple[str, ...] = (), overrides: tuple[Override, ...] = (),
             required: bool = True) -> Settings:
    """The project's settings for a command: its root, ENVS (each once, in the order given), overrides."""
    invocation = ctx.find_object(Invocation)
    if invocation is None:
        raise click.UsageError("run this command through the gemma-gitops command group")
    root = project_root(invocation, required)
    names = tuple(dict.fromkeys(environment_arg(root, env) for env in envs))
    warning = pin_warning(root, tool_version)
    if warning:
        warn(warning)
    return Settings(root=root, envs=names, overrides=overrides, lock_wait_seconds=invocation.lock_wait_seconds,
                    cache_dir=invocation.cache_dir)


def warn(line: str) -> None:
    """A warning goes to stderr."""
    click.echo(line, err=True)

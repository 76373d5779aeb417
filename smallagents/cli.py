"""The ``smallagents`` command.

Errors are one line on stderr that names the fix, with the exit code of their
class in :mod:`smallagents.errors` (2 usage, 3 model unavailable, 4 generation);
``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from smallagents import __version__
from smallagents.errors import SmallAgentsError

app = typer.Typer(
    name="smallagents",
    help="Small local language models that work together.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
_err = Console(stderr=True)
_state = {"debug": False}

DEMO_PROMPT = (
    "Invent one fictional person. Give their name, age, occupation and up to three hobbies."
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"smallagents {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Small local language models that work together."""
    _state["debug"] = debug


def _fail(error: SmallAgentsError) -> None:
    if _state["debug"]:
        raise error
    message = f"[bold red]error[/] [dim]({error.code})[/]: {error}"
    _err.print(message, soft_wrap=True, highlight=False)
    raise typer.Exit(error.exit_code)


@app.command()
def demo(
    model: Annotated[str, typer.Option(help="Model spec (see `smallagents models`).")] = "default",
    schema: Annotated[str, typer.Option(help="Name of a schema in schemas/.")] = "person",
    prompt: Annotated[str, typer.Option(help="What to ask for.")] = DEMO_PROMPT,
    seed: Annotated[int, typer.Option(help="Sampling seed.")] = 0,
    temperature: Annotated[float, typer.Option(help="Sampling temperature.")] = 0.7,
) -> None:
    """Generate one schema-valid JSON object on a small model and print it."""
    from smallagents.models import load_model

    try:
        loaded = load_model(model)
        generation = loaded.generate(
            prompt, schema=schema, temperature=temperature, seed=seed, max_tokens=200
        )
    except SmallAgentsError as error:
        _fail(error)
        return
    value = generation.value
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False))
    _err.print(
        f"[dim]{generation.model}: valid {schema} in {generation.attempts} attempt(s), "
        f"{generation.completion_tokens} tokens, {generation.seconds:.2f} s[/]",
        highlight=False,
    )


@app.command()
def models() -> None:
    """List the embedded models and whether their files are present."""
    from smallagents.models.embedded import EMBEDDED, embedded_path

    table = Table(title="Embedded models (work offline, no configuration)")
    for column in ("spec", "model", "present", "file"):
        table.add_column(column)
    seen: set[str] = set()
    for alias, info in EMBEDDED.items():
        if info.alias in seen:
            continue
        seen.add(info.alias)
        try:
            path, present = str(embedded_path(info.alias)), "yes"
        except SmallAgentsError as error:
            path, present = error.fix or str(error), "no"
        table.add_row(alias, info.description, present, path)
    Console().print(table)
    typer.echo(
        "Other specs: a path to a .gguf file, hf:OWNER/REPO/FILE.gguf, openai:BASE_URL#MODEL."
    )


def run() -> None:  # pragma: no cover - console entry point wrapper
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())

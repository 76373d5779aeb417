"""``smallagents run NAME --input FILE --output FILE``: the job command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from smallagents.cli._options import (
    Config,
    ExtraGraphs,
    ExtraRoles,
    Fallback,
    Models,
    Quiet,
    Report,
    Seed,
    Votes,
)
from smallagents.jobs.launch import launch_job


def run_command(
    name: Annotated[
        str, typer.Argument(help="A graph or role (see `smallagents graphs`, `roles`).")
    ],
    input: Annotated[
        str, typer.Option("--input", "-i", help="JSONL, JSON array, CSV, Parquet, or - for stdin.")
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output JSONL (or .parquet).")],
    rejects: Annotated[
        Path | None, typer.Option(help="Rejected records (default: OUTPUT.rejects.jsonl).")
    ] = None,
    state: Annotated[
        Path | None, typer.Option(help="Job state (default: OUTPUT.state.sqlite).")
    ] = None,
    samples_per_seed: Annotated[
        int | None, typer.Option(min=1, help="Samples per input record (default 1).")
    ] = None,
    limit: Annotated[
        int | None, typer.Option(min=1, help="Only the first N input records.")
    ] = None,
    prefix_cache_mb: Annotated[
        float | None,
        typer.Option(min=0, help="Prefix-cache memory per in-process model, MB (0: off)."),
    ] = None,
    model: Models = [],  # noqa: B006
    fallback: Fallback = None,
    votes: Votes = None,
    config: Config = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Records run concurrently (default: cores).")
    ] = None,
    seed: Seed = None,
    on_error: Annotated[str | None, typer.Option(help="skip or stop on a bad input line.")] = None,
    fresh: Annotated[
        bool, typer.Option(help="Start over, discarding the state and output.")
    ] = False,
    retry_failed: Annotated[
        bool,
        typer.Option(help="Run again the records rejected because a model was unreachable."),
    ] = False,
    quiet: Quiet = False,
    report: Report = None,
    report_html: Annotated[
        Path | None,
        typer.Option(help="Write the HTML report here (smallagents report; needs plotly)."),
    ] = None,
    set_: Annotated[
        list[str],
        typer.Option(
            "--set",
            help="A pipeline setting KEY=VALUE, e.g. reviewers=3; repeatable "
            "(see `smallagents graph show NAME`).",
        ),
    ] = [],  # noqa: B006
    roles: ExtraRoles = [],  # noqa: B006
    graphs: ExtraGraphs = [],  # noqa: B006
    allow_tool: Annotated[
        list[str],
        typer.Option(help="A tool marked requires_confirmation that may run; repeatable."),
    ] = [],  # noqa: B006
    mcp: Annotated[
        list[str],
        typer.Option(
            help='An MCP server whose tools the agent gets: NAME="COMMAND ARGS" (stdio) or '
            "NAME=URL (streamable HTTP); repeatable, over [mcp.servers.NAME]."
        ),
    ] = [],  # noqa: B006
    executor: Annotated[
        str, typer.Option(help="local (threads here) or ray (actors on a Ray cluster).")
    ] = "local",
    address: Annotated[
        str | None,
        typer.Option(help="Ray cluster HOST:PORT or auto (default: a private local Ray)."),
    ] = None,
) -> None:
    """Run a graph or role over a dataset; resumes exactly where a killed run stopped."""
    launch_job(
        name,
        input=input,
        output=output,
        rejects=rejects,
        state=state,
        samples_per_seed=samples_per_seed,
        limit=limit,
        prefix_cache_mb=prefix_cache_mb,
        model=model,
        fallback=fallback,
        votes=votes,
        config=config,
        workers=workers,
        seed=seed,
        on_error=on_error,
        fresh=fresh,
        retry_failed=retry_failed,
        quiet=quiet,
        report=report,
        report_html=report_html,
        set_=set_,
        roles=roles,
        graphs=graphs,
        allow_tool=allow_tool,
        mcp=mcp,
        executor=executor,
        address=address,
    )

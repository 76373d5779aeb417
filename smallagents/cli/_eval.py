"""The `smallagents eval` command: its options; the run itself is `evaluation/job.py`."""

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
from smallagents.evaluation.job import run_evaluation
from smallagents.evaluation.metrics import BUILTIN
from smallagents.evaluation.pipeline import EXPECTED_FIELD


def eval_command(
    name: Annotated[str, typer.Argument(help="A role, graph or pipeline (as for `run`).")],
    input: Annotated[
        Path, typer.Option("--input", "-i", help="Labeled records: JSONL or a JSON array.")
    ],
    metric: Annotated[
        str, typer.Option(help=f"{', '.join(BUILTIN)}, or module:function.")
    ] = "exact",
    field: Annotated[
        list[str], typer.Option(help="Answer field the metric looks at; repeatable.")
    ] = [],  # noqa: B006
    tolerance: Annotated[float, typer.Option(help="Absolute tolerance of numeric.")] = 1e-6,
    score_field: Annotated[
        str | None, typer.Option(help="Numeric answer field ranked by AUROC (judges).")
    ] = None,
    expected_field: Annotated[
        str, typer.Option(help="The labeled records' expected-answer field.")
    ] = EXPECTED_FIELD,
    split: Annotated[
        list[str], typer.Option(help="Only records of this split (e.g. test); repeatable.")
    ] = [],  # noqa: B006
    output: Annotated[
        Path | None,
        typer.Option(help="Scored answers (default: NAME.eval.jsonl in this folder)."),
    ] = None,
    report: Report = None,
    large: Annotated[
        str | None,
        typer.Option(help="Also answer every record with this model, for routing curves."),
    ] = None,
    target: Annotated[
        float | None,
        typer.Option(help="Accuracy a routing threshold must reach (default: --large's)."),
    ] = None,
    model: Models = [],  # noqa: B006
    fallback: Fallback = None,
    votes: Votes = None,
    config: Config = None,
    workers: Annotated[int | None, typer.Option(min=1, help="Records run concurrently.")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N records.")] = None,
    seed: Seed = None,
    fresh: Annotated[bool, typer.Option(help="Start over, discarding earlier answers.")] = False,
    quiet: Quiet = False,
    roles: ExtraRoles = [],  # noqa: B006
    graphs: ExtraGraphs = [],  # noqa: B006
    executor: Annotated[str, typer.Option(help="local or ray.")] = "local",
    address: Annotated[str | None, typer.Option(help="Ray cluster HOST:PORT.")] = None,
) -> None:
    """Score a role or pipeline on labeled records: accuracy with a 95% interval and more."""
    run_evaluation(
        name,
        input=input,
        metric=metric,
        field=field,
        tolerance=tolerance,
        score_field=score_field,
        expected_field=expected_field,
        split=split,
        output=output,
        report=report,
        large=large,
        target=target,
        model=model,
        fallback=fallback,
        votes=votes,
        config=config,
        workers=workers,
        limit=limit,
        seed=seed,
        fresh=fresh,
        quiet=quiet,
        roles=roles,
        graphs=graphs,
        executor=executor,
        address=address,
    )

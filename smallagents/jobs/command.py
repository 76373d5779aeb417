"""``smallagents run NAME --input FILE --output FILE``: the job command."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from smallagents.errors import UsageError
from smallagents.jobs.config import JobConfig, load_config
from smallagents.jobs.executors import Executor
from smallagents.jobs.pipelines import GraphPipeline, Pipeline, RolePipeline
from smallagents.jobs.progress import choose_view
from smallagents.jobs.runner import JobOptions, dumps, run_job
from smallagents.jobs.state import replaced_whole
from smallagents.run import RoleSettings
from smallagents.tools import TOOL_NAME


def find_pipeline(name: str, roles: list[str], graphs: list[str]) -> Pipeline:
    """A pipeline by name: an explicit pipeline object, a graph, then a role."""
    from smallagents import registry

    found = registry.find_pipeline(name, roles=roles, graphs=graphs)
    if found is not None:  # a pipeline object that a content file exposes
        return found
    known_graphs = {**registry.builtin_graphs(), **registry.load_graphs(*graphs)}
    if name in known_graphs:
        return GraphPipeline(known_graphs[name])
    return RolePipeline(registry.find_role(name, *roles))


def _parse_models(pairs: list[str]) -> dict[str, RoleSettings]:
    settings: dict[str, RoleSettings] = {}
    for pair in pairs:
        role, sep, spec = pair.partition("=")
        if not sep or not role or not spec:
            raise UsageError(
                f"--model {pair!r} is not ROLE=SPEC.", fix="write e.g. --model reviewer=gemma-270m."
            )
        settings[role] = RoleSettings(model=spec)
    return settings


def _tool_names(names: list[str]) -> list[str]:
    # By name, one at a time: no wildcard, so a tool added to a graph later is not
    # approved by a command line written before it existed.
    for name in names:
        if not TOOL_NAME.match(name):
            raise UsageError(
                f"--allow-tool {name!r} is not a tool name.",
                fix="name one tool per --allow-tool, e.g. --allow-tool write_file.",
            )
    return sorted(set(names))


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
    samples_per_seed: Annotated[int, typer.Option(min=1, help="Samples per input record.")] = 1,
    limit: Annotated[
        int | None, typer.Option(min=1, help="Only the first N input records.")
    ] = None,
    model: Annotated[list[str], typer.Option(help="ROLE=SPEC, repeatable.")] = [],  # noqa: B006
    fallback: Annotated[str | None, typer.Option(help="Escalation model for every role.")] = None,
    votes: Annotated[
        int | None, typer.Option(min=1, help="k of first-to-ahead-by-k for every role.")
    ] = None,
    config: Annotated[Path | None, typer.Option(help="smallagents.toml.")] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Records run concurrently (default: cores).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Job seed (default 0).")] = None,
    on_error: Annotated[str | None, typer.Option(help="skip or stop on a bad input line.")] = None,
    fresh: Annotated[
        bool, typer.Option(help="Start over, discarding the state and output.")
    ] = False,
    quiet: Annotated[bool, typer.Option(help="No progress display.")] = False,
    report: Annotated[Path | None, typer.Option(help="Write the JSON report here.")] = None,
    roles: Annotated[list[str], typer.Option(help="Extra roles: module, file or folder.")] = [],  # noqa: B006
    graphs: Annotated[list[str], typer.Option(help="Extra graphs: module, file or folder.")] = [],  # noqa: B006
    allow_tool: Annotated[
        list[str],
        typer.Option(help="A tool marked requires_confirmation that may run; repeatable."),
    ] = [],  # noqa: B006
    executor: Annotated[
        str, typer.Option(help="local (threads here) or ray (actors on a Ray cluster).")
    ] = "local",
    address: Annotated[
        str | None,
        typer.Option(help="Ray cluster HOST:PORT or auto (default: a private local Ray)."),
    ] = None,
) -> dict[str, Any]:
    """Run a graph or role over a dataset; resumes exactly where a killed run stopped."""
    job_config: JobConfig = load_config(config)
    run_settings = job_config.run
    chosen_error = on_error or run_settings.get("on_error", "stop")
    if chosen_error not in ("skip", "stop"):
        raise UsageError(
            f"--on-error {chosen_error!r} is not skip or stop.", fix="pass --on-error skip or stop."
        )
    pipeline = find_pipeline(name, roles, graphs)
    asked_workers = workers or run_settings.get("workers")  # None: the executor decides
    chosen_executor = _choose_executor(
        executor, address, name, roles, graphs, int(asked_workers) if asked_workers else None
    )
    per_role = {**job_config.roles, **_parse_models(model)}
    defaults = RoleSettings(
        model=job_config.defaults.model,
        fallback=fallback or job_config.defaults.fallback,
        votes=votes or job_config.defaults.votes,
    )
    settings = {
        "roles": {name: vars(s) for name, s in sorted(per_role.items())},
        "defaults": vars(defaults),
        "aliases": job_config.aliases,
    }
    options = JobOptions(
        input=input,
        output=output,
        rejects=rejects,
        state=state,
        samples_per_seed=samples_per_seed or int(run_settings.get("samples_per_seed", 1)),
        limit=limit,
        seed=seed if seed is not None else int(run_settings.get("seed", 0)),
        workers=int(asked_workers or os.cpu_count() or 1),
        on_error=chosen_error,  # type: ignore[arg-type]
        fresh=fresh,
        settings=settings,
        allowed_tools=tuple(_tool_names(allow_tool)),
    )
    result = run_job(
        pipeline,
        options,
        executor=chosen_executor,
        endpoints=job_config.endpoints,
        view=choose_view(quiet),
        budget=job_config.budget,
        settings=per_role,
        defaults=defaults,
        aliases=job_config.aliases,
    )
    if report is not None:
        _write_report(report, dumps(result) + "\n")
    if not quiet:
        _print_summary(result)
    return result


def _write_report(path: Path, text: str) -> None:
    """Write the report whole or not at all (the job itself is already committed)."""
    try:
        with replaced_whole(path) as partial:
            partial.write_text(text, encoding="utf-8")
    except OSError as error:
        raise UsageError(
            f"Cannot write the report {path}: {error.strerror}.",
            fix="free disk space or choose another --report path, and rerun the same "
            "command: the finished job only writes its report again.",
        ) from None


def _choose_executor(
    kind: str,
    address: str | None,
    name: str,
    roles: list[str],
    graphs: list[str],
    workers: int | None,
) -> Executor | None:
    if kind == "local":
        if address is not None:
            raise UsageError("--address is for --executor ray.", fix="add --executor ray.")
        return None  # the runner's default: options.workers threads
    if kind != "ray":
        raise UsageError(f"--executor {kind!r} is not local or ray.", fix="pass local or ray.")
    from smallagents.jobs.ray_executor import RayExecutor

    # Actors rebuild the pipeline themselves, in another working directory.
    factory = functools.partial(
        find_pipeline, name, [_absolute(r) for r in roles], [_absolute(g) for g in graphs]
    )
    return RayExecutor(factory, address=address, actors=workers)


def _absolute(source: str) -> str:
    """A roles/graphs source as actors can find it: files by absolute path, modules by name."""
    path = Path(source)
    return str(path.resolve()) if path.exists() else source


def _print_summary(result: dict[str, Any]) -> None:
    console = Console(stderr=True)
    rates = result["rates"]
    table = Table(
        title=f"{result['pipeline']}: {result['units']['done']}/{result['units']['total']} units"
    )
    table.add_column("figure")
    table.add_column("value", justify="right")
    rows = [
        ("accepted", result["records"]["accepted"]),
        ("rejected", result["records"]["rejected"]),
        ("acceptance rate", rates["acceptance"]),
        ("adjudication rate", rates.get("adjudication")),
        ("duplicates removed", rates.get("duplicates_removed")),
        ("escalation rate", rates["escalation"]),
        ("schema validity", rates["schema_validity"]),
        ("completion tokens", result["tokens"]["completion"]),
        ("seconds (this run)", result["seconds"]["this_run"]),
        ("cost per accepted record", result["cost"]["per_accepted_record"]),
        ("skipped input lines", len(result["skipped_lines"])),
    ]
    tools = result.get("tool_calls", {})
    if tools.get("total"):  # only jobs whose graphs run tools
        rows += [("tool calls", tools["total"]), ("tool calls failed", tools["failed"])]
    if tools.get("needs_confirmation"):  # the calls --allow-tool would have run
        rows.append(("tool calls refused (needs confirmation)", tools["needs_confirmation"]))
    for label, value in rows:
        shown = "-" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)
        table.add_row(label, shown)
    for role, figures in result["roles"].items():
        p50 = figures["p50_seconds"]
        table.add_row(f"{role} p50 s", "-" if p50 is None else f"{p50:.3f}")
    console.print(table)

"""``smallagents run NAME --input FILE --output FILE``: the job command."""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from smallagents.errors import UsageError, redact
from smallagents.evaluation.pipeline import EvalPipeline, EvalSpec
from smallagents.jobs.config import RUN_DEFAULTS, JobConfig, RunSettings, load_config
from smallagents.jobs.executors import Executor
from smallagents.jobs.pipelines import (
    MODEL_UNREACHABLE,
    GraphPipeline,
    Pipeline,
    RolePipeline,
)
from smallagents.jobs.progress import choose_view
from smallagents.jobs.runner import (
    JobOptions,
    all_unreachable,
    dumps,
    run_job,
    unreachable_error,
)
from smallagents.jobs.state import write_text_whole
from smallagents.run import RoleSettings
from smallagents.tools import TOOL_NAME, close_job_servers, server_configs, use_servers


@dataclass(frozen=True)
class PipelineSettings:
    """A pipeline's own settings: its ``[pipelines.NAME]`` table and ``--set KEY=VALUE``.

    A pipeline that has settings (gra's reviewers and thresholds) has a
    ``configure(file, command_line, *, where)`` method that checks them and returns
    the pipeline they describe; its ``settings`` are part of the job's fingerprint.
    """

    file: Mapping[str, Any] = field(default_factory=dict)
    command_line: Mapping[str, str] = field(default_factory=dict)
    where: str = "smallagents.toml"

    def apply(self, pipeline: Pipeline) -> Pipeline:
        configure = getattr(pipeline, "configure", None)
        if configure is not None:
            return configure(dict(self.file), dict(self.command_line), where=self.where)  # type: ignore[no-any-return]
        if self.file or self.command_line:
            given = "--set" if self.command_line else f"[pipelines.{pipeline.name}]"
            raise UsageError(
                f"{given} is given, but {pipeline.name} has no pipeline settings.",
                fix=f"drop --set and [pipelines.{pipeline.name}] (its roles take --model, "
                "--votes, --fallback).",
            )
        return pipeline


def parse_sets(pairs: list[str]) -> dict[str, str]:
    """``--set KEY=VALUE`` options as a mapping (the pipeline parses the values)."""
    values: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(
                f"--set {pair!r} is not KEY=VALUE.", fix="write e.g. --set reviewers=3."
            )
        values[key.strip()] = value.strip()
    return values


def find_pipeline(
    name: str,
    roles: list[str],
    graphs: list[str],
    evaluation: EvalSpec | None = None,
    pipeline_settings: PipelineSettings | None = None,
) -> Pipeline:
    """A pipeline by name: an explicit pipeline object, a graph, then a role.

    With ``evaluation`` (``smallagents eval``) it is scored against each labeled
    record's expected answer; ``pipeline_settings`` configure it first.
    """
    from smallagents import registry

    found: Pipeline | None = registry.find_pipeline(name, roles=roles, graphs=graphs)
    if found is None:  # not a pipeline object that a content file exposes
        known_graphs = {**registry.builtin_graphs(), **registry.load_graphs(*graphs)}
        if name in known_graphs:
            found = GraphPipeline(known_graphs[name])
        else:
            found = RolePipeline(registry.find_role(name, *roles))
    if pipeline_settings is not None:
        found = pipeline_settings.apply(found)
    return found if evaluation is None else EvalPipeline(found, evaluation)


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
    samples_per_seed: Annotated[
        int | None, typer.Option(min=1, help="Samples per input record (default 1).")
    ] = None,
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
    retry_failed: Annotated[
        bool,
        typer.Option(help="Run again the records rejected because a model was unreachable."),
    ] = False,
    quiet: Annotated[bool, typer.Option(help="No progress display.")] = False,
    report: Annotated[Path | None, typer.Option(help="Write the JSON report here.")] = None,
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
    roles: Annotated[list[str], typer.Option(help="Extra roles: module, file or folder.")] = [],  # noqa: B006
    graphs: Annotated[list[str], typer.Option(help="Extra graphs: module, file or folder.")] = [],  # noqa: B006
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
    evaluation: EvalSpec | None = None,
) -> dict[str, Any]:
    """Run a graph or role over a dataset; resumes exactly where a killed run stopped."""
    job_config: JobConfig = load_config(config)
    given = RunSettings(
        fallback=fallback,
        votes=votes,
        workers=workers,
        seed=seed,
        samples_per_seed=samples_per_seed,
        on_error=on_error,
    )
    # The one merge: an option given here, else the file's [run], else the default.
    chosen = given.over(job_config.run).over(RUN_DEFAULTS)
    if chosen.on_error not in ("skip", "stop"):
        raise UsageError(
            f"--on-error {chosen.on_error!r} is not skip or stop.",
            fix="pass --on-error skip or stop.",
        )
    pipeline_settings = PipelineSettings(
        job_config.pipelines.get(name, {}), parse_sets(set_), str(config or "smallagents.toml")
    )
    pipeline = find_pipeline(name, roles, graphs, evaluation, pipeline_settings)
    if report_html is not None:  # the page needs plotly: say so before any work
        from smallagents.jobs.html_report import require_plotly

        require_plotly()
    cli_models = _parse_models(model)
    _check_role_names(pipeline, cli_models)
    chosen_executor = _choose_executor(
        executor, address, name, roles, graphs, chosen.workers, evaluation, pipeline_settings
    )
    per_role = {**job_config.roles, **cli_models}
    defaults = RoleSettings(model=chosen.model, fallback=chosen.fallback, votes=chosen.votes)
    settings = {
        "roles": {name: vars(s) for name, s in sorted(per_role.items())},
        "defaults": vars(defaults),
        "aliases": job_config.aliases,
        "run": chosen.fingerprinted(),
        "escalation": vars(job_config.budget),
    }
    servers = server_configs({c.name: c for c in job_config.mcp_servers}, mcp)
    if servers:  # which tools a job could call is part of what it is
        settings["mcp"] = {c.name: c.describe() for c in servers}
    options = JobOptions(
        input=input,
        output=output,
        rejects=rejects,
        state=state,
        samples_per_seed=int(chosen.samples_per_seed or 1),
        limit=limit,
        seed=int(chosen.seed or 0),
        workers=int(chosen.workers or os.cpu_count() or 1),
        on_error=chosen.on_error,  # type: ignore[arg-type]
        fresh=fresh,
        settings=settings,
        allowed_tools=tuple(_tool_names(allow_tool)),
        retry_failed=retry_failed,
    )
    reads = {"--config": config} if config is not None else {}
    for source in [*roles, *graphs]:
        if Path(source).is_file():
            reads[f"the --roles/--graphs file {source}"] = Path(source)
    use_servers(servers)  # started by the first unit that needs them, stopped below
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
        reads=reads,
        writes={
            label: path
            for label, path in (("--report", report), ("--report-html", report_html))
            if path is not None
        },
    )
    close_job_servers()
    if report is not None:
        _write_report(report, redact(dumps(result)) + "\n")
    if report_html is not None:
        from smallagents.jobs.html_report import write_html_report

        write_html_report(options.output, report_html, rejects=rejects, state=state)
    if not quiet:
        _print_summary(result)
    if all_unreachable(result):
        raise unreachable_error(result)
    return result


def pipeline_role_names(pipeline: Any) -> set[str] | None:
    """The names of the roles a pipeline runs, where it says (``None``: it does not)."""
    named = getattr(pipeline, "role_names", None)
    if callable(named):
        return set(named())
    role = getattr(pipeline, "role", None)
    if role is not None and hasattr(role, "spec"):
        return {role.name}
    graph = getattr(pipeline, "graph", None)
    found = getattr(graph, "roles", None)
    if isinstance(found, dict) and found:
        return {item.name for item in found.values()}
    inner = getattr(pipeline, "inner", None)  # a wrapper (testing.WithModels, evaluation)
    return pipeline_role_names(inner) if inner is not None else None


def _check_role_names(pipeline: Pipeline, models: dict[str, RoleSettings]) -> None:
    """A --model for a role the pipeline does not run would be silently ignored: refuse it."""
    known = pipeline_role_names(pipeline)
    if known is None:
        return
    unknown = sorted(set(models) - known)
    if unknown:
        raise UsageError(
            f"--model {unknown[0]}=... names no role of {pipeline.name} "
            f"(its roles: {', '.join(sorted(known))}).",
            fix=f"write --model ROLE=SPEC with one of {', '.join(sorted(known))}.",
        )


# `evaluation` is how `smallagents eval` runs its job; it is no option of `run`.
run_command.__signature__ = inspect.signature(run_command, eval_str=True).replace(  # type: ignore[attr-defined]
    parameters=[
        parameter
        for parameter in inspect.signature(run_command, eval_str=True).parameters.values()
        if parameter.name != "evaluation"
    ]
)


def _write_report(path: Path, text: str) -> None:
    """Write the report whole or not at all (the job itself is already committed)."""
    write_text_whole(
        path,
        text,
        what="the report",
        fix="free disk space or choose another --report path, and rerun the same "
        "command: the finished job only writes its report again.",
    )


def _choose_executor(
    kind: str,
    address: str | None,
    name: str,
    roles: list[str],
    graphs: list[str],
    workers: int | None,
    evaluation: EvalSpec | None = None,
    pipeline_settings: PipelineSettings | None = None,
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
        find_pipeline,
        name,
        [_absolute(r) for r in roles],
        [_absolute(g) for g in graphs],
        evaluation,
        pipeline_settings,
    )
    return RayExecutor(factory, address=address, actors=workers)


def _absolute(source: str) -> str:
    """A roles/graphs source as actors can find it: files by absolute path, modules by name."""
    path = Path(source)
    return str(path.resolve()) if path.exists() else source


def _print_summary(result: dict[str, Any]) -> None:
    console = Console(stderr=True)
    rates = result["rates"]
    # Names come from users' files: printed as text, never read as rich markup.
    table = Table(
        title=Text(
            f"{result['pipeline']}: {result['units']['done']}/{result['units']['total']} units"
        )
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
    unreachable = result.get("counters", {}).get(MODEL_UNREACHABLE)
    if unreachable:  # what --retry-failed would run again
        rows.append(("rejected: model unreachable (--retry-failed)", unreachable))
    for label, value in rows:
        shown = "-" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)
        table.add_row(label, shown)
    for role, figures in result["roles"].items():
        p50 = figures["p50_seconds"]
        table.add_row(Text(f"{role} p50 s"), "-" if p50 is None else f"{p50:.3f}")
    console.print(table)

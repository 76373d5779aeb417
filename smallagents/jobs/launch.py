"""A job by name, as ``smallagents run`` starts it: options merged, pipeline found, run.

`launch_job` is the command's Python side (``smallagents eval`` and tests call it
too): it merges the command line's options over ``smallagents.toml`` and the
defaults (`smallagents.jobs.settings.merge`), finds and configures the pipeline,
chooses the executor, runs the job and writes the reports.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from smallagents import registry
from smallagents.errors import UsageError, redact
from smallagents.jobs.config import JobConfig, load_config
from smallagents.jobs.executors import Executor
from smallagents.jobs.html_report import require_plotly, write_html_report
from smallagents.jobs.pipelines import (
    MODEL_UNREACHABLE,
    GraphPipeline,
    Pipeline,
    PipelineSettings,
    RolePipeline,
    takes_settings,
)
from smallagents.jobs.progress import choose_view
from smallagents.jobs.ray_executor import RayExecutor
from smallagents.jobs.runner import all_unreachable, dumps, run_job, unreachable_error
from smallagents.jobs.settings import JobOptions, merge
from smallagents.jobs.state import write_text_whole
from smallagents.run import RoleSettings
from smallagents.tools import TOOL_NAME, close_job_servers, server_configs, use_servers

PipelineWrapper = Callable[[Pipeline], Pipeline]
"""What a caller wraps the found pipeline in (``smallagents eval``: the scoring
pipeline); picklable, since Ray actors wrap their own pipeline with it too."""


def parse_sets(pairs: list[str]) -> dict[str, str]:
    """``--set KEY=VALUE`` options as a mapping (the pipeline parses the values).

    Raises:
        UsageError: a pair that is not KEY=VALUE.
    """
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
    pipeline_settings: PipelineSettings | None = None,
    wrap: PipelineWrapper | None = None,
) -> Pipeline:
    """A pipeline by name: an explicit pipeline (or factory) object, a graph, then a role.

    ``pipeline_settings`` configure it (see `PipelineSettings.apply`); ``wrap``
    (``smallagents eval``'s scoring) is applied last.

    Raises:
        ContentError: no pipeline, graph or role has that name.
        UsageError: settings for a pipeline that takes none, or that it refuses.
    """
    found = registry.find_pipeline(name, roles=roles, graphs=graphs)
    pipeline: Pipeline
    if found is not None:
        pipeline = (pipeline_settings or PipelineSettings()).apply(found)
    else:  # not a pipeline object that a content file exposes
        known_graphs = {**registry.builtin_graphs(), **registry.load_graphs(*graphs)}
        if name in known_graphs:
            pipeline = GraphPipeline(known_graphs[name])
        else:
            pipeline = RolePipeline(registry.find_role(name, *roles))
        if pipeline_settings is not None:
            pipeline = pipeline_settings.apply(pipeline)
    return pipeline if wrap is None else wrap(pipeline)


def parse_models(pairs: list[str]) -> dict[str, RoleSettings]:
    """``--model ROLE=SPEC`` options as per-role settings.

    Raises:
        UsageError: a pair that is not ROLE=SPEC.
    """
    settings: dict[str, RoleSettings] = {}
    for pair in pairs:
        role, sep, spec = pair.partition("=")
        if not sep or not role or not spec:
            raise UsageError(
                f"--model {pair!r} is not ROLE=SPEC.", fix="write e.g. --model reviewer=gemma-270m."
            )
        settings[role] = RoleSettings(model=spec)
    return settings


def tool_names(names: list[str]) -> tuple[str, ...]:
    """``--allow-tool`` names, checked and sorted.

    Raises:
        UsageError: a name that is no tool name (a wildcard, say).
    """
    # By name, one at a time: no wildcard, so a tool added to a graph later is not
    # approved by a command line written before it existed.
    for name in names:
        if not TOOL_NAME.match(name):
            raise UsageError(
                f"--allow-tool {name!r} is not a tool name.",
                fix="name one tool per --allow-tool, e.g. --allow-tool write_file.",
            )
    return tuple(sorted(set(names)))


def launch_job(
    name: str,
    *,
    input: str,
    output: Path,
    rejects: Path | None = None,
    state: Path | None = None,
    samples_per_seed: int | None = None,
    limit: int | None = None,
    prefix_cache_mb: float | None = None,
    model: list[str] | None = None,
    fallback: str | None = None,
    votes: int | None = None,
    config: Path | None = None,
    workers: int | None = None,
    seed: int | None = None,
    on_error: str | None = None,
    fresh: bool = False,
    retry_failed: bool = False,
    quiet: bool = False,
    report: Path | None = None,
    report_html: Path | None = None,
    set_: list[str] | None = None,
    roles: list[str] | None = None,
    graphs: list[str] | None = None,
    allow_tool: list[str] | None = None,
    mcp: list[str] | None = None,
    executor: str = "local",
    address: str | None = None,
    wrap: PipelineWrapper | None = None,
) -> dict[str, Any]:
    """Run a graph or role over a dataset, as ``smallagents run`` does; return the report.

    The arguments are the command's options (``set_`` is ``--set``); ``wrap`` wraps
    the pipeline (``smallagents eval``). Prints the progress and a summary unless
    ``quiet``.

    Raises:
        SmallAgentsError: the command's one-line errors (usage, config, input, state,
            and a model that could not be reached for any record).
    """
    roles, graphs = list(roles or ()), list(graphs or ())
    if on_error is not None and on_error not in ("skip", "stop"):
        raise UsageError(
            f"--on-error {on_error!r} is not skip or stop.", fix="pass --on-error skip or stop."
        )
    job_config: JobConfig = load_config(config)
    pipeline_settings = PipelineSettings(
        job_config.pipelines.get(name, {}),
        parse_sets(list(set_ or ())),
        str(config or "smallagents.toml"),
    )
    pipeline = find_pipeline(name, roles, graphs, pipeline_settings)
    if report_html is not None:  # the page needs plotly: say so before any work
        require_plotly()
    cli_models = parse_models(list(model or ()))
    _check_role_names(pipeline, cli_models)
    given = JobOptions(
        input=input,
        output=output,
        rejects=rejects,
        state=state,
        samples_per_seed=samples_per_seed,
        limit=limit,
        prefix_cache_mb=prefix_cache_mb,
        seed=seed,
        workers=workers,
        on_error=on_error,  # type: ignore[arg-type]  # checked above
        fresh=fresh,
        retry_failed=retry_failed,
        fallback=fallback,
        votes=votes,
        roles=cli_models,
        allowed_tools=tool_names(list(allow_tool or ())),
    ).over(job_config.options())
    # The executor is chosen from what was given: ``workers`` not given means one
    # Ray actor per cluster CPU, or (below) one local thread per core.
    chosen_executor = _choose_executor(
        executor, address, name, roles, graphs, given.workers, pipeline, wrap
    )
    servers = server_configs({c.name: c for c in job_config.mcp_servers}, list(mcp or ()))
    # The one merge: an option given here, else the file's, else the default.
    options = merge(
        JobOptions(mcp={c.name: c.describe() for c in servers}),
        given,
        JobOptions(workers=os.cpu_count() or 1),
    )
    if wrap is not None:
        pipeline = wrap(pipeline)
    reads = {"--config": config} if config is not None else {}
    for source in [*roles, *graphs]:
        if Path(source).is_file():
            reads[f"the --roles/--graphs file {source}"] = Path(source)
    use_servers(servers)  # started by the first unit that needs them, stopped below
    result = run_job(
        pipeline,
        options,
        executor=chosen_executor,
        view=choose_view(quiet),
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
        write_html_report(output, report_html, rejects=rejects, state=state)
    if not quiet:
        print_summary(result)
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
    pipeline: Pipeline,
    wrap: PipelineWrapper | None,
) -> Executor | None:
    if kind == "local":
        if address is not None:
            raise UsageError("--address is for --executor ray.", fix="add --executor ray.")
        return None  # the runner's default: options.workers threads
    if kind != "ray":
        raise UsageError(f"--executor {kind!r} is not local or ray.", fix="pass local or ray.")
    # Actors rebuild the pipeline themselves, in another working directory; one that
    # takes settings gets those this process resolved, as its command-line layer,
    # so no environment of theirs decides them.
    rebuild: PipelineSettings | None = None
    if takes_settings(registry.find_pipeline(name, roles=roles, graphs=graphs)):
        resolved = dict(getattr(pipeline, "settings", None) or {})
        rebuild = PipelineSettings({}, resolved, "the job's resolved settings")
    factory = functools.partial(
        find_pipeline,
        name,
        [_absolute(r) for r in roles],
        [_absolute(g) for g in graphs],
        rebuild,
        wrap,
    )
    return RayExecutor(factory, address=address, actors=workers)


def _absolute(source: str) -> str:
    """A roles/graphs source as actors can find it: files by absolute path, modules by name."""
    path = Path(source)
    return str(path.resolve()) if path.exists() else source


def print_summary(result: dict[str, Any]) -> None:
    """The job's figures as a table on stderr."""
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

"""Running a job: input records in, exactly-once output out, resumable at any point.

Units (one input record, one sample) run on an executor
(`smallagents.jobs.executors`: ``workers`` threads here, each with its own model
instances, or Ray actors). The input is read twice: once to check it and count the
units (`smallagents.jobs.plan`), then as the executor takes them. Results are
written by the calling thread alone, in input order, through
`smallagents.jobs.state`. Before anything is written the job's files are checked
(`smallagents.jobs.files`) and locked for the whole run, and a resume is refused
when anything that decides the records changed (`smallagents.jobs.plan.fingerprint`).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from smallagents.errors import ModelUnavailableError, redact
from smallagents.jobs.executors import Executor, LocalExecutor, RunConfig, Unit
from smallagents.jobs.files import (
    check_distinct_files,
    check_output_path,
    job_files,
    refuse_foreign_output,
)
from smallagents.jobs.inputs import SkippedLines
from smallagents.jobs.parquet import require_pyarrow, write_parquet
from smallagents.jobs.pipelines import MODEL_UNREACHABLE, Pipeline, UnitResult
from smallagents.jobs.plan import JobInput, fingerprint, plan_units, run_config
from smallagents.jobs.progress import Counters, ProgressView, QuietView
from smallagents.jobs.provenance import NOTE_KEY, describe_run
from smallagents.jobs.report import build_report
from smallagents.jobs.settings import JobOptions, described_options, merge, required
from smallagents.jobs.state import AppendOnlyJsonl, JobLock, JobState
from smallagents.voting import canonical_key


def run_job(
    pipeline: Pipeline,
    options: JobOptions,
    *,
    view: ProgressView | None = None,
    executor: Executor | None = None,
    reads: Mapping[str, Path] | None = None,
    writes: Mapping[str, Path] | None = None,
) -> dict[str, Any]:
    """Run (or resume) a job and return its report.

    ``options`` is the job, whole (merged over `smallagents.jobs.settings.DEFAULTS`
    here): its files, its run (escalation cap, per-role overrides, model aliases,
    allowed tools) and how ``openai:`` models are called (``endpoints``; not part
    of the fingerprint: a job may be resumed with more patience). ``executor``
    decides where units run: by default ``options.workers`` threads here
    (`smallagents.jobs.executors.LocalExecutor`); a
    `smallagents.jobs.ray_executor.RayExecutor` runs them on a Ray cluster.
    ``reads`` and ``writes`` name other files the job reads (a config, roles files)
    or writes (a report), by option, for the check that no two are the same file;
    a pipeline's own ``reads`` attribute (gra's ``avoid`` files) is added to them.

    Raises:
        InputError: bad input with ``on_error="stop"``.
        StateError: a state of another configuration, an output that is not this
            job's, another job on the same files, or a write that failed.
        UsageError: two of the job's files are one, or no input or output is given.
    """
    view = view or QuietView()
    options = merge(options)
    check_output_path(options.output_path)
    written = {**job_files(options), **(writes or {})}
    read = {**(getattr(pipeline, "reads", None) or {}), **(reads or {})}
    if options.input_source != "-":
        read = {"--input": Path(options.input_source), **read}
    check_distinct_files(written, read)
    config = run_config(options)
    # First pass over the input: check every record before any work, count the
    # units and keep their ids (not their data: a file is read again to run them),
    # and hash the records for the fingerprint.
    skipped = SkippedLines()
    source = JobInput(options)
    needed = pipeline.required_fields()
    seeds = getattr(pipeline, "seeds", None)
    seed_records: dict[int, dict[str, Any]] = {}
    planned: set[str] = set()
    digest = hashlib.sha256()
    for unit in plan_units(
        options, skipped, needed, source=source, pipeline_name=pipeline.name, digest=digest
    ):
        planned.add(unit.id)
        if seeds is not None:  # every input record once, for filters that compare with them
            seed_records.setdefault(unit.line, unit.data)
    digest.update(canonical_key(skipped.lines).encode())
    total = len(planned)
    key, description = fingerprint(pipeline, options, input_content=digest.hexdigest()[:32])
    if not options.fresh and not options.state_path.exists():
        refuse_foreign_output(options)  # before the lock creates any file (again under it)
    # The Parquet output itself is not locked (nor created): it appears whole at the
    # end, from the journal, which is.
    lock = JobLock([options.state_path, options.journal_path, options.rejects_path])
    try:
        state = JobState(options.state_path)
        try:
            return _run_locked(
                pipeline,
                options,
                state,
                key=key,
                description=description,
                view=view,
                config=config,
                executor=executor,
                planned=planned,
                total=total,
                source=source,
                needed=needed,
                seed_records=seed_records,
                skipped=skipped,
            )
        finally:
            state.close()
    finally:
        lock.release()


def _run_locked(
    pipeline: Pipeline,
    options: JobOptions,
    state: JobState,
    *,
    key: str,
    description: str,
    view: ProgressView,
    config: RunConfig,
    executor: Executor | None,
    planned: set[str],
    total: int,
    source: JobInput,
    needed: Sequence[str],
    seed_records: dict[int, dict[str, Any]],
    skipped: SkippedLines,
) -> dict[str, Any]:
    """The part of `run_job` that runs with the job's files locked."""
    described = described_options(options)
    state.finish_rewrite(options.rejects_path)
    if not state.is_bound() and not options.fresh:
        refuse_foreign_output(options)
    state.bind(key, fresh=bool(options.fresh), description=description)
    state.note(NOTE_KEY, describe_run(pipeline, described, total))
    if options.retry_failed:
        state.forget(state.ids_counting(MODEL_UNREACHABLE), options.rejects_path)
    output_end, rejects_end = state.committed_ends()
    if options.parquet:
        require_pyarrow()
    output = AppendOnlyJsonl(options.journal_path, output_end)
    rejects = AppendOnlyJsonl(options.rejects_path, rejects_end)
    seeds = getattr(pipeline, "seeds", None)
    if seeds is not None:
        seeds(list(seed_records.values()))
        seed_records.clear()
    start = getattr(pipeline, "start", None)
    if start is not None:
        start(output.read_committed())
    finish_unit = getattr(pipeline, "finish_unit", None)
    try:
        started = time.perf_counter()
        done = state.done_ids()
        already = len(planned & done)
        planned.clear()
        # Second pass: the units still to do, read as the executor takes them.
        units = plan_units(
            options, SkippedLines(), needed, source=source, pipeline_name=pipeline.name
        )
        todo = (unit for unit in units if unit.id not in done)
        counters = Counters(done=already, total=total, started=started, resumed_at=already)
        view.start(counters)
        try:
            chosen = executor or LocalExecutor(required(options.workers, "--workers"))
            issued: deque[str] = deque()
            finished = chosen.execute(pipeline, _issue(todo, issued), config)
            for unit, raw in in_input_order(issued, finished):
                result = finish_unit(raw) if finish_unit is not None else raw
                output_length = output.append(result.outputs)
                rejects_length = rejects.append(result.rejects)
                state.commit(unit.id, output_length, rejects_length, _unit_stats(result))
                counters.done += 1
                counters.kept += len(result.outputs)
                counters.rejected += len(result.rejects)
                counters.escalated += sum(r.escalated for r in result.records)
                counters.completion_tokens += sum(r.completion_tokens for r in result.records)
                view.update(counters)
        finally:
            view.stop(counters)
        seconds = time.perf_counter() - started
    finally:
        output.close()
        rejects.close()
    if options.parquet:
        write_parquet(options.journal_path, options.output_path)
    return build_report(
        pipeline=pipeline.name,
        options=described,
        units_total=total,
        stats=state.all_stats(),  # streamed: a list of every unit's stats grew with N
        skipped=skipped.lines,
        seconds_this_run=seconds,
    )


def all_unreachable(report: Mapping[str, Any]) -> bool:
    """Whether every unit of a finished job was rejected because a model could not be
    reached (what ``smallagents run`` exits with code 3 for)."""
    done = report["units"]["done"]
    failed = report.get("counters", {}).get(MODEL_UNREACHABLE, 0)
    return bool(done) and failed >= done and report["records"]["accepted"] == 0


def unreachable_error(report: Mapping[str, Any]) -> ModelUnavailableError:
    """The one-line error of a job whose every record failed for an unreachable model."""
    count = report["units"]["done"]
    return ModelUnavailableError(
        f"Every record ({count}) was rejected because a model could not be reached "
        "(see the reasons in the rejects file).",
        fix="start the model's server or check its URL, key and network, then rerun the "
        "same command with --retry-failed: only those records run again.",
    )


def _issue(units: Iterable[Unit], issued: deque[str]) -> Iterator[Unit]:
    """Hand units to an executor, noting the order they were handed in."""
    for unit in units:
        issued.append(unit.id)
        yield unit


def in_input_order(
    issued: deque[str], finished: Iterator[tuple[Unit, UnitResult]]
) -> Iterator[tuple[Unit, UnitResult]]:
    """Hand results on in the order their units were issued (input order), whatever
    order the workers finish them in.

    Writing (and so de-duplicating, which keeps the first of two near-duplicates) in
    input order makes the output the same file, line for line, with 1 or N workers.
    ``issued`` grows as the executor takes units; a result waits here until every
    unit issued before it is written, so about as many wait as are in flight.
    """
    waiting: dict[str, tuple[Unit, UnitResult]] = {}
    for unit, result in finished:
        waiting[unit.id] = (unit, result)
        while issued and issued[0] in waiting:
            yield waiting.pop(issued.popleft())


def _unit_stats(result: UnitResult) -> dict[str, Any]:
    stats = _role_stats(result)
    stats["finished_at"] = round(time.time(), 3)  # throughput over time (smallagents report)
    if result.counters:  # only when there are some: most units count nothing
        stats["counters"] = dict(result.counters)
    return stats


def _role_stats(result: UnitResult) -> dict[str, Any]:
    return {
        "kept": len(result.outputs),
        "rejected": len(result.rejects),
        "reject_reasons": [redact(str(r.get("reason", "")))[:80] for r in result.rejects],
        "adjudicated": sum(bool(o.get("adjudicated")) for o in result.outputs + result.rejects),
        "roles": [
            {
                "role": r.role,
                "status": r.status,
                "seconds": round(r.seconds, 4),
                "samples": r.samples,
                "red_flags": len(r.red_flags),
                "escalated": r.escalated,
                "escalation_reason": r.escalation_reason,
                "prompt_tokens": r.prompt_tokens,
                "completion_tokens": r.completion_tokens,
                "cost": r.cost,
            }
            for r in result.records
        ],
    }


def dumps(report: dict[str, Any]) -> str:
    """The report as indented JSON."""
    return json.dumps(report, indent=2, default=str)

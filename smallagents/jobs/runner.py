"""Running a job: input records in, exactly-once output out, resumable at any point.

Units (one input record, one sample) run on ``workers`` threads, each with its own
model instances (llama.cpp instances are never shared between threads) and
``cores // workers`` decode threads. Results are written by the calling thread
alone, in input order, through :mod:`smallagents.jobs.state`.

Reproducibility: a unit's id and seed come from its input record and the job's
``seed`` only, and model answers depend only on prompt and seed (see
``smallagents.models.llama.prefill_segments``), so the same job gives the same set
of records whatever the number of workers and however often it was interrupted.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from smallagents.errors import UsageError
from smallagents.jobs.executors import Executor, LocalExecutor, RunConfig, Unit
from smallagents.jobs.inputs import InputError, InputRecord, OnError, SkippedLines, read_records
from smallagents.jobs.pipelines import Pipeline, UnitResult
from smallagents.jobs.progress import Counters, ProgressView, QuietView
from smallagents.jobs.provenance import NOTE_KEY, describe_run
from smallagents.jobs.report import build_report
from smallagents.jobs.state import AppendOnlyJsonl, JobState, StateError
from smallagents.run import EscalationBudget, RoleSettings
from smallagents.voting import canonical_key


@dataclass(frozen=True)
class JobOptions:
    """Everything that defines a job (all of it but ``workers``, ``quiet`` and paths
    decides the records, and goes into the state's fingerprint)."""

    input: str
    output: Path
    rejects: Path | None = None
    state: Path | None = None
    samples_per_seed: int = 1
    limit: int | None = None
    seed: int = 0
    workers: int = 1
    on_error: OnError = "stop"
    fresh: bool = False
    settings: dict[str, Any] = field(default_factory=dict)
    """Model, fallback and voting overrides: part of the fingerprint."""
    allowed_tools: tuple[str, ...] = ()
    """Tools marked ``requires_confirmation`` that this job may run (``--allow-tool``);
    no other such tool ever runs in a batch job. Part of the fingerprint."""

    @property
    def rejects_path(self) -> Path:
        if self.rejects is not None:
            return self.rejects
        return self.output.with_name(self.output.stem + ".rejects.jsonl")

    @property
    def parquet(self) -> bool:
        """Whether the output is written as Parquet (from a JSONL journal, at the end)."""
        return self.output.suffix.lower() == ".parquet"

    @property
    def journal_path(self) -> Path:
        """The append-only JSONL that holds the output while the job runs."""
        return self.output.with_name(self.output.name + ".jsonl") if self.parquet else self.output

    @property
    def state_path(self) -> Path:
        return self.state or self.output.with_name(self.output.name + ".state.sqlite")


def unit_ids(record: InputRecord, samples: int) -> list[str]:
    """Stable ids: the record's own id, else one derived from its content."""
    own = record.data.get("id")
    base = (
        str(own)
        if own not in (None, "")
        else hashlib.sha256(canonical_key(record.data).encode()).hexdigest()[:16]
    )
    return [base] if samples == 1 else [f"{base}-{index}" for index in range(samples)]


def unit_seed(job_seed: int, unit_id: str) -> int:
    """A unit's seed, from the job seed and the unit id only."""
    digest = hashlib.sha256(f"{job_seed}\x00{unit_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def plan_units(options: JobOptions, skipped: SkippedLines) -> list[Unit]:
    """Read the input and lay out every unit of the job, in input order."""
    units: list[Unit] = []
    seen: dict[str, int] = {}
    records = 0
    for record in read_records(options.input, on_error=options.on_error, skipped=skipped):
        if options.limit is not None and records >= options.limit:
            break
        ids = unit_ids(record, options.samples_per_seed)
        if ids[0] in seen:
            reason = f"duplicate id {ids[0]!r} (first on line {seen[ids[0]]})"
            if options.on_error == "skip":
                skipped.add(record.line, reason)
                continue
            raise InputError(
                f"{options.input} line {record.line}: {reason}.",
                fix="give every record a unique id, or pass --on-error skip",
            )
        seen[ids[0]] = record.line
        records += 1
        units.extend(
            Unit(unit_id, unit_seed(options.seed, unit_id), record.line, record.data)
            for unit_id in ids
        )
    if not units:
        raise InputError(
            f"{options.input} holds no records{' that could be read' if skipped.lines else ''}.",
            fix="give an input with at least one JSON object record.",
        )
    return units


def fingerprint(pipeline: Pipeline, options: JobOptions) -> tuple[str, str]:
    """The state's key: everything that decides the records."""
    described = {
        "pipeline": pipeline.name,
        "input": str(Path(options.input).resolve()) if options.input != "-" else "-",
        "samples_per_seed": options.samples_per_seed,
        "limit": options.limit,
        "seed": options.seed,
        "settings": options.settings,
    }
    if options.allowed_tools:  # only when given, so older jobs keep their keys
        described["allowed_tools"] = sorted(set(options.allowed_tools))
    pipeline_settings = getattr(pipeline, "settings", None)
    if pipeline_settings:  # e.g. gra's thresholds: they decide the records too
        described["pipeline_settings"] = dict(pipeline_settings)
    text = canonical_key(described)
    return hashlib.sha256(text.encode()).hexdigest()[:24], text


def _check_output_path(path: Path) -> None:
    if path.parent.exists() and not path.parent.is_dir():
        raise UsageError(
            f"The output folder {path.parent} is a file.", fix="choose another --output path."
        )
    if not path.parent.exists():
        raise UsageError(
            f"The output folder {path.parent} does not exist.",
            fix=f"create it (mkdir -p {path.parent}) or choose another --output.",
        )
    if path.is_dir():
        raise UsageError(f"--output {path} is a folder.", fix="name a file, e.g. out.jsonl.")


def run_job(
    pipeline: Pipeline,
    options: JobOptions,
    *,
    view: ProgressView | None = None,
    budget: EscalationBudget | None = None,
    settings: Mapping[str, RoleSettings] | None = None,
    defaults: RoleSettings | None = None,
    aliases: Mapping[str, str] | None = None,
    executor: Executor | None = None,
    endpoints: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Run (or resume) a job and return its report.

    ``budget``, ``settings``, ``defaults`` and ``aliases`` configure the job's
    :class:`~smallagents.run.Run` (escalation cap, per-role overrides, model aliases).
    ``endpoints`` tunes ``openai:`` models by base URL (timeout, deadline,
    retries, backoff, breaker; not part of the fingerprint: a job may be resumed
    with more patience). ``executor`` decides where units run: by default
    ``options.workers`` threads here
    (:class:`~smallagents.jobs.executors.LocalExecutor`); a
    :class:`~smallagents.jobs.ray_executor.RayExecutor` runs them on a Ray cluster.

    Raises:
        InputError: bad input with ``on_error="stop"``.
        StateError: a state of another configuration, or a write that failed.
    """
    view = view or QuietView()
    _check_output_path(options.output)
    skipped = SkippedLines()
    units = plan_units(options, skipped)
    missing_fields = _missing_fields(pipeline, units, options, skipped)
    units = [unit for unit in units if unit.line not in missing_fields]
    key, description = fingerprint(pipeline, options)
    state = JobState(options.state_path)
    try:
        state.bind(key, fresh=options.fresh, description=description)
        state.note(
            NOTE_KEY,
            describe_run(pipeline, asdict(options) | {"output": str(options.output)}, len(units)),
        )
        output_end, rejects_end = state.committed_ends()
        if options.parquet:
            require_pyarrow()
        output = AppendOnlyJsonl(options.journal_path, output_end)
        rejects = AppendOnlyJsonl(options.rejects_path, rejects_end)
        seeds = getattr(pipeline, "seeds", None)
        if seeds is not None:  # every input record once, for filters that compare with them
            seeds(list({unit.line: unit.data for unit in units}.values()))
        start = getattr(pipeline, "start", None)
        if start is not None:
            start(output.read_committed())
        finish_unit = getattr(pipeline, "finish_unit", None)
        try:
            started = time.perf_counter()
            done = state.done_ids()
            todo = [unit for unit in units if unit.id not in done]
            already = len(units) - len(todo)
            counters = Counters(done=already, total=len(units), started=started, resumed_at=already)
            view.start(counters)
            try:
                config = RunConfig(
                    budget=budget,
                    settings=dict(settings or {}),
                    defaults=defaults,
                    aliases=dict(aliases or {}),
                    allowed_tools=tuple(options.allowed_tools),
                    endpoints=dict(endpoints or {}),
                )
                chosen = executor or LocalExecutor(options.workers)
                finished = chosen.execute(pipeline, todo, config)
                for unit, raw in in_input_order(todo, finished):
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
            write_parquet(options.journal_path, options.output)
        return build_report(
            pipeline=pipeline.name,
            options=asdict(options) | {"output": str(options.output)},
            units_total=len(units),
            stats=state.all_stats(),  # streamed: a list of every unit's stats grew with N
            skipped=skipped.lines,
            seconds_this_run=seconds,
        )
    finally:
        state.close()


def _missing_fields(
    pipeline: Pipeline, units: Sequence[Unit], options: JobOptions, skipped: SkippedLines
) -> set[int]:
    needed = pipeline.required_fields()
    bad: set[int] = set()
    for unit in units:
        if unit.line in bad:
            continue
        missing = [name for name in needed if name not in unit.data]
        if not missing:
            continue
        reason = f"record lacks the field(s) {', '.join(missing)} that {pipeline.name} needs"
        if options.on_error == "stop":
            raise InputError(
                f"{options.input} line {unit.line}: {reason}.",
                fix=f"give every record {', '.join(needed)}, or pass --on-error skip",
            )
        skipped.add(unit.line, reason)
        bad.add(unit.line)
    return bad


def in_input_order(
    units: Sequence[Unit], finished: Iterator[tuple[Unit, UnitResult]]
) -> Iterator[tuple[Unit, UnitResult]]:
    """Hand results on in input order, whatever order the workers finish them in.

    Writing (and so de-duplicating, which keeps the first of two near-duplicates) in
    input order makes the output the same file, line for line, with 1 or N workers.
    At most about 2 x workers results wait here, since that many units are in flight.
    """
    position = {unit.id: index for index, unit in enumerate(units)}
    waiting: dict[int, tuple[Unit, UnitResult]] = {}
    next_index = 0
    for unit, result in finished:
        waiting[position[unit.id]] = (unit, result)
        while next_index in waiting:
            yield waiting.pop(next_index)
            next_index += 1


def _unit_stats(result: UnitResult) -> dict[str, Any]:
    stats = _role_stats(result)
    if result.counters:  # only when there are some: most units count nothing
        stats["counters"] = dict(result.counters)
    return stats


def _role_stats(result: UnitResult) -> dict[str, Any]:
    return {
        "kept": len(result.outputs),
        "rejected": len(result.rejects),
        "reject_reasons": [str(r.get("reason", ""))[:80] for r in result.rejects],
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


def require_pyarrow() -> None:
    """Fail before any work when Parquet output is asked for without pyarrow."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise UsageError(
            "Parquet output needs pyarrow, which is not installed.",
            fix="pip install 'smallagents[parquet]', or write .jsonl.",
        ) from None


PARQUET_BATCH_RECORDS = 10_000
"""Records per Parquet row group: what ``write_parquet`` holds in memory at once."""


def write_parquet(
    journal: Path, target: Path, *, batch_records: int = PARQUET_BATCH_RECORDS
) -> None:
    """Turn the finished JSONL journal into a Parquet file, atomically.

    Two passes over the journal, ``batch_records`` records at a time: the first
    infers one schema for the whole file (a field null in one batch and an object in
    another gets the object's type; :mod:`smallagents.jobs.arrow_schema`, as
    ``smallagents export``), the second writes each batch as a row group. So memory
    stays one batch, however long the job.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from smallagents.jobs.arrow_schema import SchemaInference, encode_json_columns

    inference = SchemaInference()
    for batch in _journal_batches(journal, batch_records):
        inference.add(batch)
    schema, json_columns = inference.result()
    partial = target.with_name(target.name + ".partial")
    try:
        with pq.ParquetWriter(partial, schema) as writer:
            for batch in _journal_batches(journal, batch_records):
                rows = [encode_json_columns(record, json_columns) for record in batch]
                writer.write_table(pa.Table.from_pylist(rows, schema=schema))
        partial.replace(target)
    except OSError as error:  # the journal and the state are complete: a rerun writes it
        partial.unlink(missing_ok=True)
        raise StateError(
            f"Cannot write {target}: {error.strerror or error}.",
            fix="free disk space and rerun the same command: the job resumes.",
        ) from None


def _journal_batches(journal: Path, size: int) -> Iterator[list[dict[str, Any]]]:
    """The journal's records, ``size`` at a time."""
    batch: list[dict[str, Any]] = []
    with journal.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                batch.append(json.loads(line))
            if len(batch) >= size:
                yield batch
                batch = []
    if batch:
        yield batch


def dumps(report: dict[str, Any]) -> str:
    """The report as indented JSON."""
    return json.dumps(report, indent=2, default=str)

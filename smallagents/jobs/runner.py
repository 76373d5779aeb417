"""Running a job: input records in, exactly-once output out, resumable at any point.

Units (one input record, one sample) run on an executor
(:mod:`smallagents.jobs.executors`: ``workers`` threads here, each with its own
model instances, or Ray actors). The input is read twice: once to check it and
count the units, then as the executor takes them. Results are written by the
calling thread alone, in input order, through :mod:`smallagents.jobs.state`.

Reproducibility: a unit's id and seed come from its input record and the job's
``seed`` only, and model answers depend only on prompt and seed (see
``smallagents.models.llama.prefill_segments``), so the same job gives the same set
of records whatever the number of workers and however often it was interrupted.

Safety of the files a job is pointed at, checked before anything is written: no
two of them may be the same file (compared by device and inode once links are
followed, not by name), the files it writes are locked for the whole run
(:class:`~smallagents.jobs.state.JobLock`), an output that holds lines but has no
job state is refused (it is not this job's to empty), and a resume is refused when
anything that decides the records changed, the input's records included
(:func:`fingerprint`).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from smallagents.errors import ModelUnavailableError, UsageError, redact
from smallagents.jobs.executors import Executor, LocalExecutor, RunConfig, Unit
from smallagents.jobs.inputs import InputError, InputRecord, OnError, SkippedLines, read_records
from smallagents.jobs.pipelines import MODEL_UNREACHABLE, Pipeline, UnitResult
from smallagents.jobs.progress import Counters, ProgressView, QuietView
from smallagents.jobs.provenance import NOTE_KEY, describe_run
from smallagents.jobs.report import build_report
from smallagents.jobs.state import (
    AppendOnlyJsonl,
    JobLock,
    JobState,
    StateError,
    replaced_whole,
    rewrite_path,
)
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
    retry_failed: bool = False
    """Run again the units rejected because a model could not be reached
    (``--retry-failed``); their reject lines are taken out first, so each record
    still ends up exactly once in the output or the rejects."""

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


class JobInput:
    """The job's input records, readable more than once: a file is read again on
    each pass (so the input is never held in memory); standard input is kept from
    the first pass."""

    def __init__(self, options: JobOptions) -> None:
        self.options = options
        self._kept: list[InputRecord] | None = None

    def records(self, skipped: SkippedLines) -> Iterator[InputRecord]:
        """Every record, in input order; unreadable lines go to ``skipped``."""
        read = read_records(self.options.input, on_error=self.options.on_error, skipped=skipped)
        if self.options.input != "-":
            yield from read
            return
        if self._kept is None:
            self._kept = list(read)
        yield from self._kept


def plan_units(
    options: JobOptions,
    skipped: SkippedLines,
    needed: Sequence[str] = (),
    *,
    source: JobInput | None = None,
    pipeline_name: str = "the pipeline",
    digest: Any = None,
) -> Iterator[Unit]:
    """Read the input and lay out the job's units, in input order, one at a time.

    Records past ``limit``, with a repeated id or without a ``needed`` field are
    refused (``on_error="stop"``: :class:`InputError`) or listed in ``skipped``.
    ``digest`` (a ``hashlib`` object), when given, takes in every record read, so
    that the pass that checks the input also fingerprints its content.

    Raises:
        InputError: bad input with ``on_error="stop"``, or no record at all.
    """
    source = source or JobInput(options)
    seen: dict[str, int] = {}
    records = 0
    for record in source.records(skipped):
        if options.limit is not None and records >= options.limit:
            break
        if digest is not None:
            digest.update(f"{record.line}\x00{canonical_key(record.data)}\n".encode())
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
        missing = [name for name in needed if name not in record.data]
        if missing:
            reason = f"record lacks the field(s) {', '.join(missing)} that {pipeline_name} needs"
            if options.on_error == "stop":
                raise InputError(
                    f"{options.input} line {record.line}: {reason}.",
                    fix=f"give every record {', '.join(needed)}, or pass --on-error skip",
                )
            skipped.add(record.line, reason)
            continue
        for unit_id in ids:
            yield Unit(unit_id, unit_seed(options.seed, unit_id), record.line, record.data)
    if not records:
        raise InputError(
            f"{options.input} holds no records{' that could be read' if skipped.lines else ''}.",
            fix="give an input with at least one JSON object record.",
        )


def fingerprint(
    pipeline: Pipeline,
    options: JobOptions,
    *,
    input_content: str | None = None,
    config: RunConfig | None = None,
) -> tuple[str, str]:
    """The state's key: everything that decides the records.

    The pipeline and its own settings (e.g. gra's ``SMALLAGENTS_GRA_*`` thresholds),
    the input's path and the content of its records (``input_content``, a hash
    taken in the first pass), samples, limit, seed, the options' settings, the tools
    allowed and the run's configuration: models, fallbacks, votes, aliases and the
    escalation budget. Not in it: workers, paths of the files written, and how
    patiently endpoints are called (none of these changes a record).
    """
    described: dict[str, Any] = {
        "pipeline": pipeline.name,
        "input": str(Path(options.input).resolve()) if options.input != "-" else "-",
        "samples_per_seed": options.samples_per_seed,
        "limit": options.limit,
        "seed": options.seed,
        "settings": options.settings,
    }
    if input_content is not None:
        described["input_content"] = input_content
    if options.allowed_tools:  # only when given, so older jobs keep their keys
        described["allowed_tools"] = sorted(set(options.allowed_tools))
    if config is not None:
        described["run"] = config.fingerprinted()
    pipeline_settings = getattr(pipeline, "settings", None)
    if pipeline_settings:  # e.g. gra's thresholds: they decide the records too
        described["pipeline_settings"] = dict(pipeline_settings)
    text = canonical_key(described)
    return hashlib.sha256(text.encode()).hexdigest()[:24], text


def _same_file_key(path: Path) -> tuple[Any, ...]:
    """What makes two paths one file: device and inode when it exists (links of either
    kind followed), else the absolute path with its symbolic links resolved."""
    try:
        found = os.stat(path)
    except OSError:
        return ("path", os.path.realpath(path))
    return ("inode", found.st_dev, found.st_ino)


def check_distinct_files(
    writes: Mapping[str, Path], reads: Mapping[str, Path] | None = None
) -> None:
    """Refuse a job whose files overlap: a file it writes that is also another file it
    writes, or one it reads (its input, config, roles), would be destroyed.

    Raises:
        UsageError: two of the paths are one file.
    """
    seen: dict[tuple[Any, ...], tuple[str, Path]] = {}
    for label, path in (reads or {}).items():
        seen.setdefault(_same_file_key(path), (label, path))
    for label, path in writes.items():
        key = _same_file_key(path)
        if key in seen:
            other, other_path = seen[key]
            same = f"{other_path}" if other_path == path else f"{other_path} and {path}"
            raise UsageError(
                f"{label} and {other} are the same file ({same}): the job would overwrite it.",
                fix=f"give {label} a path of its own (a hard or symbolic link to the same "
                "file counts as the same file).",
            )
        seen[key] = (label, path)


def job_files(options: JobOptions) -> dict[str, Path]:
    """Every file a job writes, by the option that names it (derived files included)."""
    state = options.state_path
    files = {
        "--output": options.journal_path,
        "--rejects": options.rejects_path,
        "--state": state,
        "the state's journal (--state + -wal)": state.with_name(state.name + "-wal"),
        "the state's index (--state + -shm)": state.with_name(state.name + "-shm"),
        "the rejects' retry copy": rewrite_path(options.rejects_path),
    }
    if options.parquet:
        files["--output"] = options.output
        files["the Parquet journal (--output + .jsonl)"] = options.journal_path
        files["the Parquet output being written"] = options.output.with_name(
            options.output.name + ".partial"
        )
    return files


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
    reads: Mapping[str, Path] | None = None,
    writes: Mapping[str, Path] | None = None,
) -> dict[str, Any]:
    """Run (or resume) a job and return its report.

    ``budget``, ``settings``, ``defaults`` and ``aliases`` configure the job's
    :class:`~smallagents.run.Run` (escalation cap, per-role overrides, model aliases;
    all part of the fingerprint). ``endpoints`` tunes ``openai:`` models by base URL
    (timeout, deadline, retries, backoff, breaker; not part of the fingerprint: a
    job may be resumed with more patience). ``executor`` decides where units run: by
    default ``options.workers`` threads here
    (:class:`~smallagents.jobs.executors.LocalExecutor`); a
    :class:`~smallagents.jobs.ray_executor.RayExecutor` runs them on a Ray cluster.
    ``reads`` and ``writes`` name other files the job reads (a config, roles files)
    or writes (a report), by option, for the check that no two are the same file.

    Raises:
        InputError: bad input with ``on_error="stop"``.
        StateError: a state of another configuration, an output that is not this
            job's, another job on the same files, or a write that failed.
        UsageError: two of the job's files are one.
    """
    view = view or QuietView()
    _check_output_path(options.output)
    written = {**job_files(options), **(writes or {})}
    read = dict(reads or {})
    if options.input != "-":
        read = {"--input": Path(options.input), **read}
    check_distinct_files(written, read)
    config = RunConfig(
        budget=budget,
        settings=dict(settings or {}),
        defaults=defaults,
        aliases=dict(aliases or {}),
        allowed_tools=tuple(options.allowed_tools),
        endpoints=dict(endpoints or {}),
    )
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
    described_options = asdict(options) | {"output": str(options.output)}
    key, description = fingerprint(
        pipeline, options, input_content=digest.hexdigest()[:32], config=config
    )
    if not options.fresh and not options.state_path.exists():
        _refuse_foreign_output(options)  # before the lock creates any file (again under it)
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
                described_options=described_options,
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
    described_options: dict[str, Any],
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
    """The part of :func:`run_job` that runs with the job's files locked."""
    state.finish_rewrite(options.rejects_path)
    if not state.is_bound() and not options.fresh:
        _refuse_foreign_output(options)
    state.bind(key, fresh=options.fresh, description=description)
    state.note(NOTE_KEY, describe_run(pipeline, described_options, total))
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
            chosen = executor or LocalExecutor(options.workers)
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
        write_parquet(options.journal_path, options.output)
    return build_report(
        pipeline=pipeline.name,
        options=described_options,
        units_total=total,
        stats=state.all_stats(),  # streamed: a list of every unit's stats grew with N
        skipped=skipped.lines,
        seconds_this_run=seconds,
    )


def _refuse_foreign_output(options: JobOptions) -> None:
    """An output or rejects file that holds data but no job state describes it is not
    this job's to empty: refuse it (``--fresh`` takes it over)."""
    targets = [options.journal_path, options.rejects_path]
    if options.parquet:
        targets.append(options.output)
    for path in targets:
        try:
            size = path.stat().st_size
        except OSError:
            continue
        if size:
            raise StateError(
                f"{path} already holds {size} bytes, and no job state ({options.state_path}) "
                "says this job wrote them.",
                fix="pass --fresh to overwrite it, or choose another --output/--rejects "
                "(a state deleted by hand cannot be recovered from the output).",
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
    try:
        with replaced_whole(target) as partial, pq.ParquetWriter(partial, schema) as writer:
            for batch in _journal_batches(journal, batch_records):
                rows = [encode_json_columns(record, json_columns) for record in batch]
                writer.write_table(pa.Table.from_pylist(rows, schema=schema))
    except OSError as error:  # the journal and the state are complete: a rerun writes it
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

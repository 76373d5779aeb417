"""Planning a job: its units (stable ids and seeds, from the input) and its fingerprint.

Reproducibility: a unit's id and seed come from its input record and the job's
``seed`` only, and model answers depend only on prompt and seed (see
``smallagents.models.llama.prefill_segments``), so the same job gives the same set
of records whatever the number of workers and however often it was interrupted.
A resume is refused when anything that decides the records changed, the input's
records included (`fingerprint`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from smallagents.errors import InputError
from smallagents.jobs.executors import RunConfig, Unit
from smallagents.jobs.inputs import InputRecord, OnError, SkippedLines, read_records
from smallagents.jobs.pipelines import Pipeline
from smallagents.jobs.settings import JobOptions, fingerprint_settings, merge, required
from smallagents.voting import canonical_key


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
        source = self.options.input_source
        on_error: OnError = required(self.options.on_error, "--on-error")
        read = read_records(source, on_error=on_error, skipped=skipped)
        if source != "-":
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
    refused (``on_error="stop"``: `InputError`) or listed in ``skipped``.
    ``digest`` (a ``hashlib`` object), when given, takes in every record read, so
    that the pass that checks the input also fingerprints its content.

    Raises:
        InputError: bad input with ``on_error="stop"``, or no record at all.
    """
    options = merge(options)  # a caller's options, with the defaults
    source = source or JobInput(options)
    samples = required(options.samples_per_seed, "--samples-per-seed")
    seed = required(options.seed, "--seed")
    seen: dict[str, int] = {}
    records = 0
    for record in source.records(skipped):
        if options.limit is not None and records >= options.limit:
            break
        if digest is not None:
            digest.update(f"{record.line}\x00{canonical_key(record.data)}\n".encode())
        ids = unit_ids(record, samples)
        if ids[0] in seen:
            reason = f"duplicate id {ids[0]!r} (first on line {seen[ids[0]]})"
            if options.on_error == "skip":
                skipped.add(record.line, reason)
                continue
            raise InputError(
                f"{options.input_source} line {record.line}: {reason}.",
                fix="give every record a unique id, or pass --on-error skip",
            )
        seen[ids[0]] = record.line
        records += 1
        missing = [name for name in needed if name not in record.data]
        if missing:
            reason = f"record lacks the field(s) {', '.join(missing)} that {pipeline_name} needs"
            if options.on_error == "stop":
                raise InputError(
                    f"{options.input_source} line {record.line}: {reason}.",
                    fix=f"give every record {', '.join(needed)}, or pass --on-error skip",
                )
            skipped.add(record.line, reason)
            continue
        for unit_id in ids:
            yield Unit(unit_id, unit_seed(seed, unit_id), record.line, record.data)
    if not records:
        readable = " that could be read" if skipped.lines else ""
        raise InputError(
            f"{options.input_source} holds no records{readable}.",
            fix="give an input with at least one JSON object record.",
        )


def run_config(options: JobOptions) -> RunConfig:
    """How the job's executor builds each worker's run, from the merged options."""
    return RunConfig(
        budget=options.budget,
        settings=dict(options.roles or {}),
        defaults=options.role_defaults,
        aliases=dict(options.aliases or {}),
        allowed_tools=tuple(options.allowed_tools or ()),
        endpoints=dict(options.endpoints or {}),
        prefix_cache_mb=options.prefix_cache_mb,
    )


def fingerprint(
    pipeline: Pipeline, options: JobOptions, *, input_content: str | None = None
) -> tuple[str, str]:
    """The state's key: everything that decides the records.

    The pipeline and its own settings (e.g. gra's reviewers and thresholds), the
    input's path and the content of its records (``input_content``, a hash taken
    in the first pass), and every option but those in `NOT_FINGERPRINTED`: samples,
    limit, seed, models, fallbacks, votes, aliases, the escalation budget, the tools
    allowed and the MCP servers. Not in it: workers, paths of the files written,
    and how patiently endpoints are called (none of these changes a record).
    """
    options = merge(options)
    source = options.input_source
    described: dict[str, Any] = {
        "pipeline": pipeline.name,
        "input": str(Path(source).resolve()) if source != "-" else "-",
        "samples_per_seed": options.samples_per_seed,
        "limit": options.limit,
        "seed": options.seed,
        "settings": fingerprint_settings(options),
    }
    if input_content is not None:
        described["input_content"] = input_content
    if options.allowed_tools:  # only when given, so older jobs keep their keys
        described["allowed_tools"] = sorted(set(options.allowed_tools))
    described["run"] = run_config(options).fingerprinted()
    pipeline_settings = getattr(pipeline, "settings", None)
    if pipeline_settings:  # e.g. gra's thresholds: they decide the records too
        described["pipeline_settings"] = dict(pipeline_settings)
    text = canonical_key(described)
    return hashlib.sha256(text.encode()).hexdigest()[:24], text

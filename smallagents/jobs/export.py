"""A finished job as a Hugging Face dataset: Parquet shards plus a dataset card.

``export_dataset(RUN.jsonl, DIR)`` writes::

    DIR/README.md                              the dataset card (see smallagents.jobs.card)
    DIR/data/train-00000-of-0000N.parquet      accepted records (config "default")
    DIR/rejects/train-00000-of-0000M.parquet   rejected records with a reason (config "rejects")

The shard names follow the Hub's convention, so ``load_dataset("parquet",
data_dir=DIR)`` finds the train split alone, ``load_dataset(DIR)`` reads the
card's configs, and ``Dataset.from_parquet`` reads any shard list.

Only committed records are exported, and only from a consistent run: the output's
length must equal the length its job state committed (a longer file is a job
still writing or stopped mid-unit; a shorter one was changed by hand), and every
planned unit must be done unless ``allow_partial``.

One Arrow schema for every shard: each column's type is inferred over all the
records before any shard is written (`smallagents.jobs.arrow_schema`, as for
a job's ``.parquet`` output), so a field that is null in the first shard and an
object in the last gets the object's type everywhere. A column whose values have
no common Arrow type (a number here, text there) or that holds an empty object
(Parquet cannot store a struct without fields) is written as JSON text, and the
card says which columns are.
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smallagents.errors import ExportError, UsageError
from smallagents.jobs._dataset import FinishedRun, Table
from smallagents.jobs.arrow_schema import encode_json_columns, unified_schema
from smallagents.jobs.card import dataset_card
from smallagents.jobs.provenance import NOTE_KEY
from smallagents.jobs.report import build_report
from smallagents.jobs.settings import JobOptions
from smallagents.jobs.state import JobState, replaced_whole

DEFAULT_SHARD_RECORDS = 100_000
"""Records per shard: about 100 MB of typical generated records, well under the
Hub's advice of shards below 500 MB."""

SPLITS = {"default": "data", "rejects": "rejects"}
"""Config name -> folder in the export. Each config has one split, ``train``."""


@dataclass(frozen=True)
class Export:
    """What ``export_dataset`` wrote."""

    target: Path
    card: Path
    tables: dict[str, Table] = field(default_factory=dict)


def require_pyarrow() -> None:
    """Fail with the install line when pyarrow is missing."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise UsageError(
            "Exporting a dataset needs pyarrow, which is not installed.",
            fix="pip install 'smallagents[datasets]'.",
        ) from None


def _read_committed(path: Path, committed: int, what: str) -> list[dict[str, Any]]:
    size = path.stat().st_size if path.exists() else 0
    if size > committed:
        raise ExportError(
            f"{path} holds {size - committed} bytes past its last committed unit: a job is "
            "still writing it, or was stopped in the middle of a unit.",
            fix="wait for the job to end, or rerun the same `smallagents run` command to "
            "finish it; then export.",
        )
    if size < committed:
        raise ExportError(
            f"{path} is shorter ({size} bytes) than its job state says ({committed}).",
            fix=f"the {what} was changed outside the job; rerun the job with --fresh.",
        )
    if committed == 0:
        return []
    with path.open("rb") as handle:
        data = handle.read(committed)
    return [json.loads(line) for line in data.splitlines() if line.strip()]


def read_run(
    output: Path, *, state: Path | None = None, allow_partial: bool = False
) -> FinishedRun:
    """Read a job's committed records, rejects, description, note and report.

    ``output`` is the job's ``--output``: a JSONL file, or a ``.parquet`` one (then
    its JSONL journal is read). The rejects and state files are found beside it as
    the job names them, or ``state`` is the job's ``--state``.

    Raises:
        ExportError: no such run, no state, an unfinished or inconsistent run.
    """
    paths = JobOptions(input="-", output=output, state=state)
    journal = paths.journal_path
    if not journal.is_file():
        raise ExportError(
            f"No job output at {journal}.",
            fix="pass the --output file of a finished `smallagents run`.",
        )
    if not paths.state_path.is_file():
        raise ExportError(
            f"{journal} has no job state ({paths.state_path}).",
            fix="export the output of `smallagents run` (it writes OUTPUT.state.sqlite), or "
            "pass --state PATH.",
        )
    job_state = JobState(paths.state_path)
    try:
        description = job_state.description()
        if description == "unknown":
            raise ExportError(
                f"The job state {paths.state_path} records no job.",
                fix="pass the state file of the job that wrote this output.",
            )
        output_end, rejects_end = job_state.committed_ends()
        records = _read_committed(journal, output_end, "output")
        rejects = _read_committed(paths.rejects_path, rejects_end, "rejects file")
        note = job_state.notes().get(NOTE_KEY, {})
        stats = list(job_state.all_stats())
    finally:
        job_state.close()
    total = note.get("units_total")
    if total is not None and len(stats) < total and not allow_partial:
        raise ExportError(
            f"The job behind {journal} is unfinished: {len(stats)} of {total} units done.",
            fix="rerun the same `smallagents run` command to finish it (it resumes), or pass "
            "--allow-partial.",
        )
    parsed: dict[str, Any] = json.loads(description)
    report = build_report(
        pipeline=str(parsed.get("pipeline", "unknown")),
        options=note.get("options", {}),
        units_total=total if total is not None else len(stats),
        stats=stats,
        skipped=[],
        seconds_this_run=0.0,
    )
    return FinishedRun(journal, records, rejects, parsed, note, report)


def shard_name(index: int, count: int) -> str:
    """The Hub's shard name: ``train-00000-of-00003.parquet``."""
    return f"train-{index:05d}-of-{count:05d}.parquet"


def _chunks(records: Sequence[dict[str, Any]], size: int) -> Iterator[Sequence[dict[str, Any]]]:
    for start in range(0, len(records), size):
        yield records[start : start + size]


def write_shards(
    records: Sequence[dict[str, Any]], folder: Path, *, config: str, shard_records: int
) -> Table:
    """Write ``records`` as ``ceil(len / shard_records)`` Parquet shards of one schema."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema, json_columns = unified_schema(records)
    count = max(1, math.ceil(len(records) / shard_records))
    folder.mkdir(parents=True, exist_ok=True)
    shards = []
    nbytes = 0
    for index, chunk in enumerate(_chunks(records, shard_records)):
        table = pa.Table.from_pylist(
            [encode_json_columns(r, json_columns) for r in chunk], schema=schema
        )
        path = folder / shard_name(index, count)
        nbytes += table.nbytes
        with replaced_whole(path) as partial:  # a shard is either whole or absent
            pq.write_table(table, partial)
        shards.append(path)
    return Table(config, schema, json_columns, tuple(shards), len(records), nbytes)


def _prepare_target(target: Path, *, overwrite: bool) -> None:
    if target.exists() and not target.is_dir():
        raise ExportError(f"--to {target} is a file.", fix="name a folder for the dataset.")
    if not target.parent.is_dir():
        raise ExportError(
            f"The folder {target.parent} does not exist.",
            fix=f"create it (mkdir -p {target.parent}) or choose another --to.",
        )
    if target.is_dir() and any(target.iterdir()):
        if not overwrite:
            raise ExportError(
                f"{target} is not empty.",
                fix="choose an empty or new folder, or pass --overwrite (it replaces "
                "README.md, data/ and rejects/ there and keeps everything else, e.g. .git).",
            )
        # Only what an export writes: a Hub clone's .git and .gitattributes stay.
        (target / "README.md").unlink(missing_ok=True)
        for folder in SPLITS.values():
            if (target / folder).is_dir():
                shutil.rmtree(target / folder)
    target.mkdir(exist_ok=True)


def export_dataset(
    run_output: Path,
    target: Path,
    *,
    shard_records: int = DEFAULT_SHARD_RECORDS,
    include_rejects: bool = True,
    overwrite: bool = False,
    state: Path | None = None,
    allow_partial: bool = False,
) -> Export:
    """Export a finished job's output as Parquet shards with a dataset card.

    Raises:
        ExportError: a missing, unfinished or inconsistent run; a target in the way;
            a run with no accepted record.
        UsageError: pyarrow is not installed, or ``shard_records`` < 1.
    """
    if shard_records < 1:
        raise UsageError(
            f"--shard-records {shard_records} is below 1.", fix="pass a positive number."
        )
    require_pyarrow()
    run = read_run(run_output, state=state, allow_partial=allow_partial)
    if not run.records:
        raise ExportError(
            f"{run.output} holds no accepted record ({len(run.rejects)} rejected).",
            fix="look at the rejects file for the reasons; there is nothing to export.",
        )
    _prepare_target(target, overwrite=overwrite)
    tables = {
        "default": write_shards(
            run.records, target / SPLITS["default"], config="default", shard_records=shard_records
        )
    }
    if include_rejects and run.rejects:
        tables["rejects"] = write_shards(
            run.rejects, target / SPLITS["rejects"], config="rejects", shard_records=shard_records
        )
    card = target / "README.md"
    card.write_text(dataset_card(run, tables, target), encoding="utf-8")
    return Export(target, card, tables)

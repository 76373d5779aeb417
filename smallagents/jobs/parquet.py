"""A job's Parquet output: written whole at the end, from the JSONL journal the job appends to."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from smallagents.errors import StateError, UsageError
from smallagents.jobs.state import replaced_whole


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
    another gets the object's type; `smallagents.jobs.arrow_schema`, as
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

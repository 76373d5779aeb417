"""A job's .parquet output, written batch by batch with one schema for the whole file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from pyarrow import parquet as pq

from smallagents.jobs.arrow_schema import SchemaInference, unified_schema
from smallagents.jobs.parquet import write_parquet

# Fields that change type between records: a batch of two sees only some of them,
# so each batch alone would infer another schema (or none).
RECORDS: list[dict[str, Any]] = [
    {"id": "a", "score": 1, "meta": None},
    {"id": "b", "score": 2},
    {"id": "c", "score": 2.5, "meta": {"source": "x"}},
    {"id": "d", "tags": [], "meta": {"lang": "en"}},
    {"id": "e", "tags": ["t"], "mixed": 1},
    {"id": "f", "mixed": "text", "nested": [{"k": 1}]},
    {"id": "g", "nested": [{"v": "w"}], "empty": {}},
]


def write_journal(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return path


def decoded(row: dict[str, Any], json_columns: tuple[str, ...]) -> dict[str, Any]:
    return {
        key: json.loads(value) if key in json_columns and value is not None else value
        for key, value in row.items()
    }


def without_nulls(value: Any) -> Any:
    """The value with null object fields dropped: Parquet has a column (or a struct
    field) for every name, so an absent field reads back as null."""
    if isinstance(value, dict):
        return {key: without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [without_nulls(item) for item in value]
    return value


def test_parquet_of_varying_records_across_batches_reads_back_as_the_jsonl(
    tmp_path: Path,
) -> None:
    journal = write_journal(tmp_path / "out.parquet.jsonl", RECORDS)
    target = tmp_path / "out.parquet"
    write_parquet(journal, target, batch_records=2)

    written = pq.ParquetFile(target)
    assert written.metadata.num_row_groups == 4  # written 2 records at a time
    _, json_columns = unified_schema(RECORDS)
    assert json_columns == ("mixed", "empty")  # a number and text; an empty object
    rows = [decoded(row, json_columns) for row in written.read().to_pylist()]
    assert [without_nulls(row) for row in rows] == [without_nulls(r) for r in RECORDS]
    assert list(rows[0]) == list(dict.fromkeys(key for record in RECORDS for key in record))
    # One type per column over the whole file, not the first batch's.
    schema = written.schema_arrow
    assert schema.field("score").type == pa.float64()
    assert schema.field("meta").type == pa.struct([("source", pa.string()), ("lang", pa.string())])
    assert schema.field("nested").type == pa.list_(
        pa.struct([("k", pa.int64()), ("v", pa.string())])
    )
    assert not (tmp_path / "out.parquet.partial").exists()


@pytest.mark.parametrize("batch", [1, 2, 3, len(RECORDS)])
def test_the_schema_inferred_in_batches_is_the_one_over_all_records(batch: int) -> None:
    # What makes a job's Parquet and `smallagents export` agree, whatever the batch.
    inference = SchemaInference()
    for start in range(0, len(RECORDS), batch):
        inference.add(RECORDS[start : start + batch])
    assert inference.result() == unified_schema(RECORDS)


def test_an_empty_journal_gives_an_empty_parquet(tmp_path: Path) -> None:
    journal = write_journal(tmp_path / "out.parquet.jsonl", [])
    write_parquet(journal, tmp_path / "out.parquet")
    assert pq.read_table(tmp_path / "out.parquet").num_rows == 0

"""What an export is made of: a finished job's records and the Parquet tables written from them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass(frozen=True)
class FinishedRun:
    """What a job left behind, read up to its committed lengths."""

    output: Path
    records: list[dict[str, Any]]
    rejects: list[dict[str, Any]]
    description: dict[str, Any]
    """The state's configuration description (pipeline, input, seed, settings)."""
    note: dict[str, Any]
    """The run's own note (see smallagents.jobs.provenance); empty for older states."""
    report: dict[str, Any]
    """The job report, rebuilt from the per-unit stats in the state."""


@dataclass(frozen=True)
class Table:
    """One config's records as an Arrow table schema plus its shards."""

    config: str
    schema: pa.Schema
    json_columns: tuple[str, ...]
    shards: tuple[Path, ...]
    rows: int
    nbytes: int
    """The records' size in Arrow memory: what the Hub's ``num_bytes`` counts."""

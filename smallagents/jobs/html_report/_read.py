"""Reading a job's files without writing to them: the state read-only, JSONL up to its commit."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smallagents.errors import UsageError
from smallagents.jobs.settings import JobOptions


@dataclass
class JobFiles:
    """Where a job's files are, as ``smallagents run`` names them."""

    output: Path
    rejects: Path
    state: Path
    journal: Path

    @classmethod
    def of(
        cls, output: Path, *, rejects: Path | None = None, state: Path | None = None
    ) -> JobFiles:
        options = JobOptions(input="-", output=output, rejects=rejects, state=state)
        return cls(output, options.rejects_path, options.state_path, options.journal_path)


@dataclass
class Units:
    """What the job state says at one moment: how many units are committed, the file
    lengths after the last of them, and the run's note; `stats` streams their stats."""

    path: Path | None = None
    count: int = 0
    last_seq: int = 0
    output_end: int | None = None
    rejects_end: int | None = None
    note: dict[str, Any] = field(default_factory=dict)

    def stats(self) -> Iterator[dict[str, Any]]:
        """Each committed unit's stats, in commit order, up to the moment this was read
        (a running job commits more meanwhile; those are left for the next report)."""
        if self.path is None or not self.count:
            return
        with _reading(self.path) as db:
            rows = db.execute(
                "SELECT stats FROM units WHERE seq <= ? ORDER BY seq", (self.last_seq,)
            )
            for (stats,) in rows:
                yield json.loads(stats)


@contextlib.contextmanager
def _reading(path: Path) -> Iterator[sqlite3.Connection]:
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as error:
        raise UsageError(
            f"Cannot read the job state {path}: {error}.", fix="pass --state with the job's state."
        ) from None
    try:
        yield db
    except sqlite3.Error as error:
        raise UsageError(
            f"{path} is not a smallagents job state: {error}.",
            fix="pass --state with the state of the job that wrote the output.",
        ) from None
    finally:
        db.close()


def read_state(path: Path) -> Units:
    """The job state at ``path``, read-only (``Units()`` when there is none)."""
    if not path.exists():
        return Units()
    with _reading(path) as db:
        last = db.execute(
            "SELECT seq, output_end, rejects_end FROM units ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        (count,) = db.execute("SELECT COUNT(*) FROM units").fetchone()
        found = db.execute("SELECT value FROM meta WHERE key = 'note:run'").fetchone()
    units = Units(path=path, count=int(count), note=json.loads(found[0]) if found else {})
    units.last_seq, units.output_end, units.rejects_end = (
        (int(last[0]), int(last[1]), int(last[2])) if last else (0, 0, 0)
    )
    return units


def read_records(path: Path, end: int | None) -> Iterator[dict[str, Any]]:
    """The records of a JSONL file up to byte ``end`` (``None``: the whole file)."""
    if not path.exists():
        return
    offset = 0
    with path.open("rb") as handle:  # line by line: a report never holds the whole file
        for line in handle:
            offset += len(line)
            if end is not None and offset > end:  # past what the state has committed
                return
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError:  # a line still being written (no state to cut it)
                continue

"""Exactly-once output: an append-only JSONL file and a SQLite ledger of what it holds.

For each finished work unit the runner (1) appends its lines to the output (and
rejects) file, flushes and fsyncs, then (2) commits one SQLite row with the unit's
id and the byte length each file had after it. On start, each file is truncated
to the length recorded by the last committed row. So whatever moment a job is
killed at (SIGKILL included):

* a line written but not committed is cut off and its unit is done again;
* a half-written line is cut off too, so the output never holds a partial line;
* a committed unit is never done again, so nothing is duplicated.

The state also holds the job's configuration fingerprint: resuming with another
configuration is refused unless the caller asks for a fresh start.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from smallagents.errors import StateError

SCHEMA_VERSION = "1"


class JobState:
    """The SQLite ledger of one job."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(
                """
                CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS units (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    id TEXT NOT NULL UNIQUE,
                    output_end INTEGER NOT NULL,
                    rejects_end INTEGER NOT NULL,
                    stats TEXT NOT NULL
                );
                """
            )
        except sqlite3.Error as error:
            raise StateError(
                f"Cannot open the job state {path}: {error}.",
                fix="check that the folder exists, is writable and has free space, or pass "
                "--state PATH.",
            ) from None

    def bind(self, fingerprint: str, *, fresh: bool, description: str) -> None:
        """Tie the state to a configuration; refuse another one unless ``fresh``."""
        row = self._db.execute("SELECT value FROM meta WHERE key='fingerprint'").fetchone()
        if row is not None and row[0] != fingerprint and not fresh:
            raise StateError(
                f"The job state {self.path} belongs to a run with another configuration "
                f"({self._meta('description')}).",
                fix="rerun with the original options, pass --fresh to start over (the output "
                "is rewritten), or pass another --output/--state.",
            )
        if fresh or row is None or row[0] != fingerprint:
            with self._writing():
                self._db.execute("BEGIN")
                self._db.execute("DELETE FROM units")
                self._db.execute("DELETE FROM meta")
                self._db.executemany(
                    "INSERT INTO meta VALUES (?, ?)",
                    [
                        ("fingerprint", fingerprint),
                        ("description", description),
                        ("schema_version", SCHEMA_VERSION),
                    ],
                )
                self._db.execute("COMMIT")

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """Turn a failed write (disk full, I/O error) into a one-line StateError.

        SQLite keeps the ledger at its last committed transaction whatever write
        failed (a full disk shows as "database or disk is full", a file-size limit
        as "disk I/O error"), so the same command resumes once there is space.
        """
        try:
            yield
        except sqlite3.Error as error:
            if self._db.in_transaction:  # a failed COMMIT may leave it open
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
            raise StateError(
                f"Cannot write the job state {self.path}: {error}.",
                fix="free disk space and rerun the same command: the job resumes.",
            ) from None

    def _meta(self, key: str) -> str:
        row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return str(row[0]) if row else "unknown"

    def note(self, key: str, value: Mapping[str, Any]) -> None:
        """Keep a JSON note about the run (what produced the records, for a dataset card).

        Notes are not part of the fingerprint; each run rewrites its own, and a
        fresh start drops them with the rest of the meta table.
        """
        with self._writing():
            self._db.execute(
                "INSERT OR REPLACE INTO meta VALUES (?, ?)", (f"note:{key}", json.dumps(value))
            )

    def notes(self) -> dict[str, Any]:
        """Every note, by key."""
        rows = self._db.execute("SELECT key, value FROM meta WHERE key LIKE 'note:%'")
        return {key.removeprefix("note:"): json.loads(value) for key, value in rows}

    def description(self) -> str:
        """The configuration description the state was bound with ("unknown" if unbound)."""
        return self._meta("description")

    def done_ids(self) -> set[str]:
        """Ids of the committed units."""
        return {row[0] for row in self._db.execute("SELECT id FROM units")}

    def committed_ends(self) -> tuple[int, int]:
        """Output and rejects file lengths after the last committed unit (0, 0 if none)."""
        row = self._db.execute(
            "SELECT output_end, rejects_end FROM units ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        return (int(row[0]), int(row[1])) if row else (0, 0)

    def commit(
        self, unit_id: str, output_end: int, rejects_end: int, stats: Mapping[str, Any]
    ) -> None:
        """Record one finished unit (after its lines are on disk)."""
        with self._writing():
            self._db.execute(
                "INSERT INTO units (id, output_end, rejects_end, stats) VALUES (?, ?, ?, ?)",
                (unit_id, output_end, rejects_end, json.dumps(stats)),
            )

    def all_stats(self) -> Iterable[dict[str, Any]]:
        """The stats of every committed unit, in commit order."""
        for (stats,) in self._db.execute("SELECT stats FROM units ORDER BY seq"):
            yield json.loads(stats)

    def close(self) -> None:
        self._db.close()


class AppendOnlyJsonl:
    """A JSONL file that is only appended to, with its committed length enforced on open.

    The file is unbuffered: after a failed write (disk full) no bytes wait in a
    Python buffer, so cutting the file back cannot fail again, and closing it
    writes nothing either.
    """

    def __init__(self, path: Path, committed_length: int) -> None:
        self.path = path
        try:
            exists = path.exists()
            self._handle = path.open("r+b" if exists else "w+b", buffering=0)
        except OSError as error:
            raise StateError(
                f"Cannot open {path} for writing: {error.strerror}.",
                fix="create the folder or choose a writable --output path.",
            ) from None
        length = self._handle.seek(0, os.SEEK_END)
        if length < committed_length:
            raise StateError(
                f"{path} is shorter ({length} bytes) than its job state says ({committed_length}).",
                fix="the output was changed outside this job; pass --fresh to start over.",
            )
        self._handle.truncate(committed_length)
        self._handle.seek(committed_length)
        self.length = committed_length

    def read_committed(self) -> list[dict[str, Any]]:
        """The records already in the file (up to its committed length)."""
        self._handle.seek(0)
        data = self._handle.readall()[: self.length]
        self._handle.seek(self.length)
        return [json.loads(line) for line in data.splitlines() if line.strip()]

    def append(self, records: Iterable[Mapping[str, Any]]) -> int:
        """Write records as lines, flush and fsync; return the new file length."""
        payload = b"".join(
            json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
            for record in records
        )
        if payload:
            try:
                remaining = memoryview(payload)
                while remaining:  # a nearly full disk takes part of a write, then refuses
                    written = self._handle.write(remaining)
                    if not written:  # nothing taken: a full disk, not a reason to spin
                        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                    remaining = remaining[written:]
                os.fsync(self._handle.fileno())
            except OSError as error:
                # Cut back to the committed length so the file never ends in a partial
                # line; if even that fails, the next open cuts it.
                with contextlib.suppress(OSError):
                    os.ftruncate(self._handle.fileno(), self.length)
                    self._handle.seek(self.length)
                raise StateError(
                    f"Cannot write {self.path}: {error.strerror}.",
                    fix="free disk space and rerun the same command: the job resumes.",
                ) from None
            self.length += len(payload)
        return self.length

    def close(self) -> None:
        self._handle.close()


@contextlib.contextmanager
def replaced_whole(target: Path) -> Iterator[Path]:
    """A path to write ``target``'s new content to: on success it replaces ``target``
    in one rename, on any failure it is removed, so ``target`` is whole or untouched."""
    partial = target.with_name(target.name + ".partial")
    try:
        yield partial
        partial.replace(target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise

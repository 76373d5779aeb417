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

`JobLock` holds an exclusive ``flock`` on every file a job writes (state,
output or Parquet journal, rejects) for the whole run, so a second job on the same
files is refused instead of interleaving its lines with the first one's.
`JobState.forget` takes committed units out again (``--retry-failed``): their
reject lines leave the rejects file and their rows the ledger in one step that a
kill at any moment leaves either undone or done (see `JobState.finish_rewrite`).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sqlite3
from collections.abc import Collection, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from smallagents.errors import StateError, UsageError, redact

SCHEMA_VERSION = "1"
_COPY_CHUNK = 1 << 20


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

    def is_bound(self) -> bool:
        """Whether a job has bound this state (it holds a fingerprint)."""
        row = self._db.execute("SELECT value FROM meta WHERE key='fingerprint'").fetchone()
        return row is not None

    def bind(self, fingerprint: str, *, fresh: bool, description: str) -> None:
        """Tie the state to a configuration; refuse another one unless ``fresh``."""
        row = self._db.execute("SELECT value FROM meta WHERE key='fingerprint'").fetchone()
        if row is not None and row[0] != fingerprint and not fresh:
            changed = _changed_keys(self._meta("description"), redact(description))
            raise StateError(
                f"The job state {self.path} belongs to a run with another configuration "
                f"(changed since: {changed}).",
                fix="rerun with the original options and input, pass --fresh to start over "
                "(the output is rewritten), or pass another --output/--state.",
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
                        ("description", redact(description)),
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
                "INSERT OR REPLACE INTO meta VALUES (?, ?)",
                (f"note:{key}", redact(json.dumps(value))),
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
                (unit_id, output_end, rejects_end, redact(json.dumps(stats))),
            )

    def ids_counting(self, counter: str) -> set[str]:
        """Ids of the committed units whose stats count ``counter`` (e.g. model_unreachable)."""
        found = set()
        for unit_id, stats in self._db.execute("SELECT id, stats FROM units"):
            if json.loads(stats).get("counters", {}).get(counter):
                found.add(unit_id)
        return found

    def forget(self, unit_ids: Collection[str], rejects: Path) -> int:
        """Take committed units that wrote only reject lines out of the job, so they run again.

        Their lines leave ``rejects`` and their rows the ledger. The rejects file is
        rewritten beside itself and fsynced first; one SQLite transaction then drops
        the rows, moves the later units' rejects ends and records the pending rename;
        the rename follows. A kill before the transaction leaves the job as it was (the
        copy is dropped on the next start); a kill after it is finished by the next
        start (`finish_rewrite`). Returns how many units were taken out.
        """
        rows = self._db.execute(
            "SELECT seq, id, output_end, rejects_end FROM units ORDER BY seq"
        ).fetchall()
        kept: list[tuple[int, int]] = []  # byte ranges of the rejects file to keep
        moved: list[tuple[int, int]] = []  # (new rejects_end, seq)
        dropped: list[tuple[int]] = []
        previous_output = previous_rejects = removed = 0
        for seq, unit_id, output_end, rejects_end in rows:
            if unit_id in unit_ids and output_end == previous_output:
                dropped.append((seq,))
                removed += rejects_end - previous_rejects
            else:
                kept.append((previous_rejects, rejects_end))
                if removed:
                    moved.append((rejects_end - removed, seq))
            previous_output, previous_rejects = output_end, rejects_end
        if not dropped:
            return 0
        copy = rewrite_path(rejects)
        try:
            with rejects.open("rb") as source, copy.open("wb") as target:
                for start, end in kept:
                    source.seek(start)
                    left = end - start
                    while left > 0:
                        chunk = source.read(min(left, _COPY_CHUNK))
                        if not chunk:
                            raise OSError(errno.EIO, f"{rejects} is shorter than its job state")
                        target.write(chunk)
                        left -= len(chunk)
                target.flush()
                os.fsync(target.fileno())
        except OSError as error:
            copy.unlink(missing_ok=True)
            raise StateError(
                f"Cannot rewrite {rejects} to retry its units: {error.strerror or error}.",
                fix="free disk space and rerun the same command.",
            ) from None
        with self._writing():
            self._db.execute("BEGIN")
            self._db.executemany("DELETE FROM units WHERE seq = ?", dropped)
            self._db.executemany("UPDATE units SET rejects_end = ? WHERE seq = ?", moved)
            self._db.execute(
                "INSERT OR REPLACE INTO meta VALUES ('rewrite', ?)",
                (json.dumps({"copy": str(copy), "target": str(rejects)}),),
            )
            self._db.execute("COMMIT")
        self.finish_rewrite(rejects)
        return len(dropped)

    def finish_rewrite(self, rejects: Path) -> None:
        """Finish a rejects rewrite that a run committed but did not complete (it was
        killed between the transaction and the rename), or drop the copy of one it
        never committed. Called on every start, before the files are opened."""
        row = self._db.execute("SELECT value FROM meta WHERE key='rewrite'").fetchone()
        if row is None:
            rewrite_path(rejects).unlink(missing_ok=True)
            return
        pending = json.loads(row[0])
        copy, target = Path(pending["copy"]), Path(pending["target"])
        if copy.exists():  # not renamed yet: the ledger already describes the copy
            os.replace(copy, target)
            _fsync_folder(target.parent)
        with self._writing():
            self._db.execute("DELETE FROM meta WHERE key='rewrite'")

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
            redact(json.dumps(record, ensure_ascii=False, separators=(",", ":"))).encode() + b"\n"
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


def write_text_whole(target: Path, text: str, *, what: str, fix: str) -> None:
    """Write ``text`` to ``target`` whole or not at all (`replaced_whole`).

    Raises:
        UsageError: the write failed (disk full, no permission): one line naming
            ``what`` was written, with ``fix``.
    """
    try:
        with replaced_whole(target) as partial:
            partial.write_text(text, encoding="utf-8")
    except OSError as error:
        raise UsageError(f"Cannot write {what} {target}: {error.strerror}.", fix=fix) from None


def rewrite_path(rejects: Path) -> Path:
    """Where `JobState.forget` writes the new rejects file before the rename."""
    return rejects.with_name(rejects.name + ".retry.partial")


def _fsync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every filesystem lets a folder be fsynced
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _changed_keys(before: str, after: str) -> str:
    """Which settings differ between two fingerprint descriptions, by dotted name."""
    try:
        old, new = json.loads(before), json.loads(after)
    except ValueError:
        return "unknown"
    changed: list[str] = []
    _differences(old, new, "", changed)
    shown = [_KEY_NAMES.get(name, name) for name in changed[:6]]
    more = f" and {len(changed) - 6} more" if len(changed) > 6 else ""
    return ", ".join(shown) + more if shown else "unknown"


def _differences(old: Any, new: Any, prefix: str, found: list[str]) -> None:
    if old == new:
        return
    if isinstance(old, dict) and isinstance(new, dict) and prefix.count(".") < 3:
        for key in sorted(set(old) | set(new)):
            _differences(old.get(key), new.get(key), f"{prefix}{key}.", found)
        return
    found.append(prefix.rstrip("."))


_KEY_NAMES = {"input_content": "the input's records", "input": "the input path"}


class JobLock:
    """Exclusive locks on every file a job writes, held from start to end.

    ``flock`` on each file (created empty when missing, never truncated here): the
    kernel drops the locks when the process ends, however it ends, so a killed job
    never leaves a stale lock behind. A second job on any of the files is refused.
    """

    def __init__(self, paths: Iterable[Path]) -> None:
        self._descriptors: list[int] = []
        try:
            import fcntl
        except ImportError:  # not a POSIX system: no locks to take
            return
        try:
            for path in paths:
                try:
                    descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
                except OSError as error:
                    raise StateError(
                        f"Cannot open {path} for writing: {error.strerror}.",
                        fix="create the folder or choose a writable path.",
                    ) from None
                self._descriptors.append(descriptor)
                try:
                    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    raise StateError(
                        f"Another job is running on {path} (it holds the lock on that file).",
                        fix="wait for it to finish or stop it, or give this job another "
                        "--output (and --rejects/--state).",
                    ) from None
        except BaseException:
            self.release()
            raise

    def release(self) -> None:
        """Drop the locks (closing the files)."""
        for descriptor in self._descriptors:
            with contextlib.suppress(OSError):
                os.close(descriptor)
        self._descriptors.clear()

"""Child processes for tests/test_crash.py: `smallagents run` killed or starved on purpose.

Two uses:

* As a graphs source (``--graphs tests/crash_driver.py``) it exposes ``crash_fast``,
  a pipeline that needs no model: each unit echoes its record (every fifth one,
  by seed, goes to the rejects file), so a job is dominated by its own writes
  (append + fsync, SQLite commit) and 20+ kills fit in a few seconds.
* ``python tests/crash_driver.py serve`` is a fork server: it imports smallagents
  once, then for each request line on stdin (JSON: ``argv``, ``fault``, ``at``,
  ``stderr``, ``phase``) forks a child that installs the fault and runs the real
  CLI (``smallagents.cli.app``). It answers ``{"pid": N}`` when the child starts
  and ``{"code": C, "signal": S}`` when it ends; the test SIGKILLs the pid itself.
  Forking skips the interpreter start (about a second) for every kill.

Faults are installed by patching the child only; production code has no hooks:

* ``torn_output`` / ``torn_rejects``: the ``at``-th append to that file writes
  half of its bytes, fsyncs them and SIGKILLs the process (a torn line on disk);
* ``before_commit``: SIGKILL after both files are appended and fsynced, before
  the ``at``-th unit's SQLite row is written;
* ``in_transaction``: SIGKILL from a SQLite progress handler while the ``at``-th
  unit's INSERT runs (inside SQLite's transaction: the checkpoint write);
* ``after_commit``: SIGKILL right after the ``at``-th unit's row is committed;
* ``in_bind``: SIGKILL inside the transaction that binds a new state to the job;
* ``fsize``: ``RLIMIT_FSIZE`` set to ``at`` bytes with SIGXFSZ ignored, so any
  write past it fails in the kernel with EFBIG, like a full disk;
* ``fsize_parquet``: the same limit, set only when the finished job converts its
  JSONL journal to the Parquet output;
* ``forget_copy``, ``forget_txn``, ``forget_rename``, ``forget_after_rename``: SIGKILL
  inside ``--retry-failed``'s rewrite of the rejects file (``JobState.forget``): at the
  fsync of the copy, inside its SQLite transaction, at the rename, and after the
  rename but before the pending rewrite is cleared from the state.

With ``phase`` the child keeps, in one byte of that file (shared memory, so it
survives SIGKILL), what it is doing: ``s`` starting, ``u`` running a unit, ``o``
and ``r`` writing the output and rejects files, ``c`` committing the SQLite row.
"""

from __future__ import annotations

import json
import mmap
import os
import resource
import signal
import sys
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from smallagents.errors import EndpointError
from smallagents.jobs.pipelines import UnitResult
from smallagents.run import Run


class FastPipeline:
    """Echoes each record; deterministic from the record and the unit's seed only."""

    name = "crash_fast"

    def required_fields(self) -> tuple[str, ...]:
        return ("text",)

    def run_unit(self, data: Mapping[str, Any], *, run: Run, seed: int, unit_id: str) -> UnitResult:
        record = {"id": unit_id, "seed": seed, "text": data["text"]}
        if seed % 5 == 0:
            return UnitResult(rejects=[{**record, "reason": "seed divisible by 5"}])
        return UnitResult(outputs=[record])


crash_fast = FastPipeline()


class FlakyPipeline:
    """Echoes each record; one whose text starts with "down" fails as an unreachable
    endpoint until the file its "marker" names exists (what --retry-failed is for)."""

    name = "crash_flaky"

    def required_fields(self) -> tuple[str, ...]:
        return ("text", "marker")

    def run_unit(self, data: Mapping[str, Any], *, run: Run, seed: int, unit_id: str) -> UnitResult:
        if str(data["text"]).startswith("down") and not Path(str(data["marker"])).exists():
            raise EndpointError(
                "Cannot reach http://127.0.0.1:9/v1: connection refused.",
                url="http://127.0.0.1:9/v1",
                fix="start the server.",
            )
        return UnitResult(outputs=[{"id": unit_id, "seed": seed, "text": data["text"]}])


crash_flaky = FlakyPipeline()


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class _Phase:
    """One byte of a file, mapped shared: what the child was doing when it died."""

    def __init__(self, path: str | None) -> None:
        self._map: mmap.mmap | None = None
        if path:
            with open(path, "wb+") as handle:
                handle.write(b"s")
                handle.flush()
                self._map = mmap.mmap(handle.fileno(), 1)

    def set(self, code: bytes) -> None:
        if self._map is not None:
            self._map[0:1] = code


class _TornHandle:
    """Stands in for an output file: writes half of what it is given, then dies."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def write(self, data: bytes | memoryview) -> int:
        half = bytes(data)[: max(1, len(data) // 2)]
        self._real.write(half)
        os.fsync(self._real.fileno())
        _die()
        return len(half)  # never reached

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def install(fault: str | None, at: int, phase: _Phase) -> None:
    """Patch the job's state classes in this (child) process."""
    from smallagents.jobs import state

    appends = {"output": 0, "rejects": 0}
    commits = 0
    original_append: Callable[..., int] = state.AppendOnlyJsonl.append
    original_commit: Callable[..., None] = state.JobState.commit
    original_bind: Callable[..., None] = state.JobState.bind

    def append(self: state.AppendOnlyJsonl, records: Any) -> int:
        records = list(records)
        kind = "rejects" if self.path.name.endswith(".rejects.jsonl") else "output"
        if records:
            appends[kind] += 1
            if fault == f"torn_{kind}" and appends[kind] == at:
                self._handle = _TornHandle(self._handle)
        phase.set(b"r" if kind == "rejects" else b"o")
        length = original_append(self, records)
        phase.set(b"u")
        return length

    def commit(self: state.JobState, *args: Any, **kwargs: Any) -> None:
        nonlocal commits
        commits += 1
        if commits == at and fault == "before_commit":
            _die()
        if commits == at and fault == "in_transaction":
            self._db.set_progress_handler(lambda: _die() or 0, 1)
        phase.set(b"c")
        original_commit(self, *args, **kwargs)
        phase.set(b"u")
        if commits == at and fault == "after_commit":
            _die()

    def bind(self: state.JobState, *args: Any, **kwargs: Any) -> None:
        if fault == "in_bind":
            db = self._db
            db.set_progress_handler(lambda: (_die() if db.in_transaction else None) or 0, 1)
        original_bind(self, *args, **kwargs)
        self._db.set_progress_handler(None, 1)

    if fault is not None and fault.startswith("forget_"):
        _install_forget_fault(fault)
    state.AppendOnlyJsonl.append = append  # type: ignore[method-assign]
    state.JobState.commit = commit  # type: ignore[method-assign]
    state.JobState.bind = bind  # type: ignore[method-assign]
    if fault == "fsize":
        _limit_file_size(at)
    if fault == "fsize_parquet":
        from smallagents.jobs import runner

        original_parquet: Callable[[Path, Path], None] = runner.write_parquet

        def write_parquet(journal: Path, target: Path) -> None:
            _limit_file_size(at)
            original_parquet(journal, target)

        runner.write_parquet = write_parquet


def _install_forget_fault(fault: str) -> None:
    from smallagents.jobs import state

    original_forget: Callable[..., int] = state.JobState.forget
    inside = {"forget": False}

    def forget(self: state.JobState, *args: Any, **kwargs: Any) -> int:
        inside["forget"] = True
        if fault == "forget_txn":
            db = self._db
            db.set_progress_handler(lambda: (_die() if db.in_transaction else None) or 0, 1)
        return original_forget(self, *args, **kwargs)

    real_fsync = os.fsync

    def fsync(descriptor: int) -> None:
        if inside["forget"] and fault == "forget_copy":
            _die()
        real_fsync(descriptor)

    def replace(*args: Any) -> None:
        _die()

    def after_rename(folder: Path) -> None:
        _die()

    state.JobState.forget = forget  # type: ignore[method-assign]
    if fault == "forget_copy":
        state.os.fsync = fsync  # type: ignore[assignment]
    if fault == "forget_rename":
        state.os.replace = replace  # type: ignore[assignment]
    if fault == "forget_after_rename":
        state._fsync_folder = after_rename


def _limit_file_size(limit: int) -> None:
    """Writes past ``limit`` bytes now fail with EFBIG (SIGXFSZ would kill instead)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))


def _child(request: dict[str, Any]) -> int:
    from smallagents.cli import app

    with open(request["stderr"], "wb") as log:
        os.dup2(log.fileno(), 2)
    with open(os.devnull, "wb") as null:
        os.dup2(null.fileno(), 1)
    signal.alarm(120)  # a hung child still ends, so the server always answers
    phase = _Phase(request.get("phase"))
    install(request.get("fault"), int(request.get("at", 0)), phase)
    try:
        app(request["argv"], prog_name="smallagents")
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    except BaseException:
        traceback.print_exc()  # what an uncaught error would show a user
        code = 1
    phase.set(b"e")
    return code


def serve() -> None:
    from smallagents import cli, registry

    del cli  # imported for its import time, paid once here
    registry.builtin_pipelines()  # the bundled graphs, imported before forking
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = _child(request)
            finally:
                sys.stderr.flush()
                os._exit(code)
        print(json.dumps({"pid": pid}), flush=True)
        _, status = os.waitpid(pid, 0)
        answer = {
            "code": os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else None,
            "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
        }
        print(json.dumps(answer), flush=True)


if __name__ == "__main__" and sys.argv[1:] == ["serve"]:
    serve()

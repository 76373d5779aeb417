"""The files a job is pointed at: which it writes, and the checks before anything is written.

No two of them may be the same file (compared by device and inode once links are
followed, not by name), and an output that holds lines but has no job state is
refused (it is not this job's to empty). The runner also locks the files it writes
for the whole run (`smallagents.jobs.state.JobLock`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from smallagents.errors import StateError, UsageError
from smallagents.jobs.settings import JobOptions
from smallagents.jobs.state import rewrite_path


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
        files["--output"] = options.output_path
        files["the Parquet journal (--output + .jsonl)"] = options.journal_path
        output = options.output_path
        files["the Parquet output being written"] = output.with_name(output.name + ".partial")
    return files


def check_output_path(path: Path) -> None:
    """Refuse an output whose folder is missing or a file, or that is itself a folder.

    Raises:
        UsageError: the output cannot be written there.
    """
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


def refuse_foreign_output(options: JobOptions) -> None:
    """An output or rejects file that holds data but no job state describes it is not
    this job's to empty: refuse it (``--fresh`` takes it over).

    Raises:
        StateError: such a file holds data.
    """
    targets = [options.journal_path, options.rejects_path]
    if options.parquet:
        targets.append(options.output_path)
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

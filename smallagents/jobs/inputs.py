"""Reading a job's input records: JSONL, a JSON array, CSV, Parquet, or standard input.

Every record is a JSON object with the line (or row) it came from, so that an
error can say where to look. A bad record either stops the job with a one-line
`InputError` (``on_error="stop"``, the default) or is skipped and listed
(``on_error="skip"``): the job report names every skipped line.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from smallagents.errors import InputError

OnError = Literal["stop", "skip"]
MAX_LINE_BYTES = 1_000_000
MAX_DEPTH = 100
"""How deeply a record's objects and arrays may nest. Deeper records are refused
as bad lines: Python's JSON reader and writer recurse, and a record nested 10,000
levels deep would otherwise end the job with a RecursionError."""


@dataclass(frozen=True)
class InputRecord:
    """One input record and where it came from (1-based line or row)."""

    line: int
    data: dict[str, Any]


@dataclass
class SkippedLines:
    """Lines skipped with ``on_error="skip"``, for the report."""

    lines: list[dict[str, Any]] = field(default_factory=list)

    def add(self, line: int, reason: str) -> None:
        self.lines.append({"line": line, "reason": reason})


def read_records(
    source: str,
    *,
    on_error: OnError = "stop",
    skipped: SkippedLines | None = None,
    max_line_bytes: int = MAX_LINE_BYTES,
) -> Iterator[InputRecord]:
    """Yield the records of ``source`` (a path, or ``-`` for standard input).

    Raises:
        InputError: the file is missing or unreadable, or (with ``on_error="stop"``)
            a record is malformed.
    """
    skipped = skipped if skipped is not None else SkippedLines()
    if source == "-":
        yield from _jsonl(sys.stdin.buffer, "<stdin>", on_error, skipped, max_line_bytes)
        return
    path = Path(source)
    if not path.is_file():
        raise InputError(
            f"Input file {path} does not exist." if not path.exists() else f"{path} is not a file.",
            fix="check the --input path.",
        )
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        yield from _parquet(path)
    elif suffix == ".csv":
        yield from _csv(path, on_error, skipped)
    elif suffix == ".json" and _starts_an_array(path):
        yield from _json_array(path, on_error, skipped)
    else:  # .jsonl, anything else, and a .json file of one object per line (BFCL's files)
        with path.open("rb") as handle:
            yield from _jsonl(handle, str(path), on_error, skipped, max_line_bytes)


def _starts_an_array(path: Path) -> bool:
    """Whether a ``.json`` file holds one JSON array (else: one object per line)."""
    with path.open("rb") as handle:
        while chunk := handle.read(4096):
            stripped = chunk.lstrip(b" \t\r\n\xef\xbb\xbf")
            if stripped:
                return stripped.startswith(b"[")
    return True  # an empty file: the array reader says it holds no records


def _problem(
    where: str, line: int, reason: str, on_error: OnError, skipped: SkippedLines, fix: str
) -> None:
    if on_error == "skip":
        skipped.add(line, reason)
        return
    raise InputError(
        f"{where} line {line}: {reason}.", fix=f"{fix}, or pass --on-error skip to skip such lines"
    )


def _jsonl(
    handle: io.BufferedIOBase | Any,
    where: str,
    on_error: OnError,
    skipped: SkippedLines,
    max_line_bytes: int,
) -> Iterator[InputRecord]:
    number = 0
    while True:
        raw = handle.readline(max_line_bytes + 1)
        if not raw:
            return
        number += 1
        if len(raw) > max_line_bytes and not raw.endswith(b"\n"):
            while raw and not raw.endswith(b"\n"):  # drain the rest of the huge line
                raw = handle.readline(max_line_bytes + 1)
            _problem(
                where,
                number,
                f"longer than {max_line_bytes} bytes",
                on_error,
                skipped,
                "split the record or raise the limit",
            )
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            _problem(
                where,
                number,
                f"not UTF-8 ({error.reason} at byte {error.start})",
                on_error,
                skipped,
                "re-encode the file as UTF-8 (e.g. iconv -t UTF-8)",
            )
            continue
        if not text.strip():
            continue
        try:
            data = _loads(text)
        except ValueError as error:
            _problem(where, number, f"not valid JSON ({error})", on_error, skipped, "fix the line")
            continue
        except RecursionError:
            _problem(where, number, _TOO_DEEP, on_error, skipped, _FLATTEN)
            continue
        if _too_deep(text, data):
            _problem(where, number, _TOO_DEEP, on_error, skipped, _FLATTEN)
            continue
        if not isinstance(data, dict):
            _problem(
                where,
                number,
                f"a JSON {type(data).__name__}, not an object",
                on_error,
                skipped,
                "make every line one JSON object",
            )
            continue
        yield InputRecord(number, data)


def _refuse_constant(name: str) -> Any:
    # Python's json reads NaN and Infinity, which are not JSON and would be
    # written back out as invalid JSON.
    raise ValueError(f"{name} is not JSON")


def _loads(text: str) -> Any:
    return json.loads(text, parse_constant=_refuse_constant)


_TOO_DEEP = f"nested more than {MAX_DEPTH} levels deep"
_FLATTEN = "flatten the record (or store the deep part as a JSON string)"


def _too_deep(text: str, data: Any) -> bool:
    """Whether ``data`` (parsed from ``text``) nests deeper than `MAX_DEPTH`."""
    if text.count("{") + text.count("[") <= MAX_DEPTH:  # cannot be that deep: skip the walk
        return False
    return depth(data) > MAX_DEPTH


def depth(value: Any) -> int:
    """How deeply ``value``'s dicts and lists nest (a scalar: 0), without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        level += 1
        deepest = max(deepest, level)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((child, level) for child in children)
    return deepest


def _json_array(path: Path, on_error: OnError, skipped: SkippedLines) -> Iterator[InputRecord]:
    try:
        text = path.read_bytes().decode("utf-8")
        data = _loads(text)
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8.", fix="re-encode the file as UTF-8.") from None
    except ValueError as error:
        raise InputError(f"{path} is not valid JSON: {error}.", fix="fix the file.") from None
    except RecursionError:
        raise InputError(f"{path} is {_TOO_DEEP}.", fix=f"{_FLATTEN}.") from None
    if not isinstance(data, list):
        raise InputError(
            f"{path} holds a JSON {type(data).__name__}, not an array of records.",
            fix="wrap the records in [...], or write one object per line as .jsonl.",
        )
    deep = text.count("{") + text.count("[") > MAX_DEPTH
    for index, item in enumerate(data, start=1):
        if isinstance(item, dict) and deep and depth(item) > MAX_DEPTH:
            _problem(str(path), index, _TOO_DEEP, on_error, skipped, _FLATTEN)
        elif isinstance(item, dict):
            yield InputRecord(index, item)
        else:
            _problem(
                str(path),
                index,
                f"item is a JSON {type(item).__name__}, not an object",
                on_error,
                skipped,
                "make every item an object",
            )


def _csv(path: Path, on_error: OnError, skipped: SkippedLines) -> Iterator[InputRecord]:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8.", fix="re-encode the file as UTF-8.") from None
    # A field may be as long as a JSONL line may (the csv module stops at 131,072
    # characters by default, with a traceback).
    csv.field_size_limit(max(csv.field_size_limit(), MAX_LINE_BYTES))
    reader = csv.DictReader(io.StringIO(text))
    while True:
        before = reader.line_num
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            line = reader.line_num + 1  # the line it was reading
            _problem(str(path), line, f"not valid CSV ({error})", on_error, skipped, "fix the row")
            if reader.line_num <= before:  # no progress: nothing more can be read
                return
            continue
        line = reader.line_num
        if None in row or any(value is None for value in row.values()):
            _problem(str(path), line, "wrong number of fields", on_error, skipped, "fix the row")
            continue
        yield InputRecord(line, {key: value for key, value in row.items() if key})


def _parquet(path: Path) -> Iterator[InputRecord]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError(
            f"Reading {path} needs pyarrow, which is not installed.",
            fix="pip install 'smallagents[parquet]'.",
        ) from None
    import pyarrow as pa

    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as error:
        first = " ".join(str(error).split())[:200] or type(error).__name__
        raise InputError(
            f"{path} is not a readable Parquet file ({first}).",
            fix="check that the file was written completely (a truncated or partly copied "
            "file cannot be read), or give the records as JSONL.",
        ) from None
    for index, row in enumerate(table.to_pylist(), start=1):
        yield InputRecord(index, row)

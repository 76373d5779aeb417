"""Property-based tests (hypothesis): schema parsing, vote keys and input reading."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smallagents import compile_schema
from smallagents.jobs.inputs import InputError, SkippedLines, read_records
from smallagents.structured.schema import RedFlag
from smallagents.voting import canonical_key

JSON_LEAVES = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
SCHEMA = compile_schema(
    {
        "type": "object",
        "properties": {
            "name": {"type": "string", "maxLength": 20},
            "score": {"type": "integer", "minimum": 1, "maximum": 10},
            "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
        },
        "required": ["name", "score"],
    }
)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(JSON_VALUES)
def test_parse_accepts_exactly_what_the_schema_allows(value: Any) -> None:
    text = json.dumps(value)
    try:
        parsed = SCHEMA.parse(text)
    except RedFlag as flag:
        assert flag.reason  # every refusal says why
        return
    # Whatever is accepted really is an object of the schema's shape.
    assert isinstance(parsed, dict) and set(parsed) <= {"name", "score", "tags"}
    assert isinstance(parsed["score"], int) and 1 <= parsed["score"] <= 10
    assert len(parsed["name"]) <= 20


@FAST
@given(st.binary(max_size=200))
def test_parse_never_crashes_on_arbitrary_bytes(raw: bytes) -> None:
    text = raw.decode("utf-8", "replace")
    try:
        value = SCHEMA.parse(text)
    except RedFlag as flag:
        assert flag.reason
    else:
        SCHEMA.check(value)  # accepted only if it really fits


@FAST
@given(st.sampled_from(["NaN", "Infinity", "-Infinity"]))
def test_non_finite_numbers_are_red_flags(constant: str) -> None:
    try:
        SCHEMA.parse(f'{{"name":"x","score":{constant}}}')
    except RedFlag as flag:
        assert "not JSON" in flag.reason
    else:
        raise AssertionError("a non-finite number was accepted")


@FAST
@given(st.dictionaries(st.text(max_size=6), JSON_VALUES, max_size=6))
def test_vote_key_ignores_key_order_and_round_trips(value: dict[str, Any]) -> None:
    reordered = dict(reversed(list(value.items())))
    assert canonical_key(value) == canonical_key(reordered)
    assert json.loads(canonical_key(value)) == json.loads(json.dumps(value))


@FAST
@given(st.integers(min_value=1, max_value=60))
def test_vote_key_handles_deep_nesting(depth: int) -> None:
    nested: Any = 1
    for _ in range(depth):
        nested = {"a": [nested]}
    assert canonical_key(nested).count("[") == depth


@FAST
@given(st.lists(st.one_of(JSON_VALUES.map(json.dumps), st.binary(max_size=40)), max_size=8))
def test_reading_jsonl_never_crashes_and_accounts_for_every_line(lines: list[Any]) -> None:
    payload = b"".join(
        (line.encode() if isinstance(line, str) else line).replace(b"\n", b" ") + b"\n"
        for line in lines
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "in.jsonl"
        path.write_bytes(payload)
        skipped = SkippedLines()
        records = list(read_records(str(path), on_error="skip", skipped=skipped))
    blank = sum(
        1 for line in payload.split(b"\n")[:-1] if not line.decode("utf-8", "replace").strip()
    )
    assert len(records) + len(skipped.lines) + blank == len(lines)
    assert all(isinstance(record.data, dict) for record in records)
    for record in records:  # what was read is finite, standard JSON again
        json.dumps(record.data, allow_nan=False)


@FAST
@given(st.text(min_size=1, max_size=30))
def test_stop_mode_reports_the_bad_line(garbage: str) -> None:
    line = garbage.replace("\n", " ").replace("\r", " ")
    if not line.strip() or line.strip().startswith("{"):
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "in.jsonl"
        path.write_text('{"ok": 1}\n' + line + "\n", encoding="utf-8")
        try:
            list(read_records(str(path)))
        except InputError as error:
            assert "line 2" in str(error) and "\n" not in str(error)
        else:
            raise AssertionError(f"{line!r} was read as a record")


def test_nan_in_input_is_refused() -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "in.jsonl"
        path.write_text('{"x": NaN}\n', encoding="utf-8")
        try:
            list(read_records(str(path)))
        except InputError as error:
            assert "NaN" in str(error)
        else:
            raise AssertionError("NaN was accepted")

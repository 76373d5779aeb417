"""A ``.json`` input is a JSON array, or one object per line as BFCL writes its files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from smallagents.errors import InputError
from smallagents.jobs.inputs import read_records

BFCL_LINES = [
    {"id": "live_simple_0-0-0", "question": [[{"role": "user", "content": "Hi"}]], "function": []},
    {"id": "live_simple_1-1-0", "question": [[{"role": "user", "content": "Yo"}]], "function": []},
]


def test_a_bfcl_category_file_reads_as_lines(tmp_path: Path) -> None:
    path = tmp_path / "BFCL_v4_live_simple.json"
    path.write_text("".join(json.dumps(r) + "\n" for r in BFCL_LINES))
    assert [r.data for r in read_records(str(path))] == BFCL_LINES


def test_a_json_array_still_reads_as_an_array(tmp_path: Path) -> None:
    path = tmp_path / "records.json"
    path.write_text("\n  " + json.dumps(BFCL_LINES, indent=2))
    assert [r.data["id"] for r in read_records(str(path))] == [r["id"] for r in BFCL_LINES]


def test_a_broken_line_in_a_json_lines_file_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(BFCL_LINES[0]) + "\n{not json\n")
    with pytest.raises(InputError, match="line 2"):
        list(read_records(str(path)))

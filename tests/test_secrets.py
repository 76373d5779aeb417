"""API keys never leak: not into outputs, rejects, job state, reports, errors or logs."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from typer.testing import CliRunner

from smallagents.cli import app
from tests.servers import free_port, openai_handler, start_fake_server

KEY = "sk-SECRET-marker-9f3c2a"
ROLES = '''
from pydantic import BaseModel
import smallagents


class Label(BaseModel):
    label: str


@smallagents.role(max_tokens=16, unsure=lambda value: True, fallback="{fallback}")
def label(text: str) -> Label:
    """Label this text with one word: {{text}}"""
'''


def _scan(folder: Path, extra: str) -> list[str]:
    leaks = [str(p) for p in folder.rglob("*") if p.is_file() and KEY.encode() in p.read_bytes()]
    return leaks + (["stdout/stderr/logs"] if KEY in extra else [])


@pytest.mark.server
def test_a_job_that_escalates_with_a_key_set_leaks_it_nowhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("SMALLAGENTS_API_KEY", KEY)
    caplog.set_level(logging.DEBUG)
    with start_fake_server(openai_handler('{"label":"fine"}')) as server:
        (tmp_path / "roles.py").write_text(ROLES.replace("{fallback}", server.spec()))
        (tmp_path / "in.jsonl").write_text('{"id":"a","text":"hello"}\n{"id":"b","text":"bye"}\n')
        result = CliRunner().invoke(
            app,
            ["run", "label", "--roles", str(tmp_path / "roles.py"), "--input",
             str(tmp_path / "in.jsonl"), "--output", str(tmp_path / "out.jsonl"),
             "--report", str(tmp_path / "report.json"), "--workers", "1"],
        )  # fmt: skip
        sent = [r.headers.get("authorization") for r in server.posts()]
    assert result.exit_code == 0, result.output
    assert sent and all(header == f"Bearer {KEY}" for header in sent)  # the key was used
    records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert {r["status"] for r in records} == {"escalated"}
    assert _scan(tmp_path, result.output + caplog.text) == []


def test_an_unreachable_endpoint_error_does_not_show_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMALLAGENTS_API_KEY", KEY)
    spec = f"openai:http://127.0.0.1:{free_port()}/v1#big"
    result = CliRunner().invoke(app, ["demo", "--model", spec])
    assert result.exit_code == 3
    assert "Cannot reach" in result.stderr and KEY not in result.output

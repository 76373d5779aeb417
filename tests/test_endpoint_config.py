"""``[endpoints]`` in smallagents.toml: checked keys, and the settings reach the clients."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fault_job import LONG_TOPIC
from faults import Fault, cycle, start_fault_server
from typer.testing import CliRunner

from smallagents.cli import app
from smallagents.jobs.config import ConfigError, load_config
from smallagents.models.openai import OpenAIModel
from smallagents.models.pool import ModelPool

runner = CliRunner()
URL = "http://127.0.0.1:9/v1"


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "smallagents.toml"
    path.write_text(text)
    return path


def test_endpoint_tables_are_read_and_urls_normalized(tmp_path: Path) -> None:
    config = load_config(
        _config(
            tmp_path,
            "[endpoints.default]\ntimeout = 5\nretries = 0\n"
            f'[endpoints."{URL}/"]\ndeadline = 7.5\nstructured_output = "json_object"\n',
        )
    )
    assert config.endpoints == {
        "default": {"timeout": 5, "retries": 0},
        URL: {"deadline": 7.5, "structured_output": "json_object"},
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[endpoints.default]\ntimout = 5\n", "unknown key(s) timout in [endpoints.default]"),
        ("[endpoints.default]\nretries = true\n", "retries = True is not a number"),
        ('[endpoints.default]\ntimeout = "5"\n', "timeout = '5' is not a number"),
        ("[endpoints.default]\ndeadline = 0\n", "deadline = 0 must be positive"),
        ("[endpoints.default]\nretries = -1\n", "retries = -1 must be positive"),
        ('[endpoints.default]\nstructured_output = "xml"\n', "'xml' is not a mode"),
        ("[endpoints]\ndefault = 3\n", "[endpoints.default] must be a table"),
    ],
)
def test_bad_endpoint_settings_are_one_line_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(_config(tmp_path, text))
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_the_pool_gives_clients_the_settings_of_their_endpoint() -> None:
    pool = ModelPool(
        threads=1,
        endpoints={
            "default": {"timeout": 5, "retries": 0, "breaker_threshold": 9},
            URL: {"timeout": 2, "deadline": 3},
        },
    )
    try:
        here = pool.load(f"openai:{URL}/#m")
        other = pool.load("openai:http://127.0.0.1:10/v1#m")
        explicit = pool.load(f"openai:{URL}#m", retries=4)
        assert isinstance(here, OpenAIModel) and isinstance(other, OpenAIModel)
        assert isinstance(explicit, OpenAIModel)
        assert (here._timeout, here._deadline, here._retries) == (2, 3, 0)  # URL over default
        assert here.breaker.threshold == 9
        assert (other._timeout, other._deadline, other._retries) == (5, 10, 0)  # default only
        assert explicit._retries == 4  # options given to load() win
    finally:
        pool.close()


def test_a_job_calls_its_fallback_as_patiently_as_the_config_says(tmp_path: Path) -> None:
    """The same job against an endpoint that always answers 500: retries from the config."""
    rows = [{"id": "short", "topic": "apples"}, {"id": "long", "topic": LONG_TOPIC}]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    roles = str(Path(__file__).resolve().parent / "fault_job.py")
    chats = {}
    for retries in (0, 3):
        with start_fault_server(cycle([Fault("500")]), lambda _: "{}") as server:
            config = _config(
                tmp_path,
                f'[run]\nfallback = "{server.spec()}"\n'
                f"[endpoints.default]\nretries = {retries}\nbackoff = 0\n"
                'structured_output = "json_schema"\n',
            )
            result = runner.invoke(
                app,
                [
                    *("run", "topic_word", "--roles", roles, "--quiet", "--fresh"),
                    *("--input", str(tmp_path / "in.jsonl"), "--workers", "1"),
                    *("--output", str(tmp_path / "out.jsonl"), "--config", str(config)),
                ],
            )
            assert result.exit_code == 0, result.output
            chats[retries] = server.posts
        rejects = (tmp_path / "out.rejects.jsonl").read_text().splitlines()
        assert [json.loads(line)["id"] for line in rejects] == ["long"]
        assert "HTTP 500" in json.loads(rejects[0])["reason"]
    assert chats == {0: 1, 3: 4}  # one escalation: 1 + retries tries

"""Hostile and careless input to `smallagents run`: a job never destroys, mixes or leaks
what it was pointed at.

Every case goes through the real command line (typer's CliRunner, or a child process
where two jobs must run at once) and checks three things: the exit code, the one-line
message (with its fix), and that every file the job was pointed at is byte for byte
what it was, or holds each record exactly once. Most cases run on model-free
pipelines (``SAFETY`` below): the subject is the job's own bookkeeping, which no model
can drive on purpose. Where the model is the subject (an endpoint that is down, one
that echoes the key), a real HTTP client talks to a closed port or a fake server.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from servers import Reply, Request, free_port, start_fake_server
from typer.testing import CliRunner, Result

from smallagents.cli import app

runner = CliRunner()

# Model-free pipelines, written beside each job as a user's graphs file would be.
SAFETY = '''
import time
from pathlib import Path

from smallagents.errors import EndpointError
from smallagents.jobs.pipelines import UnitResult


class Echo:
    """Each record back, with its unit seed; a record's "delay" makes it slow."""

    name = "echo"

    def required_fields(self):
        return ("text",)

    def run_unit(self, data, *, run, seed, unit_id):
        time.sleep(float(data.get("delay", 0)))
        return UnitResult(outputs=[{"id": unit_id, "seed": seed, "text": data["text"]}])


class Endpoint:
    """A record marked "down" calls an endpoint that is down until its marker file exists."""

    name = "endpoint"

    def required_fields(self):
        return ("text",)

    def run_unit(self, data, *, run, seed, unit_id):
        if data.get("down") and not Path(data["marker"]).exists():
            raise EndpointError(
                "Cannot reach http://127.0.0.1:9/v1: connection refused.",
                url="http://127.0.0.1:9/v1",
                fix="start the server.",
            )
        return UnitResult(outputs=[{"id": unit_id, "text": data["text"]}])


echo = Echo()
endpoint = Endpoint()
'''


def write_records(path: Path, records: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(record) + "\n" for record in records))


@pytest.fixture
def job(tmp_path: Path) -> Path:
    """A folder with the pipelines file and five input records."""
    (tmp_path / "safety.py").write_text(SAFETY)
    write_records(tmp_path / "in.jsonl", [{"id": f"r{i}", "text": f"t{i}"} for i in range(5)])
    return tmp_path


def run(job: Path, *extra: str, pipeline: str = "echo", source: str = "in.jsonl") -> Result:
    os.chdir(job)  # relative paths below are the job folder's, as a user's would be
    return runner.invoke(
        app,
        ["run", pipeline, "--graphs", str(job / "safety.py"), "--quiet",
         "--input", source, *extra],
    )  # fmt: skip


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder``, by relative path (links as the bytes they reach)."""
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def one_line_error(result: Result, code: int, *expected: str) -> str:
    """The error line, after checking the exit code, that it is one line with a fix and
    holds each of ``expected``."""
    assert result.exit_code == code, result.output
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1, message
    assert "Traceback" not in result.output and message.count("Fix:") == 1, message
    for part in expected:
        assert part in message, message
    return message


def ids(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [json.loads(line)["id"] for line in path.read_text().splitlines()]


def each_once(job: Path, expected: set[str], output: str = "out.jsonl") -> None:
    """Every expected unit id in the output or its rejects exactly once, nothing else."""
    rejects = output.removesuffix(".jsonl") + ".rejects.jsonl"
    seen = Counter(ids(job / output) + ids(job / rejects))
    assert set(seen) == expected and set(seen.values()) == {1}, seen


@pytest.fixture(autouse=True)
def _keep_working_directory() -> Any:
    here = os.getcwd()
    yield
    os.chdir(here)


# --- 1. never destroy a file the job was pointed at -----------------------------------------


def _links(job: Path) -> None:
    (job / "soft.jsonl").symlink_to(job / "in.jsonl")
    os.link(job / "in.jsonl", job / "hard.jsonl")
    (job / "cfg.toml").write_text("[run]\nseed = 1\n")
    write_records(job / "out.rejects.jsonl", [{"id": "x", "text": "a user's own file"}])


@pytest.mark.parametrize(
    ("arguments", "source", "expected"),
    [
        (["--output", "in.jsonl"], "in.jsonl", "--output and --input are the same file"),
        (["--output", "out.jsonl"], "out.rejects.jsonl", "--rejects and --input"),
        (["--output", "o.jsonl", "--rejects", "o.jsonl"], "in.jsonl", "--rejects and --output"),
        (["--output", "o.jsonl", "--state", "o.jsonl"], "in.jsonl", "--state and --output"),
        (["--output", "o.jsonl", "--state", "in.jsonl"], "in.jsonl", "--state and --input"),
        (["--output", "soft.jsonl"], "in.jsonl", "--output and --input are the same file"),
        (["--output", "hard.jsonl"], "in.jsonl", "--output and --input are the same file"),
        (["--output", "o.jsonl", "--report", "in.jsonl"], "in.jsonl", "--report and --input"),
        (["--output", "cfg.toml", "--config", "cfg.toml"], "in.jsonl", "--output and --config"),
        (["--output", "o.parquet", "--rejects", "o.parquet.jsonl"], "in.jsonl", "journal"),
    ],
)
def test_a_job_whose_files_overlap_is_refused_before_it_writes(
    job: Path, arguments: list[str], source: str, expected: str
) -> None:
    """The job would truncate, interleave or overwrite one of its own files: refused,
    paths compared by device and inode (a symbolic or hard link is the same file)."""
    _links(job)
    before = snapshot(job)
    result = run(job, *arguments, source=source)
    one_line_error(result, 2, expected, "Fix: give")
    assert snapshot(job) == before  # nothing written, nothing created


def test_an_output_with_lines_but_no_job_state_is_refused_unless_fresh(job: Path) -> None:
    write_records(job / "out.jsonl", [{"id": "mine", "text": "a user's records"}])
    before = snapshot(job)
    refused = run(job, "--output", "out.jsonl")
    one_line_error(refused, 2, "out.jsonl already holds", "no job state", "--fresh")
    assert snapshot(job) == before
    # The job's own output (state present) resumes as always; --fresh takes it over.
    assert run(job, "--output", "out.jsonl", "--fresh").exit_code == 0
    each_once(job, {f"r{i}" for i in range(5)})
    assert run(job, "--output", "out.jsonl").exit_code == 0
    each_once(job, {f"r{i}" for i in range(5)})
    # A state deleted by hand cannot vouch for the output any more.
    (job / "out.jsonl.state.sqlite").unlink()
    kept = snapshot(job)
    one_line_error(run(job, "--output", "out.jsonl"), 2, "no job state")
    assert snapshot(job) == kept


def test_a_second_job_on_the_same_files_is_refused_while_the_first_runs(job: Path) -> None:
    records = [{"id": f"s{i}", "text": f"slow {i}", "delay": 0.3} for i in range(8)]
    write_records(job / "in.jsonl", records)
    first = subprocess.Popen(
        [sys.executable, "-m", "smallagents", "run", "echo", "--graphs", str(job / "safety.py"),
         "--input", str(job / "in.jsonl"), "--output", str(job / "out.jsonl"), "--quiet",
         "--workers", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not ids(job / "out.jsonl") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ids(job / "out.jsonl") and first.poll() is None, "the first job ended too soon"
    second = run(job, "--output", "out.jsonl", "--workers", "1")
    one_line_error(second, 2, "Another job is running on", "(it holds the lock")
    # Also through another path to the same files, and with only the state shared.
    os.link(job / "out.jsonl", job / "alias.jsonl")
    one_line_error(run(job, "--output", "alias.jsonl", "--state", "out.jsonl.state.sqlite"), 2)
    assert first.wait(timeout=120) == 0, first.stderr.read() if first.stderr else ""
    each_once(job, {f"s{i}" for i in range(8)})
    for line in (job / "out.jsonl").read_text().splitlines():
        json.loads(line)  # no torn line
    pytest.importorskip("pyarrow")
    exported = runner.invoke(app, ["export", str(job / "out.jsonl"), "--to", str(job / "ds")])
    assert exported.exit_code == 0, exported.output


# --- 2. a resume refuses anything that would change the records -----------------------------


def test_an_input_edited_between_runs_is_refused_unless_fresh(job: Path) -> None:
    assert run(job, "--output", "out.jsonl").exit_code == 0
    lines = (job / "in.jsonl").read_text().replace('"t3"', '"t3 edited"')
    (job / "in.jsonl").write_text(lines)
    before = snapshot(job)
    refused = run(job, "--output", "out.jsonl")
    one_line_error(refused, 2, "another configuration", "the input's records", "--fresh")
    assert snapshot(job) == before
    assert run(job, "--output", "out.jsonl", "--fresh").exit_code == 0
    texts = [json.loads(line)["text"] for line in (job / "out.jsonl").read_text().splitlines()]
    assert "t3 edited" in texts and "t3" not in texts


@pytest.mark.parametrize(
    ("first", "second", "changed"),
    [
        ("[escalation]\nmax_count = 3\n", "[escalation]\nmax_count = 4\n", "budget"),
        ("[escalation]\nmax_share = 0.2\n", "[escalation]\nmax_share = 0.5\n", "budget"),
        ("[run]\nvotes = 1\n", "[run]\nvotes = 3\n", "defaults.votes"),
        ("[run]\nseed = 1\n", "[run]\nseed = 2\n", "seed"),
        ('[roles.echo]\nmodel = "default"\n', '[roles.echo]\nmodel = "gemma-270m"\n', "roles"),
    ],
)
def test_a_resume_with_another_record_changing_setting_is_refused(
    job: Path, first: str, second: str, changed: str
) -> None:
    (job / "a.toml").write_text(first)
    assert run(job, "--output", "out.jsonl", "--config", "a.toml").exit_code == 0
    (job / "a.toml").write_text(second)
    before = snapshot(job)
    message = one_line_error(
        run(job, "--output", "out.jsonl", "--config", "a.toml"), 2, "another configuration"
    )
    assert changed in message
    assert snapshot(job) == before


def test_run_settings_from_the_file_apply_unless_the_command_line_gives_them(job: Path) -> None:
    (job / "a.toml").write_text("[run]\nsamples_per_seed = 3\nseed = 7\n")
    assert run(job, "--output", "file.jsonl", "--config", "a.toml").exit_code == 0
    records = [json.loads(line) for line in (job / "file.jsonl").read_text().splitlines()]
    assert sorted(r["id"] for r in records) == sorted(
        f"r{i}-{k}" for i in range(5) for k in range(3)
    )
    given = run(
        job, "--output", "cli.jsonl", "--config", "a.toml", "--samples-per-seed", "1",
        "--seed", "7",
    )  # fmt: skip
    assert given.exit_code == 0
    default = run(job, "--output", "default.jsonl", "--samples-per-seed", "1")
    assert default.exit_code == 0
    seeds_cli = [json.loads(line)["seed"] for line in (job / "cli.jsonl").read_text().splitlines()]
    seeds_default = [
        json.loads(x)["seed"] for x in (job / "default.jsonl").read_text().splitlines()
    ]
    assert len(seeds_cli) == 5 and seeds_cli != seeds_default  # the file's seed 7 applied


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[run]\nseed = "abc"\n', '[run] seed = "abc" is not a whole number'),
        ('[run]\nworkers = "many"\n', '[run] workers = "many" is not a whole number'),
        ('[run]\nvotes = "x"\n', '[run] votes = "x" is not a whole number'),
        ("[run]\nvotes = 0\n", "[run] votes = 0 is below 1"),
        ("[run]\nsamples_per_seed = 0\n", "samples_per_seed = 0 is below 1"),
        ("[run]\nseed = true\n", "seed = true is not a whole number"),
        ('[run]\non_error = "maybe"\n', "on_error = \"maybe\" is not one of 'skip', 'stop'"),
        ("[run]\nmodel = 3\n", "model = 3 is not a model spec"),
        ('[roles.echo]\nvotes = "y"\n', '[roles.echo] votes = "y" is not a whole number'),
        ("[escalation]\nmax_share = 2\n", "max_share = 2 is not a share between 0 and 1"),
        ("[escalation]\nmax_count = -1\n", "max_count = -1 is below 0"),
        ("run = 3\n", "run must be a table"),
    ],
)
def test_config_values_of_the_wrong_type_are_one_line(job: Path, text: str, expected: str) -> None:
    (job / "a.toml").write_text(text)
    before = snapshot(job)
    one_line_error(run(job, "--output", "out.jsonl", "--config", "a.toml"), 2, expected)
    assert snapshot(job) == before


def test_a_model_for_a_role_the_pipeline_does_not_have_is_refused(tmp_path: Path) -> None:
    roles = Path(__file__).with_name("sentiment_roles.py")
    write_records(tmp_path / "in.jsonl", [{"id": "a", "text": "hi"}])
    before = snapshot(tmp_path)
    result = runner.invoke(
        app,
        ["run", "sentiment", "--roles", str(roles), "--input", str(tmp_path / "in.jsonl"),
         "--output", str(tmp_path / "out.jsonl"), "--model", "sentimnet=gemma-270m"],
    )  # fmt: skip
    one_line_error(result, 2, "--model sentimnet=... names no role of sentiment", "sentiment")
    gra = runner.invoke(
        app,
        ["run", "gra", "--input", str(tmp_path / "in.jsonl"),
         "--output", str(tmp_path / "out.jsonl"), "--model", "nosuchrole=default"],
    )  # fmt: skip
    one_line_error(gra, 2, "names no role of gra", "gra_generator")
    assert snapshot(tmp_path) == before


# --- 2. transient model failures: exit code 3, --retry-failed exactly once ------------------


def test_records_failed_for_an_unreachable_model_are_retried_exactly_once(job: Path) -> None:
    marker = job / "server-is-up"
    records = [
        {"id": f"e{i}", "text": f"t{i}", "down": i % 2 == 0, "marker": str(marker)}
        for i in range(6)
    ]
    write_records(job / "in.jsonl", records)
    everything = {f"e{i}" for i in range(6)}
    # Some records failed, some did not: the job ends 0 and says so in its report.
    mixed = run(job, "--output", "out.jsonl", "--report", "r.json", pipeline="endpoint")
    assert mixed.exit_code == 0, mixed.output
    assert json.loads((job / "r.json").read_text())["counters"]["model_unreachable"] == 3
    assert ids(job / "out.rejects.jsonl") == ["e0", "e2", "e4"]
    each_once(job, everything)
    # The summary says how many --retry-failed would run again.
    shown = runner.invoke(
        app,
        ["run", "endpoint", "--graphs", str(job / "safety.py"), "--input", "in.jsonl",
         "--output", "out.jsonl"],
    )  # fmt: skip
    assert shown.exit_code == 0 and "model unreachable (--retry-failed)" in shown.stderr
    # A rerun has nothing to do; --retry-failed runs the three again, once.
    marker.write_text("up")
    again = run(job, "--output", "out.jsonl", pipeline="endpoint")
    assert again.exit_code == 0 and ids(job / "out.rejects.jsonl") == ["e0", "e2", "e4"]
    retried = run(job, "--output", "out.jsonl", "--retry-failed", "--report", "r.json",
                  pipeline="endpoint")  # fmt: skip
    assert retried.exit_code == 0, retried.output
    assert ids(job / "out.rejects.jsonl") == []
    assert ids(job / "out.jsonl") == ["e1", "e3", "e5", "e0", "e2", "e4"]  # retried ones last
    each_once(job, everything)
    report = json.loads((job / "r.json").read_text())
    assert report["units"] == {"total": 6, "done": 6} and report["records"]["accepted"] == 6
    assert "model_unreachable" not in report["counters"]
    # Retrying again finds nothing to retry and changes nothing.
    before = snapshot(job)
    assert run(job, "--output", "out.jsonl", "--retry-failed", pipeline="endpoint").exit_code == 0
    assert {k: v for k, v in snapshot(job).items() if "sqlite" not in k} == {
        k: v for k, v in before.items() if "sqlite" not in k
    }


def test_a_job_whose_every_record_failed_for_an_unreachable_model_exits_3(job: Path) -> None:
    marker = job / "server-is-up"
    records = [{"id": f"d{i}", "text": "x", "down": True, "marker": str(marker)} for i in range(3)]
    write_records(job / "in.jsonl", records)
    failed = run(job, "--output", "out.jsonl", pipeline="endpoint")
    one_line_error(failed, 3, "Every record (3) was rejected because a model could not be",
                   "--retry-failed")  # fmt: skip
    each_once(job, {"d0", "d1", "d2"})
    marker.write_text("up")
    fixed = run(job, "--output", "out.jsonl", "--retry-failed", pipeline="endpoint")
    assert fixed.exit_code == 0, fixed.output
    assert ids(job / "out.jsonl") == ["d0", "d1", "d2"] and ids(job / "out.rejects.jsonl") == []


ENDPOINT_ROLE = '''
from pydantic import BaseModel
import smallagents


class Label(BaseModel):
    label: str


@smallagents.role(model="{spec}", max_tokens=16)
def label(text: str) -> Label:
    """Label this text with one word: {{text}}"""
'''


def test_a_role_whose_endpoint_is_down_exits_3_and_retries_later(tmp_path: Path) -> None:
    """The real path: an openai: role on a closed port, then on a server that answers."""
    port = free_port()
    spec = f"openai:http://127.0.0.1:{port}/v1#m"
    (tmp_path / "roles.py").write_text(ENDPOINT_ROLE.format(spec=spec))
    (tmp_path / "a.toml").write_text("[endpoints.default]\nretries = 0\ntimeout = 5\n")
    write_records(tmp_path / "in.jsonl", [{"id": "a", "text": "good"}, {"id": "b", "text": "bad"}])
    command = ["run", "label", "--roles", str(tmp_path / "roles.py"), "--quiet",
               "--input", str(tmp_path / "in.jsonl"), "--output", str(tmp_path / "out.jsonl"),
               "--config", str(tmp_path / "a.toml"), "--workers", "1"]  # fmt: skip
    one_line_error(runner.invoke(app, command), 3, "Every record (2) was rejected")
    assert ids(tmp_path / "out.rejects.jsonl") == ["a", "b"]

    def answer(request: Request) -> Reply:
        if request.path.endswith("/models"):
            return Reply(body={"object": "list", "data": [{"id": "m", "object": "model"}]})
        message = {"role": "assistant", "content": '{"label":"fine"}'}
        usage = {"prompt_tokens": 3, "completion_tokens": 3}
        return Reply(body={"choices": [{"message": message, "finish_reason": "stop"}],
                           "usage": usage})  # fmt: skip

    with start_fake_server(answer, port=port):
        retried = runner.invoke(app, [*command, "--retry-failed"])
    assert retried.exit_code == 0, retried.output
    assert ids(tmp_path / "out.jsonl") == ["a", "b"] and ids(tmp_path / "out.rejects.jsonl") == []


def test_a_retry_killed_between_its_commit_and_its_rename_is_finished_by_the_next_start(
    job: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The retry rewrites the rejects file: a copy, one SQLite transaction, a rename. A
    kill after the transaction leaves the copy; the next start renames it."""
    from smallagents.jobs import state as job_state

    marker = job / "server-is-up"
    records = [{"id": f"k{i}", "text": "x", "down": i < 2, "marker": str(marker)} for i in range(4)]
    write_records(job / "in.jsonl", records)
    assert run(job, "--output", "out.jsonl", pipeline="endpoint").exit_code == 0
    marker.write_text("up")

    class Killed(BaseException):
        pass

    real_replace = os.replace

    def killed(*args: Any) -> None:
        raise Killed

    monkeypatch.setattr(job_state.os, "replace", killed)
    with pytest.raises(Killed):
        runner.invoke(
            app,
            ["run", "endpoint", "--graphs", str(job / "safety.py"), "--quiet", "--input",
             "in.jsonl", "--output", "out.jsonl", "--retry-failed"],
            catch_exceptions=False,
        )  # fmt: skip
    assert (job / "out.rejects.jsonl.retry.partial").exists()  # the copy waits
    monkeypatch.setattr(job_state.os, "replace", real_replace)
    assert run(job, "--output", "out.jsonl", pipeline="endpoint").exit_code == 0
    assert not (job / "out.rejects.jsonl.retry.partial").exists()
    each_once(job, {"k0", "k1", "k2", "k3"})
    assert ids(job / "out.rejects.jsonl") == []  # the committed retry was carried out


def test_a_stale_retry_copy_from_a_kill_before_the_commit_is_dropped(job: Path) -> None:
    assert run(job, "--output", "out.jsonl").exit_code == 0
    (job / "out.rejects.jsonl.retry.partial").write_text('{"id":"ghost"}\n')
    assert run(job, "--output", "out.jsonl").exit_code == 0
    assert not (job / "out.rejects.jsonl.retry.partial").exists()
    each_once(job, {f"r{i}" for i in range(5)})


# --- 3. data stays data ---------------------------------------------------------------------

KEY = "sk-ECHOED-key-7f3a91c2"


def _echo_headers(request: Request) -> Reply:
    # The header first, then enough text that an error message must cut the body short.
    echoed = json.dumps({"error": f"auth={request.headers.get('authorization')} " + "x" * 400})
    return Reply(status=400, body=echoed)


def _label_job(tmp_path: Path, spec: str) -> Result:
    (tmp_path / "roles.py").write_text(ENDPOINT_ROLE.format(spec=spec))
    write_records(tmp_path / "in.jsonl", [{"id": "a", "text": "hi"}])
    return runner.invoke(
        app,
        ["run", "label", "--roles", str(tmp_path / "roles.py"), "--quiet",
         "--input", str(tmp_path / "in.jsonl"), "--output", str(tmp_path / "out.jsonl"),
         "--report", str(tmp_path / "report.json"), "--workers", "1"],
    )  # fmt: skip


def _leaks(folder: Path, output: str, *secrets: str) -> list[str]:
    found = [
        f"{secret} in {name}"
        for secret in secrets
        for name, data in snapshot(folder).items()
        if secret.encode() in data and name != "roles.py"  # the user's own file names it
    ]
    return found + [f"{secret} in the output" for secret in secrets if secret in output]


def test_a_key_echoed_by_an_endpoint_reaches_no_file_or_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server that puts the request's Authorization header into its error body: the
    rejects, the job state, the report and the messages hold the echo, not the key."""
    monkeypatch.setenv("SMALLAGENTS_API_KEY", KEY)
    with start_fake_server(_echo_headers) as server:
        result = _label_job(tmp_path, server.spec("m"))
        sent = [r.headers.get("authorization") for r in server.posts()]
    assert sent and sent[0] == f"Bearer {KEY}"  # the key was really sent, and echoed
    rejects = (tmp_path / "out.rejects.jsonl").read_text()
    assert "auth=Bearer ***" in rejects  # the echo is kept, the key is not
    assert _leaks(tmp_path, result.output, KEY) == []


def test_a_password_in_an_endpoint_url_reaches_no_file_or_message(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """user:password@ in the URL: httpx sends it as Basic auth (and logs the URL), the
    server echoes it; no file, message or log line holds it."""
    caplog.set_level(logging.DEBUG)
    with start_fake_server(_echo_headers) as server:
        base = server.base_url.replace("http://", "http://alice:hunter2pass@")
        result = _label_job(tmp_path, f"openai:{base}#m")
        sent = [r.headers.get("authorization") for r in server.posts()]
    basic = "YWxpY2U6aHVudGVyMnBhc3M="  # base64 of alice:hunter2pass
    assert sent == [f"Basic {basic}"]
    rejects = (tmp_path / "out.rejects.jsonl").read_text()
    assert "auth=Basic ***" in rejects and "http://***@127.0.0.1" in rejects
    assert "http://***@127.0.0.1" in caplog.text  # httpx logged the request's URL
    logged = result.output + caplog.text
    assert _leaks(tmp_path, logged, "hunter2pass", "alice:", basic) == []


def test_rich_markup_in_paths_and_data_is_printed_as_text(job: Path) -> None:
    missing = run(job, "--output", "out.jsonl", source="we[/]ird/none[blink].jsonl")
    one_line_error(missing, 2, "we[/]ird/none[blink].jsonl does not exist")
    write_records(job / "dup.jsonl", [{"id": "[/]", "text": "a"}, {"id": "[/]", "text": "b"}])
    duplicate = run(job, "--output", "out.jsonl", source="dup.jsonl")
    one_line_error(duplicate, 2, "duplicate id '[/]'")


# --- 4. every bad input is one line with a fix, never a traceback ---------------------------


def _deep(levels: int) -> str:
    return "[" * levels + "]" * levels


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("deep.jsonl", '{"id":"a","text":"ok"}\n{"id":"b","text":' + _deep(10_000) + "}\n",
         "deep.jsonl line 2: nested more than 100 levels deep"),
        ("deep2.jsonl", '{"id":"a","text":"ok","x":' + _deep(150) + "}\n",
         "deep2.jsonl line 1: nested more than 100 levels deep"),
        ("deep.json", '[{"id":"a","text":' + _deep(10_000) + "}]",
         "deep.json is nested more than 100 levels deep"),
        ("huge.csv", "id,text\nc1," + "x" * 1_100_000 + "\n",
         "huge.csv line 2: not valid CSV (field larger than field limit"),
    ],
)  # fmt: skip
def test_bad_input_files_are_one_line(job: Path, name: str, content: str, expected: str) -> None:
    (job / name).write_text(content)
    before = snapshot(job)
    one_line_error(run(job, "--output", "out.jsonl", source=name), 2, expected, "Fix:")
    assert snapshot(job) == before


def test_a_deep_record_is_skipped_with_on_error_skip(job: Path) -> None:
    (job / "deep.jsonl").write_text(
        '{"id":"a","text":"ok"}\n{"id":"b","text":' + _deep(10_000) + "}\n"
    )
    result = run(job, "--output", "out.jsonl", "--on-error", "skip", "--report", "r.json",
                 source="deep.jsonl")  # fmt: skip
    assert result.exit_code == 0, result.output
    skipped = json.loads((job / "r.json").read_text())["skipped_lines"]
    assert skipped == [{"line": 2, "reason": "nested more than 100 levels deep"}]
    each_once(job, {"a"})


def test_a_csv_field_longer_than_the_csv_modules_default_limit_is_read(job: Path) -> None:
    (job / "long.csv").write_text("id,text\nc1," + "x" * 200_000 + "\nc2,short\n")
    assert run(job, "--output", "out.jsonl", source="long.csv").exit_code == 0
    each_once(job, {"c1", "c2"})


def test_a_truncated_parquet_input_is_one_line(job: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    rows = [{"id": str(i), "text": "t" * 100} for i in range(500)]
    pq.write_table(pa.Table.from_pylist(rows), job / "full.parquet")
    data = (job / "full.parquet").read_bytes()
    (job / "cut.parquet").write_bytes(data[: len(data) // 2])
    before = snapshot(job)
    one_line_error(run(job, "--output", "out.jsonl", source="cut.parquet"), 2,
                   "cut.parquet is not a readable Parquet file", "truncated")  # fmt: skip
    assert snapshot(job) == before


GGUF_ROLE = '''
from pydantic import BaseModel
import smallagents


class Label(BaseModel):
    label: str


@smallagents.role(model={path!r}, max_tokens=8)
def label(text: str) -> Label:
    """Label this text with one word: {{text}}"""
'''


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_a_damaged_gguf_file_stops_the_job_with_one_line(tmp_path: Path, damage: str) -> None:
    """The embedded model's file cut short, or its header with noise behind it: llama.cpp
    refuses both with a ValueError, which the job turns into one line."""
    from smallagents.models.embedded import embedded_path

    whole = embedded_path("default").read_bytes()
    body = whole[:3_000_000] if damage == "truncated" else whole[:4] + os.urandom(500_000)
    (tmp_path / "model.gguf").write_bytes(body)
    (tmp_path / "roles.py").write_text(GGUF_ROLE.format(path=str(tmp_path / "model.gguf")))
    write_records(tmp_path / "in.jsonl", [{"id": "a", "text": "hi"}, {"id": "b", "text": "yo"}])
    result = runner.invoke(
        app,
        ["run", "label", "--roles", str(tmp_path / "roles.py"), "--quiet", "--workers", "1",
         "--input", str(tmp_path / "in.jsonl"), "--output", str(tmp_path / "out.jsonl")],
    )  # fmt: skip
    one_line_error(result, 2, "model.gguf could not be loaded by llama.cpp", "truncated")
    assert ids(tmp_path / "out.jsonl") == [] and ids(tmp_path / "out.rejects.jsonl") == []

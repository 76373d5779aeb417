"""Jobs on a real local Ray cluster (127.0.0.1, two CPUs): same output as a local run,
actor deaths survived, a record that kills its actor every time rejected."""

# ruff: noqa: E402 - Ray's authentication settings must be in place before it is imported

from __future__ import annotations

import atexit
import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

# The cluster below uses token authentication with a token of its own, made here in
# a temporary folder: nothing is read from or written to the user's ~/.ray, so the
# tests pass on a machine whose home folder is empty. The head (`ray start`) and
# every driver (this process and the `smallagents run` children) find the token
# through RAY_AUTH_TOKEN_PATH. A driver that joins a cluster by explicit address
# uses a token only with RAY_AUTH_MODE=token, which Ray reads when it is imported:
# both are set before the import.
_TOKEN_FOLDER = Path(tempfile.mkdtemp(prefix="smallagents-ray-token-"))
_TOKEN_FILE = _TOKEN_FOLDER / "auth_token"
_TOKEN_FILE.write_text(secrets.token_hex(32))
_TOKEN_FILE.chmod(0o600)
_RAY_AUTH = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(_TOKEN_FILE)}
_SAVED_AUTH = {name: os.environ.get(name) for name in (*_RAY_AUTH, "RAY_AUTH_TOKEN")}
os.environ.update(_RAY_AUTH)
os.environ.pop("RAY_AUTH_TOKEN", None)  # it would win over the file
atexit.register(shutil.rmtree, _TOKEN_FOLDER, True)  # also when no test here runs
import ray
from servers import ServerHandle, free_port
from typer.testing import CliRunner

from smallagents.cli import app
from smallagents.errors import UsageError
from smallagents.jobs.launch import find_pipeline
from smallagents.jobs.ray_executor import RayExecutor
from smallagents.jobs.runner import run_job
from smallagents.jobs.settings import JobOptions

runner = CliRunner()
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

SENTIMENT = (Path(__file__).resolve().parent / "sentiment_roles.py").read_text()

# A pipeline whose units kill their own worker process: "poison" every time,
# "flaky" only the first time (a marker file remembers). Pure Python, since the
# subject is the executor's bookkeeping, which no model can drive on purpose.
CRASHING = """
import os
from pathlib import Path

from smallagents.jobs.pipelines import UnitResult


class Crashing:
    name = "crashing"

    def required_fields(self):
        return ("text",)

    def run_unit(self, data, *, run, seed, unit_id):
        if data["text"] == "poison":
            os._exit(1)
        if data["text"] == "flaky":
            marker = Path(data["marker"])
            if not marker.exists():
                marker.write_text("died once")
                os._exit(1)
        return UnitResult(outputs=[{"id": unit_id, "echo": data["text"], "pid": os.getpid()}])


crashing = Crashing()
"""


@pytest.fixture(scope="module", autouse=True)
def _ray_auth_for_this_module_only() -> Iterator[None]:
    """Give the other test modules their environment back, and remove the token."""
    yield
    for name, value in _SAVED_AUTH.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    shutil.rmtree(_TOKEN_FOLDER, ignore_errors=True)


@pytest.fixture(scope="module")
def ray_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Ray head node on 127.0.0.1 with two CPUs, as `ray start` makes one, with
    token authentication and a token of its own (see the top of this module)."""
    port = free_port()
    temp_dir = tmp_path_factory.mktemp("ray")
    env = {**os.environ, **_RAY_AUTH, "RAY_USAGE_STATS_ENABLED": "0"}
    env.pop("RAY_AUTH_TOKEN", None)
    ray_cli = [sys.executable, "-m", "ray.scripts.scripts"]
    start = [
        *ray_cli, "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}",
        "--num-cpus=2", "--include-dashboard=false", "--disable-usage-stats",
        "--object-store-memory=100000000", f"--temp-dir={temp_dir}",
    ]  # fmt: skip
    started = subprocess.run(start, env=env, capture_output=True, text=True, timeout=120)
    try:
        assert started.returncode == 0, started.stderr[-2000:]
        # The head really does check tokens: what the tests below rely on.
        assert "Token authentication is disabled" not in started.stderr
        yield f"127.0.0.1:{port}"
    finally:
        if ray.is_initialized():
            ray.shutdown()
        _stop_cluster(temp_dir)


def _stop_cluster(temp_dir: Path) -> None:
    """Stop this module's cluster only: the processes that name its temporary folder
    (GCS, raylet, monitors) and their children (the actors). `ray stop` would stop
    every Ray cluster of this user on the machine, other test runs' included."""
    pids = _processes_under(str(temp_dir))
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in pids):
            time.sleep(0.1)


def _processes_under(marker: str) -> list[int]:
    parents: dict[int, int] = {}
    named: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if marker.encode() in (entry / "cmdline").read_bytes():
                named.add(int(entry.name))
            stat = (entry / "stat").read_text()
            parents[int(entry.name)] = int(stat.rpartition(")")[2].split()[1])
    found = set(named)
    grew = True
    while grew:
        children = {pid for pid, parent in parents.items() if parent in found} - found
        grew = bool(children)
        found |= children
    found.discard(os.getpid())
    return sorted(found)


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def _ids(path: Path) -> list[str]:
    return [json.loads(line)["id"] for line in _lines(path)]


def test_cli_job_on_ray_writes_the_same_file_as_a_local_run(
    ray_address: str, tmp_path: Path
) -> None:
    (tmp_path / "roles.py").write_text(SENTIMENT)
    texts = ["I love this phone", "The food was cold", "It is a chair", "Best concert ever"]
    texts += ["The train was late", "Water is wet", "What a surprise", "I want a refund"]
    rows = [json.dumps({"id": f"r{i}", "text": text}) for i, text in enumerate(texts)]
    (tmp_path / "in.jsonl").write_text("\n".join(rows) + "\n")
    common = ["run", "sentiment", "--roles", str(tmp_path / "roles.py")]
    common += ["--input", str(tmp_path / "in.jsonl"), "--quiet"]

    local = runner.invoke(app, [*common, "--output", str(tmp_path / "local.jsonl")])
    assert local.exit_code == 0, local.output
    on_ray = runner.invoke(
        app,
        [
            *common,
            *("--output", str(tmp_path / "ray.jsonl"), "--executor", "ray"),
            *("--address", ray_address, "--report", str(tmp_path / "report.json")),
        ],
    )
    assert on_ray.exit_code == 0, on_ray.output
    assert not ray.is_initialized()  # the job left the cluster it joined
    assert _lines(tmp_path / "ray.jsonl") == _lines(tmp_path / "local.jsonl")
    assert len(_lines(tmp_path / "ray.jsonl")) == len(texts)
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["units"]["done"] == report["units"]["total"] == len(texts)
    # Actors count the prompt tokens their models evaluated and reused, as local workers do.
    figures = report["roles"]["sentiment"]
    assert figures["prompt_tokens_evaluated"] > 0
    assert (
        figures["prompt_tokens_evaluated"] + figures["prompt_tokens_reused"]
        == (figures["prompt_tokens"])
    )


@pytest.mark.server
def test_actors_call_the_endpoint_a_role_names(
    ray_address: str, llama_server: ServerHandle, tmp_path: Path
) -> None:
    """A role on an OpenAI-compatible server (the real llama-cpp-python one) runs on
    Ray as it runs here: the actors call the endpoint, not a model of their own."""
    (tmp_path / "roles.py").write_text(SENTIMENT)
    rows = [{"id": f"e{i}", "text": t} for i, t in enumerate(["Lovely day", "Awful food"])]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = runner.invoke(
        app,
        [
            *("run", "sentiment", "--roles", str(tmp_path / "roles.py"), "--quiet"),
            *("--input", str(tmp_path / "in.jsonl"), "--output", str(tmp_path / "out.jsonl")),
            *("--model", f"sentiment={llama_server.spec}"),
            *("--executor", "ray", "--address", ray_address),
        ],
    )
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in _lines(tmp_path / "out.jsonl")]
    assert [r["id"] for r in records] == ["e0", "e1"]
    assert all(r["models"] == {"sentiment": llama_server.spec} for r in records)
    assert all(r["label"] in {"positive", "negative", "neutral"} for r in records)


def test_a_killed_ray_driver_resumes_without_loss_or_duplicates(
    ray_address: str, tmp_path: Path
) -> None:
    (tmp_path / "roles.py").write_text(SENTIMENT)
    texts = [
        f"Review {i}: the {word} was {mood}"
        for i, (word, mood) in enumerate(
            [("food", "great"), ("room", "dirty"), ("staff", "kind"), ("view", "fine")] * 3
        )
    ]
    rows = [json.dumps({"id": f"r{i}", "text": text}) for i, text in enumerate(texts)]
    (tmp_path / "in.jsonl").write_text("\n".join(rows) + "\n")
    command = [
        sys.executable, "-m", "smallagents", "run", "sentiment",
        "--roles", str(tmp_path / "roles.py"), "--input", str(tmp_path / "in.jsonl"),
        "--quiet",
    ]  # fmt: skip
    local = subprocess.run(
        [*command, "--output", str(tmp_path / "local.jsonl")], capture_output=True, timeout=600
    )
    assert local.returncode == 0, local.stderr[-2000:]
    on_ray = [*command, "--output", str(tmp_path / "ray.jsonl")]
    on_ray += ["--executor", "ray", "--address", ray_address]
    driver = subprocess.Popen(on_ray, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while len(_lines(tmp_path / "ray.jsonl")) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    driver.send_signal(signal.SIGKILL)
    driver.wait(timeout=30)
    assert 3 <= len(_lines(tmp_path / "ray.jsonl")) < len(texts), "killed too late to test"

    resumed = subprocess.run(on_ray, capture_output=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert _lines(tmp_path / "ray.jsonl") == _lines(tmp_path / "local.jsonl")


def test_gra_on_ray_survives_a_killed_actor_and_matches_a_local_run(
    ray_address: str, tmp_path: Path
) -> None:
    options = dict(input=str(EXAMPLES / "seeds.jsonl"), limit=2)
    local = JobOptions(output=tmp_path / "local.jsonl", workers=2, **options)  # type: ignore[arg-type]
    run_job(find_pipeline("gra", [], []), local)

    executor = RayExecutor(partial(find_pipeline, "gra", [], []), address=ray_address)
    killed: list[int] = []

    def kill_one_actor_mid_run() -> None:
        deadline = time.monotonic() + 120
        while not executor.actor_pids and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(4.0)  # the actors are loading models or generating by now
        os.kill(executor.actor_pids[0], signal.SIGKILL)
        killed.append(executor.actor_pids[0])

    killer = threading.Thread(target=kill_one_actor_mid_run, daemon=True)
    killer.start()
    report = run_job(
        find_pipeline("gra", [], []),
        JobOptions(output=tmp_path / "ray.jsonl", **options),  # type: ignore[arg-type]
        executor=executor,
    )
    killer.join(timeout=5)
    assert killed, "the actor was never killed"
    assert executor.actor_deaths == 1
    assert report["units"]["done"] == report["units"]["total"] == 2
    # Same records, same order, same text: the retried unit gave the same answer.
    assert _lines(tmp_path / "ray.jsonl") == _lines(tmp_path / "local.jsonl")
    assert _lines(tmp_path / "ray.rejects.jsonl") == _lines(tmp_path / "local.rejects.jsonl")
    seen = _ids(tmp_path / "ray.jsonl") + _ids(tmp_path / "ray.rejects.jsonl")
    assert len(seen) == len(set(seen))


def test_a_record_that_kills_its_actor_every_time_is_rejected_and_the_job_goes_on(
    ray_address: str, tmp_path: Path
) -> None:
    (tmp_path / "crashing.py").write_text(CRASHING)
    marker = str(tmp_path / "flaky.marker")
    texts = ["a", "poison", "b", "flaky", "c", "d"]
    rows = [json.dumps({"id": f"r{i}", "text": t, "marker": marker}) for i, t in enumerate(texts)]
    (tmp_path / "in.jsonl").write_text("\n".join(rows) + "\n")
    graphs = [str(tmp_path / "crashing.py")]
    executor = RayExecutor(
        partial(find_pipeline, "crashing", [], graphs), address=ray_address, max_unit_failures=3
    )
    report = run_job(
        find_pipeline("crashing", [], graphs),
        JobOptions(input=str(tmp_path / "in.jsonl"), output=tmp_path / "out.jsonl"),
        executor=executor,
    )
    outputs = [json.loads(line) for line in _lines(tmp_path / "out.jsonl")]
    rejects = [json.loads(line) for line in _lines(tmp_path / "out.rejects.jsonl")]
    assert [o["id"] for o in outputs] == ["r0", "r2", "r3", "r4", "r5"]  # flaky retried, kept
    assert [r["id"] for r in rejects] == ["r1"]
    assert "worker died 3 times" in rejects[0]["reason"]
    assert executor.actor_deaths == 4  # poison three times, flaky once
    assert len({o["pid"] for o in outputs}) >= 2  # work spread over more than one actor
    assert report["units"]["done"] == len(texts)

    # Resuming the finished job does nothing again: the driver's state is the truth.
    again = run_job(
        find_pipeline("crashing", [], graphs),
        JobOptions(input=str(tmp_path / "in.jsonl"), output=tmp_path / "out.jsonl"),
        executor=executor,
    )
    assert again["units"]["done"] == len(texts)
    assert executor.actor_deaths == 0
    assert len(_lines(tmp_path / "out.jsonl")) == 5


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["--address", "127.0.0.1:1"], "--address is for --executor ray"),
        (["--executor", "spark"], "--executor 'spark' is not local or ray"),
    ],
)
def test_executor_options_are_checked(arguments: list[str], expected: str, tmp_path: Path) -> None:
    (tmp_path / "roles.py").write_text(SENTIMENT)
    (tmp_path / "in.jsonl").write_text(json.dumps({"id": "a", "text": "hi"}) + "\n")
    result = runner.invoke(
        app,
        [
            *("run", "sentiment", "--roles", str(tmp_path / "roles.py"), "--quiet"),
            *("--input", str(tmp_path / "in.jsonl"), "--output", str(tmp_path / "o.jsonl")),
            *arguments,
        ],
    )
    assert result.exit_code == 2
    assert expected in result.output
    assert not (tmp_path / "o.jsonl").exists()


def test_results_cross_processes_without_answer_objects_but_with_their_figures() -> None:
    from pydantic import BaseModel

    from smallagents.jobs.executors import portable
    from smallagents.jobs.pipelines import UnitResult
    from smallagents.run import RoleRecord

    class Answer(BaseModel):  # a class an actor's content file defines: not on the driver
        label: str

    record = RoleRecord(role="r", value=Answer(label="x"), status="ok", model="m", samples=3)
    result = UnitResult(
        outputs=[{"id": "a", "label": "x"}], records=[record], counters={"tool_calls.ok": 2}
    )
    moved = portable(result)
    assert moved.outputs == result.outputs and moved.counters == {"tool_calls.ok": 2}
    assert moved.records[0].value is None and moved.records[0].samples == 3


def test_an_actor_that_cannot_build_the_pipeline_is_one_line_with_the_fix(
    ray_address: str, tmp_path: Path
) -> None:
    (tmp_path / "crashing.py").write_text(CRASHING)
    (tmp_path / "in.jsonl").write_text(json.dumps({"id": "a", "text": "a"}) + "\n")
    here = [str(tmp_path / "crashing.py")]
    elsewhere = [str(tmp_path / "not-on-this-node.py")]  # as on a node without the file
    executor = RayExecutor(partial(find_pipeline, "crashing", [], elsewhere), address=ray_address)
    with pytest.raises(UsageError) as raised:
        run_job(
            find_pipeline("crashing", [], here),
            JobOptions(input=str(tmp_path / "in.jsonl"), output=tmp_path / "out.jsonl"),
            executor=executor,
        )
    message = str(raised.value)
    assert message.startswith("A Ray actor could not build the pipeline: ")
    assert "not-on-this-node.py" in message and "on a cluster, install smallagents" in message
    assert message.count("Fix:") == 1 and "\n" not in message
    assert _lines(tmp_path / "out.jsonl") == []


def test_a_driver_without_the_clusters_token_gets_one_line_naming_the_fix(
    ray_address: str, tmp_path: Path
) -> None:
    """What a user on a fresh machine meets first: RAY_AUTH_MODE=token, no token here."""
    (tmp_path / "roles.py").write_text(SENTIMENT)
    (tmp_path / "in.jsonl").write_text(json.dumps({"id": "a", "text": "hi"}) + "\n")
    (tmp_path / "home").mkdir()
    env = {
        k: v for k, v in os.environ.items() if k not in ("RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")
    }
    env |= {"HOME": str(tmp_path / "home"), "RAY_AUTH_MODE": "token"}
    ended = subprocess.run(
        [
            *(sys.executable, "-m", "smallagents", "run", "sentiment", "--quiet"),
            *("--roles", str(tmp_path / "roles.py"), "--input", str(tmp_path / "in.jsonl")),
            *("--output", str(tmp_path / "out.jsonl"), "--executor", "ray"),
            *("--address", ray_address),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ended.returncode == 2, ended.stderr[-2000:]
    errors = [line for line in ended.stderr.splitlines() if line.startswith("error")]
    assert len(errors) == 1 and "Traceback" not in ended.stderr
    assert f"Cannot join the Ray cluster at {ray_address}" in errors[0]
    assert "no authentication token was found" in errors[0]
    assert "ray get-auth-token" in errors[0] and "RAY_AUTH_TOKEN_PATH" in errors[0]
    assert not (tmp_path / "home" / ".ray").exists()  # nothing written to a home folder
    assert _lines(tmp_path / "out.jsonl") == []

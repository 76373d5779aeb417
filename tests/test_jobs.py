"""Jobs on the real default model: exactly-once resume, workers, reports, bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from pydantic import BaseModel
from typer.testing import CliRunner

import smallagents
from smallagents.cli import app
from smallagents.jobs.pipelines import RolePipeline
from smallagents.jobs.runner import run_job
from smallagents.jobs.settings import JobOptions
from smallagents.models.pool import current_thread_pool, thread_pool
from smallagents.registry import load_roles
from smallagents.run import RoleSettings
from smallagents.testing import ScriptedModel, WithModels

ROLES = (Path(__file__).resolve().parent / "sentiment_roles.py").read_text()
TEXTS = [
    "I love this phone",
    "The food was cold",
    "It is a chair",
    "Best concert ever",
    "The train was late again",
    "Water is wet",
    "What a wonderful surprise",
    "I want a refund",
    "The meeting is at noon",
    "This made my day",
    "Broken on arrival",
    "The sky is blue",
]
runner = CliRunner()


@pytest.fixture
def job_dir(tmp_path: Path) -> Path:
    (tmp_path / "roles.py").write_text(ROLES)
    lines = [json.dumps({"id": f"r{i}", "text": text}) for i, text in enumerate(TEXTS)]
    (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n")
    return tmp_path


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def _run_cli(job_dir: Path, *extra: str) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "smallagents", "run", "sentiment",
        "--roles", str(job_dir / "roles.py"),
        "--input", str(job_dir / "in.jsonl"),
        "--output", str(job_dir / "out.jsonl"),
        "--workers", "1", "--quiet", *extra,
    ]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_job_writes_every_record_once_with_provenance(job_dir: Path) -> None:
    role = load_roles(job_dir / "roles.py")["sentiment"]
    options = JobOptions(input=str(job_dir / "in.jsonl"), output=job_dir / "out.jsonl")
    report = run_job(RolePipeline(role), options)
    records = [json.loads(line) for line in _lines(job_dir / "out.jsonl")]
    assert sorted(r["id"] for r in records) == sorted(f"r{i}" for i in range(len(TEXTS)))
    assert all(r["label"] in {"positive", "negative", "neutral"} for r in records)
    assert all(r["models"] == {"sentiment": "default"} and r["seed_id"] == r["id"] for r in records)
    assert report["units"] == {"total": len(TEXTS), "done": len(TEXTS)}
    assert report["records"]["accepted"] == len(TEXTS)
    assert report["rates"]["schema_validity"] == 1.0
    assert report["roles"]["sentiment"]["calls"] == len(TEXTS)
    assert (
        report["roles"]["sentiment"]["p95_seconds"] >= report["roles"]["sentiment"]["p50_seconds"]
    )


def test_killed_at_several_points_resumes_to_the_uninterrupted_output(job_dir: Path) -> None:
    reference_dir = job_dir / "reference"
    reference_dir.mkdir()
    (reference_dir / "roles.py").write_text(ROLES)
    (reference_dir / "in.jsonl").write_text((job_dir / "in.jsonl").read_text())
    reference = _run_cli(reference_dir)
    assert reference.wait(timeout=300) == 0, reference.stderr.read() if reference.stderr else ""
    expected = sorted(_lines(reference_dir / "out.jsonl"))
    assert len(expected) == len(TEXTS)

    output = job_dir / "out.jsonl"
    kills = 0
    for target in (1, 4, 7, 10):
        process = _run_cli(job_dir)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            if len(_lines(output)) >= target:
                break
            time.sleep(0.02)
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            kills += 1
        process.wait(timeout=30)
        lines = _lines(output)
        assert len(lines) == len(set(lines))  # never a duplicate, even before resuming
    assert kills >= 3  # the job really was interrupted mid-run
    final = _run_cli(job_dir)
    assert final.wait(timeout=300) == 0
    text = output.read_text()
    assert text.endswith("\n")
    for line in text.splitlines():
        json.loads(line)  # never a partial line
    assert sorted(text.splitlines()) == expected  # same records, each exactly once


def test_two_workers_give_the_same_records_as_one(job_dir: Path) -> None:
    role = load_roles(job_dir / "roles.py")["sentiment"]
    results = {}
    for workers in (1, 2):
        output = job_dir / f"out{workers}.jsonl"
        run_job(
            RolePipeline(role),
            JobOptions(input=str(job_dir / "in.jsonl"), output=output, workers=workers),
        )
        results[workers] = _lines(output)
    assert results[1] == results[2]  # the same file, line for line: written in input order


def test_samples_per_seed_and_limit_make_stable_ids(job_dir: Path) -> None:
    role = load_roles(job_dir / "roles.py")["sentiment"]
    options = JobOptions(
        input=str(job_dir / "in.jsonl"), output=job_dir / "out.jsonl", samples_per_seed=2, limit=3
    )
    run_job(RolePipeline(role), options)
    ids = sorted(json.loads(line)["id"] for line in _lines(job_dir / "out.jsonl"))
    assert ids == ["r0-0", "r0-1", "r1-0", "r1-1", "r2-0", "r2-1"]


def test_resume_with_another_configuration_is_refused_then_fresh_starts_over(
    job_dir: Path,
) -> None:
    args = ["run", "sentiment", "--roles", str(job_dir / "roles.py"), "--input",
            str(job_dir / "in.jsonl"), "--output", str(job_dir / "out.jsonl"), "--quiet",
            "--limit", "2"]  # fmt: skip
    assert runner.invoke(app, args).exit_code == 0
    before = (job_dir / "out.jsonl").read_text()
    refused = runner.invoke(app, [*args, "--seed", "9"])
    assert refused.exit_code == 2
    assert "another configuration" in refused.stderr and "--fresh" in refused.stderr
    assert (job_dir / "out.jsonl").read_text() == before  # nothing already written is lost
    fresh = runner.invoke(app, [*args, "--seed", "9", "--fresh"])
    assert fresh.exit_code == 0
    assert len(_lines(job_dir / "out.jsonl")) == 2


def test_report_file_and_summary(job_dir: Path) -> None:
    report_path = job_dir / "report.json"
    result = runner.invoke(
        app,
        ["run", "sentiment", "--roles", str(job_dir / "roles.py"), "--input",
         str(job_dir / "in.jsonl"), "--output", str(job_dir / "out.jsonl"), "--limit", "2",
         "--report", str(report_path)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(report_path.read_text())
    assert report["records"]["accepted"] == 2
    assert {"acceptance", "escalation", "schema_validity", "duplicates_removed"} <= set(
        report["rates"]
    )
    assert "accepted" in result.stderr  # the summary table


def _invoke(job_dir: Path, input_name: str, *extra: str) -> object:
    return runner.invoke(
        app,
        ["run", "sentiment", "--roles", str(job_dir / "roles.py"), "--input",
         str(job_dir / input_name), "--output", str(job_dir / "out.jsonl"), "--quiet", *extra],
    )  # fmt: skip


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"id":"a","text":"ok"}\n{"id":"b",\n', "line 2: not valid JSON"),
        (b'{"id":"a","text":"ok"}\n{"id":"b","words":"no text"}\n', "line 2: record lacks"),
        (b"", "holds no records"),
        (b'{"id":"a","text":"caf\xe9"}\n', "line 1: not UTF-8"),
        (b'["a","list"]\n', "line 1: a JSON list, not an object"),
        (b'{"id":"a","text":"' + b"x" * 1_100_000 + b'"}\n', "line 1: longer than"),
    ],
)
def test_bad_input_is_one_line_naming_the_line(job_dir: Path, content: bytes, message: str) -> None:
    (job_dir / "bad.jsonl").write_bytes(content)
    result = _invoke(job_dir, "bad.jsonl")
    assert result.exit_code == 2  # type: ignore[attr-defined]
    stderr = result.stderr.strip()  # type: ignore[attr-defined]
    assert message in stderr and "Fix:" in stderr and len(stderr.splitlines()) == 1


def test_skip_mode_lists_skipped_lines_in_the_report(job_dir: Path) -> None:
    (job_dir / "bad.jsonl").write_bytes(
        b'{"id":"a","text":"good"}\nnot json\n{"id":"c","words":"no text"}\n'
    )
    report_path = job_dir / "report.json"
    result = _invoke(job_dir, "bad.jsonl", "--on-error", "skip", "--report", str(report_path))
    assert result.exit_code == 0  # type: ignore[attr-defined]
    skipped = json.loads(report_path.read_text())["skipped_lines"]
    assert [entry["line"] for entry in skipped] == [2, 3]
    assert len(_lines(job_dir / "out.jsonl")) == 1


def test_input_formats_json_array_and_csv(job_dir: Path) -> None:
    (job_dir / "in.json").write_text(json.dumps([{"id": "j1", "text": "great"}]))
    (job_dir / "in.csv").write_text("id,text\nc1,awful\n")
    for name in ("in.json", "in.csv"):
        result = _invoke(job_dir, name, "--fresh")
        assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
        assert len(_lines(job_dir / "out.jsonl")) == 1


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ("missing/dir/out.jsonl", "does not exist"),
        ("roles.py/out.jsonl", "is a file"),
    ],
)
def test_bad_output_paths(job_dir: Path, output: str, message: str) -> None:
    result = runner.invoke(
        app,
        ["run", "sentiment", "--roles", str(job_dir / "roles.py"), "--input",
         str(job_dir / "in.jsonl"), "--output", str(job_dir / output)],
    )  # fmt: skip
    assert result.exit_code == 2
    assert message in result.stderr and "Fix:" in result.stderr


def test_unknown_name_and_bad_config(job_dir: Path) -> None:
    unknown = runner.invoke(
        app, ["run", "nope", "--input", str(job_dir / "in.jsonl"), "--output", "x.jsonl"]
    )
    assert unknown.exit_code == 2 and "No role named 'nope'" in unknown.stderr
    (job_dir / "smallagents.toml").write_text("[run]\nworkrs = 2\n")
    bad = _invoke(job_dir, "in.jsonl", "--config", str(job_dir / "smallagents.toml"))
    assert bad.exit_code == 2  # type: ignore[attr-defined]
    assert "unknown key(s) workrs" in bad.stderr  # type: ignore[attr-defined]


def test_parquet_output_and_input(job_dir: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    result = _invoke(job_dir, "in.jsonl", "--limit", "3", "--output", str(job_dir / "out.parquet"))
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    table = pq.read_table(job_dir / "out.parquet")
    assert sorted(table.column("id").to_pylist()) == ["r0", "r1", "r2"]
    pa = pytest.importorskip("pyarrow")
    rows = [{"id": "p1", "text": "lovely"}, {"id": "p2", "text": "awful"}]
    pq.write_table(pa.Table.from_pylist(rows), job_dir / "in.parquet")
    again = runner.invoke(
        app,
        ["run", "sentiment", "--roles", str(job_dir / "roles.py"), "--input",
         str(job_dir / "in.parquet"), "--output", str(job_dir / "again.jsonl"), "--quiet"],
    )  # fmt: skip
    assert again.exit_code == 0, again.output
    assert sorted(json.loads(line)["id"] for line in _lines(job_dir / "again.jsonl")) == [
        "p1",
        "p2",
    ]


def test_the_example_config_file_is_valid(job_dir: Path) -> None:
    example = Path(__file__).resolve().parents[1] / "examples" / "smallagents.toml"
    result = _invoke(job_dir, "in.jsonl", "--config", str(example), "--limit", "2")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert len(_lines(job_dir / "out.jsonl")) == 2


def test_bench_command_prints_a_ratio() -> None:
    result = runner.invoke(app, ["bench", "--model", "default", "--rounds", "1"])
    assert result.exit_code == 0, result.output
    row = next(line for line in result.stdout.splitlines() if "default" in line)
    ratio = float(row.split("│")[-2])
    assert 0.3 < ratio < 3.0


class Label(BaseModel):
    label: str


@smallagents.role(max_tokens=16)
def labeler(text: str) -> Label:
    """Label this: {text}"""


def test_a_one_worker_job_leaves_its_thread_without_the_jobs_models(tmp_path: Path) -> None:
    """A one-worker job runs its units in the calling thread; afterwards that thread must
    not keep the job's (closed) pool with the models a unit registered in it: the next
    role called there (the CLI's ``demo`` after a test job did) got a scripted model's
    "unexpected request" instead of its own model."""
    source = tmp_path / "in.jsonl"
    source.write_text('{"id": "a", "text": "x"}\n')
    scripted = ScriptedModel(['{"label": "ok"}'], name="leaky-fake", repeat_last=True)
    pipeline = WithModels(RolePipeline(labeler), {"leaky-fake": scripted})
    options = JobOptions(input=str(source), output=tmp_path / "out.jsonl", workers=1)
    seen: dict[str, object] = {}

    def in_a_fresh_thread() -> None:
        seen["before"] = current_thread_pool()
        settings = JobOptions(roles={"labeler": RoleSettings(model="leaky-fake")})
        run_job(pipeline, options.over(settings))
        seen["after"] = current_thread_pool()
        try:
            seen["served"] = thread_pool().load("leaky-fake")
        except smallagents.errors.SmallAgentsError as error:
            seen["served"] = error

    worker = threading.Thread(target=in_a_fresh_thread)
    worker.start()
    worker.join()
    assert json.loads((tmp_path / "out.jsonl").read_text())["label"] == "ok"  # the job ran on it
    assert seen["before"] is None and seen["after"] is None
    assert seen["served"] is not scripted  # a fresh pool: the fake is not served there

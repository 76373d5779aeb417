"""A job's one settings object: the merge, the fingerprint over all of it, and how a
pipeline gets its own settings (factories, package folders, Ray actors)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from smallagents import registry
from smallagents.errors import StateError
from smallagents.jobs import ray_executor
from smallagents.jobs.config import load_config
from smallagents.jobs.pipelines import UnitResult
from smallagents.jobs.plan import fingerprint
from smallagents.jobs.runner import run_job
from smallagents.jobs.settings import DEFAULTS, NOT_FINGERPRINTED, JobOptions, merge
from smallagents.run import EscalationBudget, RoleSettings, Run

runner = CliRunner()


class Echo:
    """A model-free pipeline: each record back, with its unit seed."""

    name = "echo"

    def required_fields(self) -> tuple[str, ...]:
        return ("text",)

    def run_unit(self, data: Mapping[str, Any], *, run: Run, seed: int, unit_id: str) -> UnitResult:
        return UnitResult(outputs=[{"id": unit_id, "seed": seed, "text": data["text"]}])


ECHO_FILE = """
from smallagents.jobs.pipelines import UnitResult


class Echo:
    name = "echo"

    def required_fields(self):
        return ("text",)

    def run_unit(self, data, *, run, seed, unit_id):
        return UnitResult(outputs=[{"id": unit_id, "seed": seed, "text": data["text"]}])


echo = Echo()
"""


@pytest.fixture
def job(tmp_path: Path) -> Path:
    (tmp_path / "echo.py").write_text(ECHO_FILE)
    records = [{"id": f"r{i}", "text": f"t{i}"} for i in range(5)]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return tmp_path


@pytest.fixture(autouse=True)
def _keep_working_directory() -> Any:
    here = os.getcwd()
    yield
    os.chdir(here)


# --- the merge ----------------------------------------------------------------------------


def test_command_line_over_file_over_default_field_by_field(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(
        '[run]\nseed = 7\nsamples_per_seed = 3\nvotes = 2\nfallback = "big"\n'
        '[roles.a]\nmodel = "m-file"\nvotes = 4\n[roles.b]\nmodel = "m-b"\n'
        '[models]\nfast = "default"\n[escalation]\nmax_count = 2\n'
    )
    file = load_config(tmp_path / "a.toml").options()
    given = JobOptions(seed=1, roles={"a": RoleSettings(model="m-cli")})
    merged = merge(given, file)
    assert merged.seed == 1  # given here
    assert merged.samples_per_seed == 3  # the file's (what issue 16 feared was dropped)
    assert (merged.votes, merged.fallback) == (2, "big")
    assert merged.on_error == "stop" and merged.workers == 1  # the defaults
    assert merged.limit is None  # nobody gives one
    # Mappings merge key by key: --model a=... replaces [roles.a], [roles.b] stays.
    assert merged.roles == {"a": RoleSettings(model="m-cli"), "b": RoleSettings(model="m-b")}
    assert merged.aliases == {"fast": "default"}
    assert merged.budget == EscalationBudget(max_count=2)
    assert merge(JobOptions()) == DEFAULTS


def test_the_file_layer_keeps_what_the_file_does_not_give_unset(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text("[run]\nseed = 7\n")
    file = load_config(tmp_path / "a.toml").options()
    assert file.seed == 7
    assert file.samples_per_seed is None and file.workers is None and file.model is None


# --- the fingerprint covers every option but the declared ones ----------------------------

CHANGED: dict[str, Any] = {
    "input": "other.jsonl",
    "output": Path("other-out.jsonl"),
    "rejects": Path("r.jsonl"),
    "state": Path("s.sqlite"),
    "samples_per_seed": 2,
    "limit": 3,
    "seed": 9,
    "workers": 4,
    "on_error": "skip",
    "fresh": True,
    "retry_failed": True,
    "model": "gemma-270m",
    "fallback": "qwen-1.5b",
    "votes": 3,
    "roles": {"echo": RoleSettings(votes=2)},
    "aliases": {"fast": "default"},
    "budget": EscalationBudget(max_share=0.5),
    "endpoints": {"default": {"timeout": 5}},
    "prefix_cache_mb": 64.0,
    "allowed_tools": ("write_file",),
    "mcp": {"docs": "http://127.0.0.1:9/mcp"},
}


def test_every_option_is_fingerprinted_unless_declared_not_to_decide_records(
    tmp_path: Path,
) -> None:
    assert set(CHANGED) == {item.name for item in dataclasses.fields(JobOptions)}
    base = JobOptions(input=str(tmp_path / "in.jsonl"), output=tmp_path / "out.jsonl")
    key, _ = fingerprint(Echo(), base)
    for name, value in CHANGED.items():
        other, _ = fingerprint(Echo(), dataclasses.replace(base, **{name: value}))
        if name in NOT_FINGERPRINTED:
            assert other == key, f"{name} changed the fingerprint"
        else:
            assert other != key, f"{name} is not in the fingerprint"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({"aliases": {"fast": "default"}}, {"aliases": {"fast": "gemma-270m"}}),
        ({"budget": EscalationBudget(max_count=1)}, {"budget": EscalationBudget(max_count=2)}),
        ({"roles": {"echo": RoleSettings(votes=2)}}, {"roles": {"echo": RoleSettings(votes=3)}}),
        ({"fallback": "a"}, {"fallback": "b"}),
        ({"mcp": {"docs": "http://a/mcp"}}, {"mcp": {"docs": "http://b/mcp"}}),
        ({"allowed_tools": ()}, {"allowed_tools": ("write_file",)}),
    ],
)
def test_run_job_refuses_a_resume_with_another_run_setting(
    job: Path, first: dict[str, Any], second: dict[str, Any]
) -> None:
    """What `run_job` once took apart from its options (budget, per-role settings,
    defaults, aliases) now travels in them, and reaches the resume check."""
    options = JobOptions(input=str(job / "in.jsonl"), output=job / "out.jsonl")
    run_job(Echo(), dataclasses.replace(options, **first))
    with pytest.raises(StateError, match="another configuration"):
        run_job(Echo(), dataclasses.replace(options, **second))
    again = run_job(Echo(), dataclasses.replace(options, **first))  # the same: resumes
    assert again["units"]["done"] == 5


def test_more_endpoint_patience_or_workers_still_resume(job: Path) -> None:
    options = JobOptions(input=str(job / "in.jsonl"), output=job / "out.jsonl")
    run_job(Echo(), options)
    report = run_job(
        Echo(), dataclasses.replace(options, workers=3, endpoints={"default": {"timeout": 60}})
    )
    assert report["units"]["done"] == 5


def _state(folder: Path) -> tuple[str, str]:
    with sqlite3.connect(folder / "out.jsonl.state.sqlite") as db:
        meta = dict(db.execute("SELECT key, value FROM meta"))
    return meta["fingerprint"], meta["description"]


# Taken from the code before the settings object (commit 4c1973a's runner and command):
# a job started then resumes under this code.
PINNED_FULL = {
    "allowed_tools": ["write_file"],
    "input": "<job>/in.jsonl",
    "input_content": "829b33c3e21b0d668ad80d5210d1d9ec",
    "limit": 4,
    "pipeline": "echo",
    "run": {
        "aliases": {"fast": "default"},
        "allowed_tools": ["write_file"],
        "budget": {"max_count": 3, "max_share": None},
        "defaults": {"fallback": "fb", "min_confidence": None, "model": None, "votes": 3},
        "settings": {
            "echo": {"fallback": None, "min_confidence": None, "model": "gemma-270m", "votes": 2}
        },
    },
    "samples_per_seed": 2,
    "seed": 5,
    "settings": {
        "aliases": {"fast": "default"},
        "defaults": {"fallback": "fb", "min_confidence": None, "model": None, "votes": 3},
        "escalation": {"max_count": 3, "max_share": None},
        "mcp": {"docs": "http://127.0.0.1:9/mcp"},
        "roles": {
            "echo": {"fallback": None, "min_confidence": None, "model": "gemma-270m", "votes": 2}
        },
        "run": {"fallback": "fb", "model": None, "samples_per_seed": 2, "seed": 5, "votes": 3},
    },
}
NO_ROLE = {"fallback": None, "min_confidence": None, "model": None, "votes": None}
PINNED_PLAIN = {
    "input": "<job>/in.jsonl",
    "input_content": "dc81a975d6be896e3d3eeaef3dc62e17",
    "limit": None,
    "pipeline": "echo",
    "run": {
        "aliases": {},
        "allowed_tools": [],
        "budget": {"max_count": None, "max_share": None},
        "defaults": NO_ROLE,
        "settings": {},
    },
    "samples_per_seed": 1,
    "seed": 0,
    "settings": {
        "aliases": {},
        "defaults": NO_ROLE,
        "escalation": {"max_count": None, "max_share": None},
        "roles": {},
        "run": {"fallback": None, "model": None, "samples_per_seed": 1, "seed": 0, "votes": None},
    },
}


@pytest.mark.parametrize("full", [False, True])
def test_a_command_line_job_keeps_the_fingerprint_it_had(job: Path, full: bool) -> None:
    from smallagents.cli import app

    (job / "a.toml").write_text(
        '[models]\nfast = "default"\n[roles.echo]\nmodel = "gemma-270m"\nvotes = 2\n'
        "[escalation]\nmax_count = 3\n[run]\nworkers = 2\n[endpoints.default]\ntimeout = 5\n"
    )
    extra = [
        "--config", "a.toml", "--samples-per-seed", "2", "--seed", "5", "--limit", "4",
        "--fallback", "fb", "--votes", "3", "--allow-tool", "write_file",
        "--mcp", "docs=http://127.0.0.1:9/mcp",
    ]  # fmt: skip
    os.chdir(job)
    result = runner.invoke(
        app,
        ["run", "echo", "--graphs", str(job / "echo.py"), "--quiet", "--input", "in.jsonl",
         "--output", "out.jsonl", *(extra if full else [])],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    key, description = _state(job)
    assert json.loads(description.replace(str(job.resolve()), "<job>")) == (
        PINNED_FULL if full else PINNED_PLAIN
    )
    assert key == hashlib.sha256(description.encode()).hexdigest()[:24]


# --- pipeline settings: factories, package folders, Ray --------------------------------------

FACTORY_PACKAGE = """
from ._pipeline import EchoFactory

echo_factory = EchoFactory()
"""
FACTORY_MODULE = """
from typing import TypedDict

import smallagents
from smallagents.jobs.pipelines import UnitResult


class State(TypedDict):
    text: str

BUILT = []


class Configured:
    name = "tagged"

    def __init__(self, settings):
        self.settings = settings

    def required_fields(self):
        return ("text",)

    def run_unit(self, data, *, run, seed, unit_id):
        return UnitResult(outputs=[{"id": unit_id, "tag": self.settings["tag"]}])


class EchoFactory:
    name = "tagged"

    @property
    def graph(self):
        return smallagents.Graph("tagged", state=State, description="what the factory builds")

    def build(self, file, command_line, *, where):
        BUILT.append((dict(file), dict(command_line), where))
        return Configured({"tag": "none", **file, **command_line})
"""


def test_a_package_folder_exposes_a_pipeline_factory_built_with_the_job_settings(
    job: Path,
) -> None:
    from smallagents.cli import app

    package = job / "tagging"
    package.mkdir()
    (package / "__init__.py").write_text(FACTORY_PACKAGE)
    (package / "_pipeline.py").write_text(FACTORY_MODULE)
    (job / "a.toml").write_text('[pipelines.tagged]\ntag = "file"\n')
    os.chdir(job)

    def run(*extra: str) -> list[str]:
        result = runner.invoke(
            app,
            ["run", "tagged", "--graphs", str(package), "--quiet", "--input", "in.jsonl",
             "--output", "out.jsonl", "--fresh", *extra],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        lines = (job / "out.jsonl").read_text().splitlines()
        return sorted({json.loads(line)["tag"] for line in lines})

    assert run() == ["none"]
    assert run("--config", "a.toml") == ["file"]
    assert run("--config", "a.toml", "--set", "tag=cli") == ["cli"]  # --set wins
    _, description = _state(job)
    assert json.loads(description)["pipeline_settings"] == {"tag": "cli"}
    # `smallagents graphs` lists the factory's graph.
    assert registry.load_graphs(package)["tagged"].description == "what the factory builds"


def test_ray_actors_get_the_model_runtime_variables_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pipeline settings travel in the factory; no SMALLAGENTS_GRA_* or key goes to Ray."""
    monkeypatch.setenv("SMALLAGENTS_CACHE", "/models")
    monkeypatch.setenv("SMALLAGENTS_GRA_REVIEWERS", "3")
    monkeypatch.setenv("SMALLAGENTS_API_KEY", "sk-secret")
    started: dict[str, Any] = {}

    class FakeRay:
        def is_initialized(self) -> bool:
            return False

        def init(self, **options: Any) -> None:
            started.update(options)

    assert ray_executor._connect(FakeRay(), None) is True
    assert started["runtime_env"] == {"env_vars": {"SMALLAGENTS_CACHE": "/models"}}


def test_ray_actors_rebuild_gra_with_the_settings_the_driver_resolved(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What an actor builds does not depend on its own environment."""
    from smallagents.jobs.launch import _choose_executor, find_pipeline
    from smallagents.jobs.pipelines import PipelineSettings

    driver = find_pipeline("gra", [], [], PipelineSettings({}, {"reviewers": "2"}))
    executor = _choose_executor("ray", None, "gra", [], [], None, driver, None)
    assert isinstance(executor, ray_executor.RayExecutor)
    monkeypatch.setenv("SMALLAGENTS_GRA_REVIEWERS", "3")  # an actor's node, set otherwise
    actor = executor.factory()
    assert actor.settings == driver.settings  # type: ignore[attr-defined]
    assert actor.settings["reviewers"] == 2  # type: ignore[attr-defined]

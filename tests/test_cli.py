"""The command line, in process (typer's CliRunner), on the real default model."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import tomllib
from pathlib import Path

from typer.testing import CliRunner

from smallagents import __version__, compile_schema
from smallagents.cli import app

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]


def test_demo_prints_one_schema_valid_object() -> None:
    result = runner.invoke(app, ["demo", "--seed", "3"])
    assert result.exit_code == 0, result.output
    value = json.loads(result.stdout)
    compile_schema("person").check(value)
    assert "valid person" in result.stderr


def test_demo_on_the_base_model() -> None:
    result = runner.invoke(app, ["demo", "--model", "gemma-270m", "--seed", "1"])
    assert result.exit_code == 0, result.output
    compile_schema("person").check(json.loads(result.stdout))


def test_bad_model_spec_is_one_line_with_exit_code_2() -> None:
    result = runner.invoke(app, ["demo", "--model", "nonsense"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Fix:" in lines[0] and "model_spec" in lines[0]


def test_unknown_schema_exit_code_2() -> None:
    result = runner.invoke(app, ["demo", "--schema", "nope"])
    assert result.exit_code == 2
    assert "Unknown schema name" in result.stderr


def test_debug_shows_the_exception_instead() -> None:
    result = runner.invoke(app, ["--debug", "demo", "--model", "nonsense"])
    assert result.exit_code != 0
    assert type(result.exception).__name__ == "ModelSpecError"


def test_models_lists_both_embedded_models_as_present() -> None:
    result = runner.invoke(app, ["models"])
    assert result.exit_code == 0
    assert "default" in result.stdout and "gemma-270m" in result.stdout
    assert result.stdout.count("yes") >= 2


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.stdout.strip() == f"smallagents {__version__}"


def test_the_console_script_and_python_m_run_the_same_app() -> None:
    """pyproject's `smallagents` entry point names `smallagents.cli:app`, and
    `python -m smallagents` is the same command."""
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    module, _, name = scripts["smallagents"].partition(":")
    assert getattr(importlib.import_module(module), name) is app
    done = subprocess.run(
        [sys.executable, "-m", "smallagents", "--version"], capture_output=True, text=True
    )
    assert (done.returncode, done.stdout.strip()) == (0, f"smallagents {__version__}")

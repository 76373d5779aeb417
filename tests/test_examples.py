"""Every example in examples/ runs, as the README shows it."""

from __future__ import annotations

import runpy
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_structured_generation_example_returns_a_valid_verdict() -> None:
    namespace = runpy.run_path(str(EXAMPLES / "structured_generation.py"))
    verdict = namespace["main"]()
    assert verdict.label in {"positive", "negative"}
    assert 1 <= verdict.confidence <= 5


def test_structured_generation_example_runs_as_a_script() -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "structured_generation.py")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "label=" in result.stdout


def test_tool_agent_example_calls_only_given_tools_with_valid_arguments() -> None:
    main = runpy.run_path(str(EXAMPLES / "tool_agent.py"))["main"]
    output = main("What is 12 times 7?")
    assert output["status"] in {"answered", "step_limit", "gave_up", "unanswered"}
    for call in output.get("history", []):
        assert call["name"] in {"calculate", "convert_length"}
        assert call["status"] != "invalid_arguments"

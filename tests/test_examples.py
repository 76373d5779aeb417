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

"""The code base stays ruff-clean (lint and format), as CI requires."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_lint_is_clean() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", str(ROOT)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_clean() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", str(ROOT)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_docstrings_use_one_style() -> None:
    # Google style with names in backticks; no Sphinx roles (no Sphinx build reads them).
    role = re.compile(r":(?:class|func|meth|attr|data|mod|exc|obj):`")
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for folder in ("smallagents", "roles", "graphs", "examples", "tests", "benchmarks")
        for path in sorted((ROOT / folder).rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if role.search(line) and path.name != "test_lint.py"
    ]
    assert found == []

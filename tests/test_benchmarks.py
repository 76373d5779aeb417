"""benchmarks/: one package, ``python -m benchmarks NAME``, with a shared ``--json PATH`` result."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the source tree's benchmarks package, as `python -m` sees it
    sys.path.insert(0, str(ROOT))

from benchmarks._common import BENCHMARKS, summary  # noqa: E402 (after the path insert)


def benchmarks(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "benchmarks", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_help_lists_every_benchmark_with_one_line() -> None:
    done = benchmarks("--help")
    assert done.returncode == 0, done.stderr
    listed = [line.split()[0] for line in done.stdout.splitlines() if line.startswith("  ")]
    assert listed == list(BENCHMARKS)
    modules = sorted(p.stem for p in (ROOT / "benchmarks").glob("*.py") if p.stem[0] != "_")
    assert sorted(BENCHMARKS) == modules  # every module is listed, and nothing else
    assert "  decode  " in done.stdout and summary("decode").startswith("Decode benchmark")
    assert all(summary(name) for name in BENCHMARKS)


def test_an_unknown_name_is_refused_with_the_listing() -> None:
    done = benchmarks("nope")
    assert done.returncode == 2
    assert "no benchmark named 'nope'" in done.stderr and "judge_pairs" in done.stderr


def test_a_benchmark_writes_its_json_result(tmp_path: Path) -> None:
    target = tmp_path / "load.json"
    # The load benchmark on its fake model only: one child process, 200 records, seconds.
    done = benchmarks("load", "--fake", "200", "--real", "0", "--json", str(target))
    assert done.returncode == 0, done.stderr
    result = json.loads(target.read_text(encoding="utf-8"))
    assert result["benchmark"] == "load"
    assert result["arguments"]["fake"] == "200" and "json" not in result["arguments"]
    assert result["seconds"] > 0
    (run,) = result["result"]
    assert run["model"] == "fake" and run["records"] == 200 and run["written_once"] is True
    assert json.loads(done.stdout.strip().splitlines()[-1]) == result["result"]


def test_a_failed_check_exits_1(tmp_path: Path) -> None:
    stale = tmp_path / "pairs.jsonl"
    stale.write_text("{}\n", encoding="utf-8")
    target = tmp_path / "check.json"
    done = benchmarks("judge_pairs", "--check", "--output", str(stale), "--json", str(target))
    assert done.returncode == 1
    assert "differs" in done.stdout
    assert json.loads(target.read_text(encoding="utf-8"))["result"]["up_to_date"] is False

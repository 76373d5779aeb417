"""Long tasks as voted micro-steps: the driver's logic (scripted) and the real example."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import smallagents
from smallagents.decompose import choose_k, run_steps, step_accuracy
from smallagents.testing import ScriptedModel
from smallagents.voting import k_min

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _counter_role(spec: str) -> smallagents.Role:
    @smallagents.role(model=spec, schema={"type": "integer"}, temperature=0.7)
    def next_number(n: int) -> int:
        """After {n} comes"""

    return next_number


def test_run_steps_votes_each_step_and_applies_answers() -> None:
    # Every step: one wrong sample, then two right ones; k=2 must outvote the error.
    def answer(prompt: object, seed: int) -> str:
        text = prompt if isinstance(prompt, str) else prompt[-1]["content"]  # type: ignore[index]
        n = int(str(text).split()[-2])
        return str(n + 1 if seed % 3 else n + 50)

    pool = smallagents.ModelPool()
    pool.register("counter", ScriptedModel([answer], repeat_last=True, chat=False))
    task = run_steps(
        _counter_role("counter"),
        0,
        next_inputs=lambda n: {"n": n},
        apply=lambda n, answer: answer,
        done=lambda n: n >= 5,
        k=2,
        pool=pool,
    )
    assert task.finished and task.state == 5
    assert len(task.steps) == 5
    assert all(step.decided for step in task.steps)
    assert task.samples_per_step >= 2


def test_verifier_redraws_refused_answers() -> None:
    answers = iter(["1", "7", "2"])  # step 0: 1 ok; step 1: 7 refused, then 2
    pool = smallagents.ModelPool()
    pool.register("counter", ScriptedModel([lambda p, s: next(answers)] * 3, chat=False))
    task = run_steps(
        _counter_role("counter"),
        0,
        next_inputs=lambda n: {"n": n},
        apply=lambda n, answer: answer,
        done=lambda n: n >= 2,
        verify=lambda n, answer: answer == n + 1 or answer < n + 3,
        pool=pool,
    )
    assert task.state == 2
    assert [step.retries for step in task.steps] == [0, 1]
    assert task.failed_verifications == 0


def test_max_steps_bounds_the_loop() -> None:
    pool = smallagents.ModelPool()
    pool.register("counter", ScriptedModel(["0"], repeat_last=True, chat=False))
    task = run_steps(
        _counter_role("counter"),
        0,
        next_inputs=lambda n: {"n": n},
        apply=lambda n, answer: answer,
        done=lambda n: n >= 1,
        max_steps=4,
        pool=pool,
    )
    assert not task.finished and len(task.steps) == 4


def test_step_accuracy_finds_systematic_errors() -> None:
    pool = smallagents.ModelPool()
    # Right for n=1, always wrong for n=2.
    pool.register(
        "counter",
        ScriptedModel([lambda p, s: "2" if "1" in str(p) else "9"], repeat_last=True, chat=False),
    )
    p, per_case = step_accuracy(
        _counter_role("counter"), [({"n": 1}, 2), ({"n": 2}, 3)], samples=3, pool=pool
    )
    assert p == 0.5
    assert sorted(per_case.values()) == [0.0, 1.0]


def test_choose_k_is_k_min() -> None:
    assert choose_k(0.97, 0.95, 60) == k_min(0.97, 0.95, 60)
    assert choose_k(0.97, 0.95, 60) >= 2


def test_long_addition_example_voted_run_is_exact() -> None:
    main = runpy.run_path(str(EXAMPLES / "long_addition.py"))["main"]
    results = main(["--digits", "3", "--tasks", "1", "--samples", "1"])
    voted = results["runs"]["voted"]
    assert voted["tasks_correct"] == voted["tasks"] == 1
    assert voted["wrong_steps"] == 0
    assert results["step_accuracy"]["count_on"] > 0.8
    assert results["runs"]["single"]["steps_per_task"] >= 3


def test_hanoi_is_solved_exactly_when_the_model_follows_the_policy() -> None:
    hanoi = runpy.run_path(str(EXAMPLES / "hanoi.py"))
    moves = iter(hanoi["optimal"](3))

    def oracle(prompt: object, seed: int) -> str:
        disk, source, target = next(moves)
        return f'{{"disk":{disk},"source":"{source}","target":"{target}"}}'

    pool = smallagents.ModelPool()
    pool.register("oracle", ScriptedModel([oracle], repeat_last=True))
    report = hanoi["solve"](hanoi["make_role"]("oracle", 0.7), 3, 1, pool)
    assert report["solved"] and report["per_step_accuracy"] == 1.0
    assert report["moves"] == 7 and report["first_error_at"] is None


def test_hanoi_refuses_illegal_moves_and_reports_errors_honestly() -> None:
    hanoi = runpy.run_path(str(EXAMPLES / "hanoi.py"))
    pool = smallagents.ModelPool()
    # Always "disk 2 from A to B": illegal while disk 1 sits on top of A.
    pool.register("stubborn", ScriptedModel(['{"disk":2,"source":"A","target":"B"}'],
                                            repeat_last=True))  # fmt: skip
    report = hanoi["solve"](hanoi["make_role"]("stubborn", 0.7), 2, 1, pool)
    assert not report["solved"]
    assert report["first_error_at"] == 1
    assert report["illegal_moves_refused_for_good"] >= 1


def test_hanoi_example_runs_on_an_embedded_model() -> None:
    main = runpy.run_path(str(EXAMPLES / "hanoi.py"))["main"]
    results = main(["--disks", "2", "--k", "1"])
    run = results["runs"]["single"]
    assert run["optimal_moves"] == 3
    assert 0.0 <= run["per_step_accuracy"] <= 1.0
    assert run["moves"] <= 3


def test_long_addition_runs_as_a_job_from_the_cli(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from smallagents.cli import app

    (tmp_path / "pairs.jsonl").write_text(
        '{"id":"p1","a":407,"b":295}\n{"id":"p2","a":19,"b":23}\n'
    )
    result = CliRunner().invoke(
        app,
        ["run", "long_addition", "--input", str(tmp_path / "pairs.jsonl"), "--output",
         str(tmp_path / "sums.jsonl"), "--votes", "2", "--quiet"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    records = {
        r["id"]: r for r in map(json.loads, (tmp_path / "sums.jsonl").read_text().splitlines())
    }
    assert records["p1"]["sum"] == 702 and records["p2"]["sum"] == 42
    assert records["p1"]["k"] == 2 and records["p1"]["steps"] >= 5

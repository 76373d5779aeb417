"""smallagents eval: metrics, statistics, and the evaluation job on real models."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from smallagents.cli import app
from smallagents.errors import UsageError
from smallagents.evaluation import (
    Score,
    auroc,
    call_matches,
    cost_quality_curve,
    evaluate,
    exact,
    function_calls,
    judge,
    numeric,
    pick_threshold,
    set_match,
    wilson,
)
from smallagents.evaluation.metrics import metric_from_name

ROOT = Path(__file__).resolve().parents[1]

# --- statistics ---------------------------------------------------------------------------


def test_wilson_matches_the_textbook_values() -> None:
    # Wilson (1927) / Newcombe (1998), table I: 81 of 263 -> 0.2553 to 0.3662.
    low, high = wilson(81, 263)
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)
    assert wilson(0, 0) == (0.0, 1.0)
    low, high = wilson(10, 10)
    assert high == pytest.approx(1.0) and 0.69 < low < 0.73


def test_auroc_is_the_chance_a_positive_outranks_a_negative() -> None:
    rng = random.Random(3)
    scores = [rng.random() for _ in range(200)]
    labels = [rng.random() < 0.4 for _ in range(200)]
    pairs = [
        (p, n)
        for p, lp in zip(scores, labels, strict=True)
        for n, ln in zip(scores, labels, strict=True)
        if lp and not ln
    ]
    brute = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in pairs) / len(pairs)
    assert auroc(scores, labels) == pytest.approx(brute)
    assert auroc([1, 2, 3, 4], [False, False, True, True]) == 1.0
    assert auroc([1, 1, 1, 1], [False, True, False, True]) == 0.5
    assert auroc([1, 2], [True, True]) is None


def test_the_routing_curve_and_the_cheapest_threshold() -> None:
    signal = [0.9, 0.8, 0.7, 0.3, 0.2]
    small = [True, True, False, False, True]
    large = [True, True, True, True, False]
    curve = cost_quality_curve(signal, small, large)
    shares = [p.escalated_share for p in curve]
    assert shares == sorted(shares) and shares[0] == 0.0 and shares[-1] == 1.0
    assert curve[0].accuracy == 3 / 5  # nothing escalated: the small model alone
    assert curve[-1].accuracy == 4 / 5  # everything escalated: the large model alone
    best = pick_threshold(curve, target=0.8)
    # Escalating below 0.3 loses the one record the large model gets wrong (0.4);
    # below 0.8 (0.7, 0.3, 0.2: 3 of 5) reaches 0.8, the large model's accuracy.
    assert [round(p.accuracy or 0, 2) for p in curve] == [0.6, 0.6, 0.4, 0.6, 0.8, 0.8, 0.8]
    assert best is not None and best.escalated_share == 0.6 and best.threshold == 0.8
    assert pick_threshold(curve, target=0.99) is None  # nothing reaches it
    # Without large answers, the kept accuracy decides: keep only 0.8 and 0.9.
    kept = pick_threshold(cost_quality_curve(signal, small), target=1.0)
    assert kept is not None and kept.escalated_share == 0.6


# --- metrics ------------------------------------------------------------------------------


def test_exact_numeric_and_set_metrics() -> None:
    answer = {"id": "x", "status": "ok", "label": "positive", "n": 3, "tags": ["a", "b"]}
    assert exact()(answer, {"label": "positive"}).correct
    assert not exact()(answer, {"label": "negative"}).correct
    assert exact(["label"])(answer, {"label": " positive", "n": 9}).correct
    assert exact()(answer, {"n": 3.0}).correct  # 3 and 3.0 are one JSON number
    assert not exact()({"flag": 1}, {"flag": True}).correct  # but 1 is not true
    assert not exact()(None, {"label": "positive"}).correct
    assert numeric(0.5)({"n": 3.4}, {"n": 3}).correct
    assert not numeric(0.1)({"n": 3.4}, {"n": 3}).correct
    assert numeric(0.01)({"total": 7}, 7).correct  # a plain value against the only field
    assert set_match()({"tags": ["b", "a", "a"]}, {"tags": ["a", "b"]}).correct
    assert not set_match()({"tags": ["a"]}, {"tags": ["a", "b"]}).correct
    per_field = exact()(answer, {"label": "positive", "n": 4}).fields
    assert per_field == {"label": True, "n": False}


def test_function_calls_follow_bfcl_rules() -> None:
    truth = [{"math.gcd": {"a": [12], "b": [18], "verbose": ["", False]}}]
    assert function_calls(
        {"calls": [{"name": "math.gcd", "arguments": {"a": 12, "b": 18}}]}, truth
    ).correct
    assert function_calls(
        {"calls": [{"name": "math.gcd", "arguments": {"a": 12.0, "b": 18, "verbose": False}}]},
        truth,
    ).correct
    wrong_value = function_calls(
        {"calls": [{"name": "math.gcd", "arguments": {"a": 12, "b": 17}}]}, truth
    )
    assert not wrong_value.correct and wrong_value.fields == {"name": True, "arguments": False}
    assert not function_calls(
        {"calls": [{"name": "math.gcd", "arguments": {"a": 12}}]}, truth
    ).correct
    extra = {"calls": [{"name": "math.gcd", "arguments": {"a": 12, "b": 18, "c": 1}}]}
    assert not function_calls(extra, truth).correct
    assert not function_calls({"calls": [{"name": "math.lcm", "arguments": {}}]}, truth).correct
    # Strings compare as BFCL does: case, spaces and punctuation aside.
    city = [{"weather": {"city": ["San Francisco, CA"]}}]
    assert function_calls(
        {"calls": [{"name": "weather", "arguments": {"city": "san francisco ca"}}]}, city
    ).correct
    # Several calls match in any order; none expected means none may be made.
    two = [{"f": {"x": [1]}}, {"f": {"x": [2]}}]
    calls = {"calls": [{"name": "f", "arguments": {"x": 2}}, {"name": "f", "arguments": {"x": 1}}]}
    assert function_calls(calls, two).correct
    assert not function_calls({"calls": calls["calls"][:1]}, two).correct
    assert function_calls({"calls": []}, []).correct
    assert not function_calls(calls, []).correct
    assert call_matches({"name": "f", "arguments": {"x": 1}}, {"f": {"x": [1, 2]}}) == (True, "")


def test_judge_metric_and_user_metrics() -> None:
    metric = judge("verdict", score_field="score")
    right = metric({"verdict": "accept", "score": 8}, "accept")
    assert right.correct and right.score == 8.0
    assert not metric({"verdict": "reject", "score": 2}, {"label": "accept"}).correct
    assert metric({"verdict": False}, False).correct
    with pytest.raises(UsageError, match="not accept/reject"):
        metric({"verdict": "accept"}, "maybe")
    user = metric_from_name("json:loads")  # importable, but returns neither bool nor score
    with pytest.raises(TypeError):
        user({"x": 1}, 1)  # json.loads of a dict: the user's own bug surfaces as it is
    with pytest.raises(UsageError, match="neither a built-in metric"):
        metric_from_name("nonsense")
    with pytest.raises(UsageError, match="Cannot import the metric"):
        metric_from_name("no_such_module_here:fn")
    assert isinstance(exact()({"a": 1}, {"a": 1}), Score)


# --- the evaluation job, on the real model ------------------------------------------------

SENTIMENT = [
    ("pos-1", "I loved this film, it was wonderful.", "positive", "dev"),
    ("neg-1", "This was the worst meal I have ever had.", "negative", "dev"),
    ("pos-2", "Absolutely fantastic service, thank you!", "positive", "test"),
    ("neg-2", "The package arrived broken and two weeks late.", "negative", "test"),
]


@pytest.fixture
def labeled(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "tests" / "sentiment_roles.py", tmp_path / "roles.py")
    path = tmp_path / "labeled.jsonl"
    path.write_text(
        "".join(
            json.dumps({"id": i, "text": t, "expected": {"label": label}, "split": split}) + "\n"
            for i, t, label, split in SENTIMENT
        )
    )
    return path


def _eval(labeled: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        app,
        [
            "eval",
            "sentiment",
            "--roles",
            str(labeled.parent / "roles.py"),
            "--input",
            str(labeled),
            "--field",
            "label",
            "--workers",
            "1",
            *args,
        ],
        env={"COLUMNS": "200"},
    )
    return result.exit_code, result.output


def test_eval_scores_a_real_role_and_resumes_without_rework(labeled: Path) -> None:
    out = labeled.parent / "answers.jsonl"
    report_path = labeled.parent / "report.json"
    code, text = _eval(labeled, "--output", str(out), "--report", str(report_path))
    assert code == 0, text
    report = json.loads(report_path.read_text())
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(r["seed_id"] for r in lines) == sorted(i for i, *_ in SENTIMENT)
    for line in lines:
        block = line["eval"]
        assert block["correct"] == (line["label"] == block["expected"]["label"])
        role = block["roles"][0]
        assert role["model"] == "default" and 0 < role["confidence"] <= 1
        assert "text" not in block  # the answer block, not the input
    right = sum(line["eval"]["correct"] for line in lines)
    assert report["n"] == 4 and report["correct"] == right
    assert report["accuracy"] == right / 4
    low, high = report["ci95"]
    assert low <= report["accuracy"] <= high
    assert set(report["splits"]) == {"dev", "test"}
    assert report["roles"]["sentiment"]["samples"] == 4
    assert report["roles"]["sentiment"]["p"] == right / 4
    # Run again: the job is finished, nothing is answered twice, same report.
    before = out.read_bytes()
    code, text = _eval(labeled, "--output", str(out), "--report", str(report_path))
    assert code == 0, text
    assert out.read_bytes() == before
    assert json.loads(report_path.read_text())["correct"] == right


def test_the_model_never_sees_the_expected_answer(labeled: Path) -> None:
    # A record whose text would be classified by reading its own label: the role's
    # inputs are only `text`, and the eval copy hides `expected` from the pipeline.
    from smallagents.evaluation.pipeline import EvalPipeline, EvalSpec
    from smallagents.jobs.pipelines import UnitResult

    seen: list[dict] = []

    class Spy:
        name = "spy"

        def required_fields(self) -> tuple[str, ...]:
            return ("text",)

        def run_unit(self, data, *, run, seed, unit_id):  # type: ignore[no-untyped-def]
            seen.append(dict(data))
            return UnitResult(outputs=[{"id": unit_id, "label": "positive"}])

    pipeline = EvalPipeline(Spy(), EvalSpec(metric="exact", fields=("label",)))
    assert pipeline.required_fields() == ("text", "expected")
    result = pipeline.run_unit(
        {"id": "r", "text": "t", "expected": {"label": "negative"}, "split": "test"},
        run=None,  # type: ignore[arg-type]
        seed=1,
        unit_id="r",
    )
    assert seen == [{"id": "r", "text": "t"}]
    block = result.outputs[0]["eval"]
    assert block["correct"] is False and block["split"] == "test"


def test_split_selects_records_and_bad_input_is_one_line(labeled: Path, tmp_path: Path) -> None:
    out = tmp_path / "test-only.jsonl"
    report = evaluate(
        "sentiment",
        labeled,
        metric="exact",
        fields=("label",),
        split=("test",),
        output=out,
        roles=[str(labeled.parent / "roles.py")],
        workers=1,
    )
    assert report["n"] == 2 and list(report["splits"]) == ["test"]
    unlabeled = tmp_path / "unlabeled.jsonl"
    unlabeled.write_text(json.dumps({"id": "a", "text": "fine"}) + "\n")
    code, text = _eval(unlabeled, "--output", str(tmp_path / "x.jsonl"))
    assert code == 2
    assert "has no 'expected' field" in text and "Fix:" in text
    code, text = _eval(labeled, "--metric", "bogus", "--output", str(tmp_path / "y.jsonl"))
    assert code == 2 and "neither a built-in metric" in text


def test_routing_with_a_large_model_picks_a_threshold(labeled: Path, tmp_path: Path) -> None:
    # The small role on SmolLM2, the "large" on Gemma 270M: real answers from both,
    # one routing curve per signal; escalating everything gives the large accuracy.
    report = evaluate(
        "sentiment",
        labeled,
        fields=("label",),
        output=tmp_path / "small.jsonl",
        large="gemma-270m",
        target=0.0,
        roles=[str(labeled.parent / "roles.py")],
        workers=1,
    )
    assert report["large"]["n"] == 4
    # Token confidences are floats of four different prompts: they differ.
    curve = report["signals"]["confidence"]["curve"]
    assert curve[0]["escalated_share"] == 0.0 and curve[0]["accuracy"] == report["accuracy"]
    assert curve[-1]["escalated_share"] == 1.0
    assert curve[-1]["accuracy"] == report["large"]["accuracy"]
    chosen = report["signals"]["confidence"]["chosen"]
    assert chosen["escalated_share"] == 0.0  # target 0: no escalation needed
    large_lines = [p for p in tmp_path.glob("small.large-*.jsonl") if "rejects" not in p.name]
    assert len(large_lines) == 1
    models = {json.loads(line)["models"]["sentiment"] for line in large_lines[0].open()}
    assert models == {"gemma-270m"}


def test_the_large_model_answers_as_a_fallback_would_without_votes(
    labeled: Path, tmp_path: Path
) -> None:
    # With --votes 2 the small role votes; the large job must not (a fallback answers
    # once): with the votes carried over it measured a voting large model, 4x slower.
    evaluate(
        "sentiment",
        labeled,
        fields=("label",),
        output=tmp_path / "voted.jsonl",
        large="gemma-270m",
        votes=2,
        roles=[str(labeled.parent / "roles.py")],
        workers=1,
    )

    def samples(path: Path) -> list[int]:
        blocks = [json.loads(line)["eval"] for line in path.open()]
        return [call["samples"] for block in blocks for call in block["roles"]]

    small = samples(tmp_path / "voted.jsonl")
    assert small and min(small) >= 2  # first-to-ahead-by-2 draws two at least
    (large_path,) = [p for p in tmp_path.glob("voted.large-*.jsonl") if "rejects" not in p.name]
    assert samples(large_path) == [1] * 4


def test_a_user_metric_from_a_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "my_metrics.py").write_text(
        "def half_right(answer, expected):\n"
        "    return 0.5 if answer and answer.get('label') == expected['label'] else 0.0\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    metric = metric_from_name("my_metrics:half_right")
    assert metric({"label": "a"}, {"label": "a"}) == Score(True, score=0.5)
    assert metric({"label": "b"}, {"label": "a"}) == Score(False, score=0.0)


def test_a_filter_is_judged_by_what_it_kept() -> None:
    # gra-curate and other filters answer by keeping a record or rejecting it.
    from smallagents.evaluation.pipeline import EvalPipeline, EvalSpec
    from smallagents.jobs.pipelines import UnitResult

    class KeepShort:
        name = "keep_short"

        def required_fields(self) -> tuple[str, ...]:
            return ("response",)

        def run_unit(self, data, *, run, seed, unit_id):  # type: ignore[no-untyped-def]
            if len(data["response"]) < 10:
                return UnitResult(outputs=[{"id": unit_id, "response": data["response"]}])
            return UnitResult(rejects=[{"id": unit_id, "reason": "too long"}])

    pipeline = EvalPipeline(KeepShort(), EvalSpec(metric="judge", fields=("kept",)))
    cases = [
        ("short", "accept", True),
        ("a much longer one", "reject", True),
        ("tiny", "reject", False),
    ]
    for response, label, right in cases:
        result = pipeline.run_unit(
            {"id": response, "response": response, "expected": label},
            run=None,  # type: ignore[arg-type]
            seed=0,
            unit_id=response,
        )
        written = (result.outputs or result.rejects)[0]
        assert written["eval"]["correct"] is right, response

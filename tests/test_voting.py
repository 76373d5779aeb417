"""Tests of smallagents.voting: vote logic, keys, and the math checked exactly and by simulation."""

from __future__ import annotations

import dataclasses
import math
import random
import statistics
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

import pydantic
import pytest

from smallagents.structured.schema import RedFlag
from smallagents.voting import (
    VoteResult,
    canonical_key,
    expected_samples,
    fields_key,
    first_to_ahead_by_k,
    k_min,
    majority,
    step_success,
    task_success,
)

FLAG = object()  # in a script: the draw raises RedFlag("flagged")


class Answer(pydantic.BaseModel):
    answer: int
    note: str = ""


def scripted(outputs: Sequence[Any]) -> tuple[Callable[[int], Any], list[int]]:
    """A sampler replaying ``outputs`` in order and recording the indices it was called with."""
    calls: list[int] = []

    def sample(i: int) -> Any:
        calls.append(i)
        value = outputs[len(calls) - 1]
        if value is FLAG:
            raise RedFlag("flagged")
        return value

    return sample, calls


# --- first_to_ahead_by_k ------------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 2, 3, 7])
def test_unanimous_k_samples_cost_exactly_k(k: int) -> None:
    sample, calls = scripted(["same"] * (k + 5))
    result = first_to_ahead_by_k(sample, k)
    assert result.decided
    assert result.samples_drawn == k
    assert calls == list(range(k))
    assert result.winner == "same"
    assert result.winner_key == canonical_key("same")
    assert result.votes == {canonical_key("same"): k}
    assert result.margin == k
    assert result.share == 1.0
    assert result.red_flags == []


def test_k1_takes_first_valid_sample() -> None:
    sample, calls = scripted([FLAG, "a", "b"])
    result = first_to_ahead_by_k(sample, 1)
    assert (result.winner, result.decided, result.samples_drawn) == ("a", True, 2)
    assert result.red_flags == ["flagged"]
    assert calls == [0, 1]


def test_stops_the_moment_a_lead_of_k_is_reached() -> None:
    sample, calls = scripted(["a", "b", "a", "a", "a", "b"])
    result = first_to_ahead_by_k(sample, 2, key=str)
    assert result.samples_drawn == 4
    assert len(calls) == 4
    assert result.votes == {"a": 3, "b": 1}
    assert result.margin == 2


def test_red_flags_are_skipped_and_counted() -> None:
    outputs = ["x", FLAG, "long" * 10, "bad", "y", "x", "x"]

    def check(value: str) -> str | bool | None:
        if value == "bad":
            return True
        return "too long" if len(value) > 10 else None

    sample, _ = scripted(outputs)
    result = first_to_ahead_by_k(sample, 2, key=str, is_red_flag=check)
    assert result.decided
    assert result.samples_drawn == 7
    assert result.red_flags == ["flagged", "too long", "red-flagged by is_red_flag"]
    assert result.votes == {"x": 3, "y": 1}
    assert result.valid_samples == 4
    assert result.share == 0.75


def test_red_flags_never_reach_key() -> None:
    seen: list[Any] = []

    def key(value: Any) -> str:
        seen.append(value)
        return str(value)

    sample, _ = scripted(["ok", "bad", "ok"])
    first_to_ahead_by_k(sample, 2, key=key, is_red_flag=lambda v: "no" if v == "bad" else False)
    assert seen == ["ok", "ok"]


def test_key_raising_red_flag_counts_as_red_flag() -> None:
    def key(value: dict[str, Any]) -> str:
        if "answer" not in value:
            raise RedFlag("no answer")
        return str(value["answer"])

    sample, _ = scripted([{}, {"answer": 1}])
    result = first_to_ahead_by_k(sample, 1, key=key)
    assert result.red_flags == ["no answer"]
    assert result.winner == {"answer": 1}


def test_other_exceptions_propagate() -> None:
    def sample(i: int) -> int:
        return 1 // 0

    with pytest.raises(ZeroDivisionError):
        first_to_ahead_by_k(sample, 2)


def test_undecided_at_max_samples_reports_leader() -> None:
    sample, calls = scripted(["a", "a", "b", "a", "a", "a"])
    result = first_to_ahead_by_k(sample, 3, key=str, max_samples=4)
    assert not result.decided
    assert len(calls) == result.samples_drawn == 4
    assert (result.winner, result.margin) == ("a", 2)


def test_undecided_tie_reports_first_seen_with_zero_margin() -> None:
    sample, _ = scripted(["a", "b"] * 10)
    result = first_to_ahead_by_k(sample, 2, key=str, max_samples=6)
    assert not result.decided
    assert result.samples_drawn == 6
    assert (result.winner, result.margin) == ("a", 0)
    assert result.votes == {"a": 3, "b": 3}


def test_all_red_flagged_gives_no_winner_within_default_budget() -> None:
    sample, calls = scripted([FLAG] * 100)
    result = first_to_ahead_by_k(sample, 2)
    assert not result.decided
    assert result.samples_drawn == len(calls) == 40  # default max_samples is 20 * k
    assert result.winner is None and result.winner_key is None
    assert result.votes == {} and result.margin == 0 and result.share == 0.0
    assert result.red_flags == ["flagged"] * 40


def test_winner_is_first_sample_drawn_with_winning_key() -> None:
    first = {"answer": 1, "note": "first"}
    outputs = [first, {"answer": 2}, {"note": "second", "answer": 1}, {"answer": 1}]
    sample, _ = scripted(outputs)
    result = first_to_ahead_by_k(sample, 2, key=fields_key("answer"))
    assert result.winner is first
    assert result.winner_key == '{"answer":1}'
    assert result.samples_drawn == 4


def test_pydantic_values_vote_together() -> None:
    outputs = [Answer(answer=3), Answer(answer=4), Answer(answer=3), Answer(answer=3)]
    sample, _ = scripted(outputs)
    result = first_to_ahead_by_k(sample, 2)
    assert result.decided
    assert result.winner is outputs[0]
    assert result.votes == {'{"answer":3,"note":""}': 3, '{"answer":4,"note":""}': 1}


def test_result_is_frozen() -> None:
    result = first_to_ahead_by_k(lambda i: 1, 1)
    assert isinstance(result, VoteResult)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.decided = False  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"k": 0}, "k must be >= 1"),
        ({"k": -2}, "k must be >= 1"),
        ({"k": 3, "max_samples": 2}, "max_samples must be >= k"),
    ],
)
def test_first_to_ahead_validates_arguments(kwargs: dict[str, int], message: str) -> None:
    calls: list[int] = []
    with pytest.raises(ValueError, match=message):
        first_to_ahead_by_k(calls.append, **kwargs)
    assert calls == []


# --- majority -----------------------------------------------------------------------------


def test_majority_draws_exactly_n_and_picks_plurality() -> None:
    sample, calls = scripted(["a", "a", "a", "b", "c"])
    result = majority(sample, 5, key=str)
    assert calls == [0, 1, 2, 3, 4]
    assert result.decided and result.winner == "a" and result.margin == 2
    assert result.votes == {"a": 3, "b": 1, "c": 1}


def test_majority_tie_is_undecided() -> None:
    sample, _ = scripted(["a", "b", "b", "a", "c"])
    result = majority(sample, 5, key=str)
    assert not result.decided
    assert (result.winner, result.margin) == ("a", 0)


def test_majority_red_flags_excluded_and_unique_leader_decides() -> None:
    sample, _ = scripted(["a", FLAG, "b", "b", FLAG])
    result = majority(sample, 5, key=str)
    assert result.decided and result.winner == "b"
    assert result.samples_drawn == 5 and result.red_flags == ["flagged", "flagged"]


def test_majority_all_red_flagged_is_undecided() -> None:
    sample, _ = scripted([FLAG] * 3)
    result = majority(sample, 3)
    assert not result.decided and result.winner is None and result.samples_drawn == 3


def test_majority_validates_n() -> None:
    with pytest.raises(ValueError, match="n must be >= 1"):
        majority(lambda i: i, 0)


# --- keys ---------------------------------------------------------------------------------


def test_canonical_key_is_order_independent_and_compact() -> None:
    assert canonical_key({"b": 1, "a": [1, 2]}) == canonical_key({"a": [1, 2], "b": 1})
    assert canonical_key({"b": 1, "a": [1, 2]}) == '{"a":[1,2],"b":1}'
    assert canonical_key("é") == '"é"'


def test_canonical_key_dumps_pydantic_models_including_nested() -> None:
    model = Answer(answer=5, note="n")
    assert canonical_key(model) == canonical_key({"note": "n", "answer": 5})
    assert canonical_key([model]) == '[{"answer":5,"note":"n"}]'


def test_canonical_key_rejects_non_json() -> None:
    with pytest.raises(TypeError, match="key="):
        canonical_key({1, 2})


def test_fields_key_on_dicts_and_models() -> None:
    key = fields_key("answer")
    assert key({"answer": 1, "note": "x"}) == key({"answer": 1, "note": "y"})
    assert key({"answer": 1}) != key({"answer": 2})
    assert key(Answer(answer=1, note="x")) == key({"answer": 1, "note": "other"})
    assert key({}) != key({"answer": None})  # absent differs from null
    two = fields_key("note", "answer")
    assert two(Answer(answer=1, note="x")) == '{"answer":1,"note":"x"}'


def test_fields_key_errors() -> None:
    with pytest.raises(ValueError, match="at least one field"):
        fields_key()
    with pytest.raises(AttributeError):
        fields_key("missing")(Answer(answer=1))


# --- math: closed forms against exact computation -----------------------------------------


def exact_walk(p: Fraction, k: int) -> tuple[Fraction, Fraction]:
    """Exact (P(correct wins), E[draws]) of first-to-ahead-by-k by solving the walk's equations.

    States are the lead (correct - wrong) in -k+1..k-1 starting at 0, absorbed at +-k:
    ``W_i = p W_{i+1} + q W_{i-1}`` with ``W_k = 1, W_-k = 0`` and
    ``E_i = 1 + p E_{i+1} + q E_{i-1}`` with ``E_+-k = 0``, solved by Gaussian elimination.
    """
    q = 1 - p
    size = 2 * k - 1

    def solve(rhs: list[Fraction]) -> list[Fraction]:
        rows = [[Fraction(0)] * size + [rhs[i]] for i in range(size)]
        for i in range(size):
            rows[i][i] = Fraction(1)
            if i + 1 < size:
                rows[i][i + 1] = -p
            if i > 0:
                rows[i][i - 1] = -q
        for col in range(size):
            pivot = next(r for r in range(col, size) if rows[r][col] != 0)
            rows[col], rows[pivot] = rows[pivot], rows[col]
            for r in range(size):
                if r != col and rows[r][col] != 0:
                    factor = rows[r][col] / rows[col][col]
                    rows[r] = [a - factor * b for a, b in zip(rows[r], rows[col], strict=True)]
        return [rows[i][size] / rows[i][i] for i in range(size)]

    win_rhs = [Fraction(0)] * size
    win_rhs[-1] = p  # the step from k-1 to +k lands on W_k = 1
    wins = solve(win_rhs)
    draws = solve([Fraction(1)] * size)
    return wins[k - 1], draws[k - 1]


PS = [Fraction(text) for text in ("1/2", "3/5", "7/10", "4/5", "1/4", "99/100")]


@pytest.mark.parametrize("p", PS)
@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_closed_forms_match_exact_walk(p: Fraction, k: int) -> None:
    wins, draws = exact_walk(p, k)
    assert step_success(float(p), k) == pytest.approx(float(wins), rel=1e-12)
    assert expected_samples(float(p), k) == pytest.approx(float(draws), rel=1e-12)


@pytest.mark.parametrize("p", [0.3, 0.55, 0.6, 0.75, 0.9])
@pytest.mark.parametrize("k", [1, 2, 4, 8])
def test_expected_samples_equals_gamblers_ruin_formula(p: float, k: int) -> None:
    q = 1 - p
    r = q / p
    literal = k / (q - p) - (2 * k / (q - p)) * (1 - r**k) / (1 - r ** (2 * k))
    assert expected_samples(p, k) == pytest.approx(literal, rel=1e-9)
    assert step_success(p, k) == pytest.approx(1 / (1 + ((1 - p) / p) ** k), rel=1e-12)


def test_math_edge_cases() -> None:
    assert expected_samples(0.5, 4) == 16.0
    assert expected_samples(0.5 + 1e-12, 4) == pytest.approx(16.0, rel=1e-9)
    assert expected_samples(1.0, 3) == expected_samples(0.0, 3) == 3.0
    assert step_success(0.7, 1) == pytest.approx(0.7)
    assert step_success(0.3, 5) + step_success(0.7, 5) == pytest.approx(1.0)
    assert step_success(0.01, 1000) == pytest.approx(0.0, abs=1e-300)  # no overflow
    assert step_success(0.99, 1000) == 1.0
    assert (step_success(0.0, 2), step_success(1.0, 2)) == (0.0, 1.0)
    with pytest.raises(ValueError, match="probability"):
        step_success(1.5, 2)
    assert task_success(0.8, 3, steps=100, m=4) == pytest.approx(step_success(0.8, 3) ** 25)


@pytest.mark.parametrize("p", [0.51, 0.6, 0.75, 0.9, 0.99, 0.999])
@pytest.mark.parametrize("target", [0.5, 0.9, 0.99, 0.999999])
@pytest.mark.parametrize(("steps", "m"), [(1, 1), (100, 1), (1_048_575, 1), (1000, 10)])
def test_k_min_is_the_smallest_sufficient_k(p: float, target: float, steps: int, m: int) -> None:
    k = k_min(p, target, steps, m)
    assert k >= 1
    assert task_success(p, k, steps, m) >= target
    if k > 1:
        assert task_success(p, k - 1, steps, m) < target
    raw = math.ceil(math.log(target ** (-m / steps) - 1) / math.log((1 - p) / p))
    assert abs(k - max(1, raw)) <= 1  # the closed form, up to float rounding at the boundary


def test_k_min_errors_and_trivial_cases() -> None:
    assert k_min(1.0, 0.99, 1000) == 1
    for p in (0.5, 0.3):
        with pytest.raises(ValueError, match="voting cannot"):
            k_min(p, 0.9, 10)
    for target in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match="target"):
            k_min(0.9, target, 10)


# --- math: simulation with a seeded Bernoulli sampler -------------------------------------

TRIALS = 20_000


def simulate(p: float, k: int, seed: int, red_flag_rate: float = 0.0) -> tuple[float, float, float]:
    """Run TRIALS votes; return (accuracy, mean samples_drawn, std error of that mean)."""
    rng = random.Random(seed)

    def sample(i: int) -> str:
        if rng.random() < red_flag_rate:
            raise RedFlag("random")
        return "right" if rng.random() < p else "wrong"

    correct = 0
    drawn: list[int] = []
    for _ in range(TRIALS):
        result = first_to_ahead_by_k(sample, k, max_samples=10_000)
        assert result.decided
        correct += result.winner == "right"
        drawn.append(result.samples_drawn)
    return correct / TRIALS, statistics.fmean(drawn), statistics.stdev(drawn) / math.sqrt(TRIALS)


@pytest.mark.parametrize(("p", "k", "seed"), [(0.6, 3, 1), (0.7, 2, 2), (0.8, 4, 3)])
def test_simulated_accuracy_and_cost_match_formulas(p: float, k: int, seed: int) -> None:
    accuracy, mean, mean_se = simulate(p, k, seed)
    expected_accuracy = step_success(p, k)
    accuracy_se = math.sqrt(expected_accuracy * (1 - expected_accuracy) / TRIALS)
    assert abs(accuracy - expected_accuracy) < 4.5 * accuracy_se
    assert abs(mean - expected_samples(p, k)) < 4.5 * mean_se
    assert accuracy > p  # voting helped


def test_simulated_red_flags_only_inflate_cost() -> None:
    p, k, rate = 0.7, 3, 0.25
    accuracy, mean, mean_se = simulate(p, k, seed=4, red_flag_rate=rate)
    expected_accuracy = step_success(p, k)
    accuracy_se = math.sqrt(expected_accuracy * (1 - expected_accuracy) / TRIALS)
    assert abs(accuracy - expected_accuracy) < 4.5 * accuracy_se
    assert abs(mean - expected_samples(p, k) / (1 - rate)) < 4.5 * mean_se

"""Metrics: how one answer compares with its expected answer.

A metric is a function ``(answer, expected) -> Score``. ``answer`` is the
pipeline's output record for the unit (its fields, e.g. ``{"label": ...}`` for a
role, ``{"calls": [...]}`` for the caller), or ``None`` when the unit was
rejected or unresolved: no answer is a wrong answer. ``expected`` is the labeled
record's expected value, as the user wrote it.

Built in (``metric_from_name``): ``exact`` (chosen fields, or the whole answer),
``numeric`` (a tolerance), ``set`` (order-free lists), ``call`` (function calls in
BFCL's style) and ``judge`` (accept/reject agreement, with any numeric score kept
for AUROC). A user metric is ``module:function`` returning a ``Score``, a
bool or a number in [0, 1].
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from smallagents.errors import UsageError
from smallagents.voting import canonical_key

# Fields every pipeline adds to its output records; never part of "the answer".
PROVENANCE_FIELDS = frozenset(
    {"id", "status", "escalated", "seed_id", "models", "reason", "eval", "query", "tools"}
)


@dataclass(frozen=True)
class Score:
    """One answer's score.

    Attributes:
        correct: whether the answer counts as right.
        fields: per-field correctness, where the metric looks at fields.
        score: a numeric score to rank answers by (AUROC), where there is one.
        detail: why it was wrong, in a few words.
    """

    correct: bool
    fields: Mapping[str, bool] = field(default_factory=dict)
    score: float | None = None
    detail: str = ""


Metric = Callable[[Mapping[str, Any] | None, Any], Score]


def answer_fields(record: Mapping[str, Any]) -> dict[str, Any]:
    """An output record without the fields every pipeline adds for provenance."""
    return {key: value for key, value in record.items() if key not in PROVENANCE_FIELDS}


def _same(a: Any, b: Any) -> bool:
    # 1 and 1.0 are the same number, True is not 1: JSON's view, not Python's.
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return float(a) == float(b)
    if isinstance(a, str) and isinstance(b, str):
        return a.strip() == b.strip()
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def exact(fields: Sequence[str] = ()) -> Metric:
    """Exact match on ``fields`` (default: every field of ``expected``).

    ``expected`` is an object of expected field values, or a plain value compared
    with the answer's only field.
    """

    def metric(answer: Mapping[str, Any] | None, expected: Any) -> Score:
        wanted = expected if isinstance(expected, Mapping) else None
        names = list(fields) or (list(wanted) if wanted is not None else [])
        if answer is None:
            return Score(False, {name: False for name in names}, detail="no answer")
        got = answer_fields(answer)
        if wanted is None:
            if len(got) != 1 and not fields:
                return Score(False, detail=f"answer has fields {sorted(got)}, expected one value")
            value = got[fields[0]] if fields else next(iter(got.values()))
            return Score(_same(value, expected), {fields[0] if fields else "value": True})
        per_field = {name: name in got and _same(got[name], wanted.get(name)) for name in names}
        wrong = [name for name, ok in per_field.items() if not ok]
        return Score(not wrong, per_field, detail=f"wrong: {', '.join(wrong)}" if wrong else "")

    return metric


def _field_by_field(fields: Sequence[str], same: Callable[[Any, Any], bool]) -> Metric:
    """A metric comparing each expected field with ``same``; a plain expected value is
    compared with the answer's only field."""

    def metric(answer: Mapping[str, Any] | None, expected: Any) -> Score:
        wanted = expected if isinstance(expected, Mapping) else {"value": expected}
        names = list(fields) or list(wanted)
        if answer is None:
            return Score(False, {name: False for name in names}, detail="no answer")
        got = answer_fields(answer)
        if not isinstance(expected, Mapping) and len(got) == 1:
            got = {"value": next(iter(got.values()))}
        per_field = {name: name in got and same(got[name], wanted.get(name)) for name in names}
        return Score(all(per_field.values()), per_field)

    return metric


def numeric(tolerance: float, fields: Sequence[str] = ()) -> Metric:
    """Numbers within an absolute ``tolerance``; other values must be the same."""

    def close(a: Any, b: Any) -> bool:
        if isinstance(a, bool) or not isinstance(a, int | float) or not isinstance(b, int | float):
            return _same(a, b)
        return math.isclose(float(a), float(b), rel_tol=0.0, abs_tol=tolerance)

    return _field_by_field(fields, close)


def set_match(fields: Sequence[str] = ()) -> Metric:
    """Lists compared as sets (order and repeats ignored)."""

    def as_set(value: Any) -> frozenset[str] | None:
        if not isinstance(value, list | tuple):
            return None
        return frozenset(canonical_key(item) for item in value)

    def same_set(a: Any, b: Any) -> bool:
        mine = as_set(a)
        return mine is not None and mine == as_set(b)

    return _field_by_field(fields, same_set)


# --- function calls, BFCL's rule --------------------------------------------------------


def _value_accepted(value: Any, accepted: Sequence[Any]) -> bool:
    for candidate in accepted:
        if isinstance(candidate, str) and isinstance(value, str):
            # BFCL compares strings without case, spaces and most punctuation.
            if _normalized(candidate) == _normalized(value):
                return True
        elif isinstance(candidate, list) and isinstance(value, list):
            if len(candidate) == len(value) and all(
                _value_accepted(v, [c]) for v, c in zip(value, candidate, strict=True)
            ):
                return True
        elif isinstance(candidate, Mapping) and isinstance(value, Mapping):
            if candidate.keys() == value.keys() and all(
                _value_accepted(value[k], [candidate[k]]) for k in candidate
            ):
                return True
        elif _same(value, candidate):
            return True
    return False


def _normalized(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch not in " ,./-_*^'\"")


def call_matches(call: Mapping[str, Any], expected: Mapping[str, Any]) -> tuple[bool, str]:
    """Whether one call matches one BFCL ground-truth entry ``{NAME: {ARG: [accepted]}}``.

    The name must match; every argument given must be one the entry names, with a
    value among the accepted ones; an argument whose accepted values include ``""``
    may be omitted, any other must be given.
    """
    ((name, arguments),) = expected.items()
    if call.get("name") != name:
        return False, f"called {call.get('name')!r}, expected {name!r}"
    given = call.get("arguments") or {}
    if not isinstance(given, Mapping):
        return False, "arguments are not an object"
    for key in given:
        if key not in arguments:
            return False, f"unexpected argument {key!r}"
    for key, accepted in arguments.items():
        accepted = list(accepted) if isinstance(accepted, list) else [accepted]
        if key not in given:
            if "" not in accepted:
                return False, f"missing argument {key!r}"
            continue
        if not _value_accepted(given[key], [a for a in accepted if a != ""]):
            return False, f"{key}={given[key]!r} not among {accepted!r}"
    return True, ""


def function_calls(answer: Mapping[str, Any] | None, expected: Any) -> Score:
    """BFCL-style match of the answer's ``calls`` against a list of ground-truth entries.

    ``expected`` is BFCL's ``ground_truth``: a list of ``{NAME: {ARG: [accepted values]}}``,
    one per expected call; an empty list means no call fits (irrelevance). Several
    calls match order-free, each expected entry used once.
    """
    entries = list(expected or [])
    if answer is None:
        return Score(False, {"name": False, "arguments": False}, detail="no answer")
    calls = list(answer.get("calls") or [])
    if len(calls) != len(entries):
        names_ok = sorted(str(c.get("name")) for c in calls) == sorted(
            next(iter(e)) for e in entries
        )
        return Score(
            False,
            {"name": names_ok, "arguments": False},
            detail=f"{len(calls)} call(s), expected {len(entries)}",
        )
    remaining = list(entries)
    detail = ""
    names_ok = sorted(str(c.get("name")) for c in calls) == sorted(next(iter(e)) for e in entries)
    for call in calls:
        for index, entry in enumerate(remaining):
            ok, why = call_matches(call, entry)
            if ok:
                del remaining[index]
                break
            detail = detail or why
        else:
            return Score(False, {"name": names_ok, "arguments": False}, detail=detail)
    return Score(True, {"name": True, "arguments": True})


# --- judges -------------------------------------------------------------------------------

ACCEPT_WORDS = frozenset({"accept", "accepted", "yes", "good", "true", "correct", "pass"})
REJECT_WORDS = frozenset({"reject", "rejected", "no", "bad", "false", "incorrect", "fail"})


def verdict_of(value: Any) -> bool | None:
    """A judge's verdict as True (accept) / False (reject), or None when unreadable."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in ACCEPT_WORDS:
            return True
        if word in REJECT_WORDS:
            return False
    return None


def judge(verdict_field: str = "verdict", score_field: str | None = None) -> Metric:
    """Accept/reject agreement of a judge with the label; ``score_field`` is kept for AUROC.

    ``expected`` is the label (``accept``/``reject``, a bool, or ``{"label": ...}``).
    Without ``score_field`` the confidence of the verdict, when the role recorded
    one, becomes the score (probability of accept).
    """

    def metric(answer: Mapping[str, Any] | None, expected: Any) -> Score:
        label = verdict_of(expected.get("label") if isinstance(expected, Mapping) else expected)
        if label is None:
            raise UsageError(
                f"Expected label {expected!r} is not accept/reject.",
                fix="label judge records with accept or reject (or true/false).",
            )
        if answer is None:
            return Score(False, {verdict_field: False}, detail="no answer")
        verdict = verdict_of(answer.get(verdict_field))
        score: float | None = None
        if score_field is not None and isinstance(answer.get(score_field), int | float):
            score = float(answer[score_field])
        return Score(
            verdict is not None and verdict == label, {verdict_field: verdict == label}, score
        )

    return metric


# --- by name ----------------------------------------------------------------------------

BUILTIN = ("exact", "numeric", "set", "call", "judge")


def metric_from_name(
    name: str,
    *,
    fields: Sequence[str] = (),
    tolerance: float = 1e-6,
    score_field: str | None = None,
) -> Metric:
    """A built-in metric by name, or ``module:function`` for a user's own.

    Raises:
        UsageError: an unknown name, or a function that cannot be imported.
    """
    if name == "exact":
        return exact(fields)
    if name == "numeric":
        return numeric(tolerance, fields)
    if name == "set":
        return set_match(fields)
    if name == "call":
        return function_calls
    if name == "judge":
        return judge(fields[0] if fields else "verdict", score_field)
    module_name, sep, function_name = name.partition(":")
    if not sep or not module_name or not function_name:
        raise UsageError(
            f"--metric {name!r} is neither a built-in metric nor module:function.",
            fix=f"use one of {', '.join(BUILTIN)}, or module:function for your own.",
        )
    try:
        function = getattr(importlib.import_module(module_name), function_name)
    except (ImportError, AttributeError) as error:
        raise UsageError(
            f"Cannot import the metric {name!r}: {error}.",
            fix="check the module is importable (on PYTHONPATH) and defines the function.",
        ) from None
    return user_metric(function)


def user_metric(function: Callable[..., Any]) -> Metric:
    """A user's function as a metric: it may return a Score, a bool or a number in [0, 1]."""

    def metric(answer: Mapping[str, Any] | None, expected: Any) -> Score:
        result = function(answer, expected)
        if isinstance(result, Score):
            return result
        if isinstance(result, bool):
            return Score(result)
        if isinstance(result, int | float) and 0.0 <= float(result) <= 1.0:
            return Score(float(result) >= 0.5, score=float(result))
        raise UsageError(
            f"The metric {getattr(function, '__name__', function)!r} returned {result!r}.",
            fix="return a smallagents.evaluation.Score, a bool, or a number in [0, 1].",
        )

    return metric

"""The reviewers: the solving review (answer, then compare) and the scored one, on their models."""

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import smallagents

from ._config import GraConfig
from ._figures import figures, show, unreproduced
from ._roles import judges, roles, variant
from ._state import GraState, unit_seed


@dataclass(frozen=True)
class SolvingReviewer:
    """One reviewer of a ``solve`` review: the roles it plays, all on its model.

    Attributes:
        name: its name in the records (``gra_reviewer_1``).
        solver: answers the instruction itself (``gra_solver_1``).
        checker: says whether the response gives that answer (``gra_checker_1``).
        claims: fact-checks an agreeing response whole (``gra_claims_1``), or ``None``.
        claims_threshold: the lowest P(every claim is true) at which it keeps one.
        sampler: writes its own answers for the figure check (``gra_sampler_1``), or ``None``.
        figure_samples: how many of them it draws at most.
    """

    name: str
    solver: smallagents.Role
    checker: smallagents.Role
    claims: smallagents.Role | None = None
    claims_threshold: float = 0.0
    sampler: smallagents.Role | None = None
    figure_samples: int = 0


def solving_reviewers(config: GraConfig) -> list[SolvingReviewer]:
    """The reviewers of a ``solve`` review: ``gra_solver_1``, ``gra_checker_1``,
    ``gra_claims_1`` and ``gra_sampler_1`` ... on the reviewers' models, in turn."""
    claims = claims_checkers(config)
    samplers = figure_samplers(config)
    reviewers = []
    for index in range(config.reviewers):
        model = config.model(index)
        number = index + 1
        reviewers.append(
            SolvingReviewer(
                name=f"gra_reviewer_{number}",
                solver=variant(judges()["judge_solve"], f"gra_solver_{number}", model),
                checker=variant(judges()["judge_agree"], f"gra_checker_{number}", model),
                claims=claims[index],
                claims_threshold=config.claims_threshold,
                sampler=samplers[index],
                figure_samples=config.figure_samples,
            )
        )
    return reviewers


def _per_reviewer(
    config: GraConfig, judge: str, name: str, enabled: bool
) -> list[smallagents.Role | None]:
    """``judge`` as ``{name}_1`` ... on each reviewer's model, or ``None`` each when
    the check it plays is off."""
    if not enabled:
        return [None] * config.reviewers
    return [
        variant(judges()[judge], f"{name}_{index + 1}", config.model(index))
        for index in range(config.reviewers)
    ]


def claims_checkers(config: GraConfig) -> list[smallagents.Role | None]:
    """The fact-checker of each ``solve`` reviewer (``gra_claims_1`` ... on the reviewers'
    models, in turn), or ``None`` each when ``claims_threshold`` is 0 (no fact check)."""
    return _per_reviewer(config, "judge_claims", "gra_claims", config.claims_threshold > 0)


def figure_samplers(config: GraConfig) -> list[smallagents.Role | None]:
    """The sampler of each ``solve`` reviewer's figure check (``gra_sampler_1`` ... on
    the reviewers' models, in turn), or ``None`` each when ``figure_samples`` is 0."""
    return _per_reviewer(config, "judge_sample", "gra_sampler", config.figure_samples > 0)


_NUMBER = re.compile(r"-?\d+(?:[.,]\d+)*")
_NUMBER_WORDS = {
    word: float(value)
    for value, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve".split()  # noqa: SIM905
    )
}
_SMALL_WORDS = frozenset(
    "the a an of in on at to is are was and or for with by from its it this that as be".split()  # noqa: SIM905
)


def _numbers(text: str) -> set[float]:
    found = {float(m.replace(",", "")) for m in _NUMBER.findall(text) if m.count(".") <= 1}
    words = re.findall(r"[a-z]+", text.lower())
    found.update(_NUMBER_WORDS[word] for word in words if word in _NUMBER_WORDS)
    return found


def _same_number(wanted: float, said: float) -> bool:
    # Whole numbers are counts and years: 1989 and 1991 are 0.1% apart and different
    # answers (measured: a 1% tolerance let "the Berlin Wall fell in 1991" agree with 1989).
    if wanted.is_integer() and said.is_integer():
        return wanted == said
    return math.isclose(wanted, said, rel_tol=0.01)


def compare_answers(reference: str, response: str) -> bool | None:
    """Whether ``response`` states the short ``reference`` answer, read without a model.

    A reference of at most four words is compared directly: its numbers must all
    appear in the response (whole numbers exactly; where one has decimals, 1% apart
    counts as the same number, "3.2288" and "about 3.22"; "seven" is 7), else one of
    its content words must. ``None`` for a longer reference: a model
    compares those. Measured: the 1.5B model said "agrees" to "4 feet is 480
    inches" against its own "48", and to "the Congo" against its own "Nile"; a
    containment check cannot be talked into that.
    """
    short = reference.strip().rstrip(".")
    if not short or len(short.split()) > 4:
        return None
    wanted = _numbers(short)
    if wanted:
        said = _numbers(response)
        return all(any(_same_number(w, s) for s in said) for w in wanted)
    words = [
        w for w in re.findall(r"[a-z0-9]+", short.lower()) if w not in _SMALL_WORDS and len(w) > 2
    ]
    if not words:
        return None
    said_words = set(re.findall(r"[a-z0-9]+", response.lower()))
    return any(w in said_words for w in words)


def _score(probability: float) -> int:
    return max(1, min(10, 1 + int(probability * 9 + 0.5)))


def _p_yes(record: smallagents.RoleRecord) -> float | None:
    """The decoder's probability of "yes" in a yes/no verdict (None: no valid verdict)."""
    verdict = getattr(record.value, "verdict", None) if record.resolved else None
    if verdict is None:
        return None
    confidence = record.confidence.get("verdict", 1.0)
    return confidence if verdict == "yes" else 1.0 - confidence


def _solving_review(reviewer: SolvingReviewer) -> Callable[[GraState], dict[str, Any]]:
    """A reviewer node that answers the instruction itself, then compares.

    Its review has the fields of a scored one, so that weights, thresholds, the
    tally, the adjudicator and the report read it alike: ``score`` is
    ``1 + 9 * P(agree)`` rounded, ``accept`` is ``P(agree) >= 0.5``, and the
    feedback names the reviewer's own answer. With a fact-checker (``claims``), a
    response that agrees is also read whole, and it is accepted only when P(every
    claim is true) reaches ``claims_threshold``; ``p_claims`` records it, and
    ``p_accept`` and ``score`` become the lower of the two probabilities. With a
    ``sampler``, a response still accepted that states figures is rejected when
    none of up to ``figure_samples`` answers of the reviewer's own states any of
    them (``figures`` records how many were drawn and what none reproduced).
    """
    name, solver, checker = reviewer.name, reviewer.solver, reviewer.checker
    claims, sampler = reviewer.claims, reviewer.sampler

    def figure_check(entry: dict[str, Any], pair: dict[str, Any]) -> dict[str, Any]:
        if sampler is None or not entry.get("accept"):
            return entry
        stated = figures(pair["response"])
        if not stated:  # nothing to check: nothing is drawn
            return entry
        run = smallagents.current_run()
        answers: list[str] = []
        # A response is rejected only when none of its figures comes back: a right
        # answer often carries working figures the samples need not repeat ("1,000
        # grams, so 2,500", "Apollo 11"; four good held-out pairs were lost to a rule
        # that wanted every figure). Stop at the first one that does.
        while len(answers) < reviewer.figure_samples:
            seed = unit_seed(pair["instruction"], "figures", len(answers))
            sampled = sampler.invoke({"instruction": pair["instruction"]}, run=run, seed=seed)
            answers.append(str(getattr(sampled.value, "answer", "")) if sampled.resolved else "")
            if len(unreproduced(pair["response"], answers)) < len(stated):
                break
        missing = unreproduced(pair["response"], answers)
        entry["figures"] = {"samples": len(answers), "unreproduced": [show(f) for f in missing]}
        if len(missing) == len(stated):
            entry.update(
                problems=[
                    f"its own answers never state {', '.join(show(f) for f in missing)}"
                    f" ({len(answers)} drawn)"
                ],
                accept=False,
                score=1,
                p_accept=0.0,
            )
        return entry

    def fact_check(entry: dict[str, Any], pair: dict[str, Any]) -> dict[str, Any]:
        if claims is None or not entry.get("accept"):
            return entry
        p_true = _p_yes(
            claims.invoke(
                {"instruction": pair["instruction"], "response": pair["response"]},
                run=smallagents.current_run(),
            )
        )
        if p_true is None:
            entry["error"] = "no valid fact-check verdict"
            return entry
        entry["p_claims"] = round(p_true, 4)
        if p_true < reviewer.claims_threshold:
            entry.update(
                problems=[f"a claim looks false (P(all true) {p_true:.2f})"],
                accept=False,
            )
        probability = min(entry["p_accept"], p_true)
        entry.update(p_accept=round(probability, 4), score=_score(probability))
        return entry

    def review(state: GraState) -> dict[str, Any]:
        run = smallagents.current_run()
        pair = state["pair"]
        solved = solver.invoke({"instruction": pair["instruction"]}, run=run)
        reference = str(getattr(solved.value, "answer", "") or "") if solved.resolved else ""
        entry: dict[str, Any] = {"reviewer": name, "round": state.get("round", 0)}
        if not reference:
            entry["error"] = "no answer of its own to compare with"
            return {"reviews": [entry]}
        direct = compare_answers(reference, pair["response"])
        if direct is not None:  # a short answer: compared as text, no model call
            entry.update(
                problems=[] if direct else [f"disagrees with its own answer: {reference}"],
                feedback=f"Reviewer's own answer: {reference}"[:120],
                score=10 if direct else 1,
                accept=direct,
                p_accept=1.0 if direct else 0.0,
                compared="text",
            )
            return {"reviews": [figure_check(fact_check(entry, pair), pair)]}
        checked = checker.invoke(
            {
                "instruction": pair["instruction"],
                "reference": reference,
                "response": pair["response"],
            },
            run=run,
        )
        agree = _p_yes(checked)
        if agree is None:
            entry["error"] = "no valid verdict"
            return {"reviews": [entry]}
        entry.update(
            problems=[] if agree >= 0.5 else [f"disagrees with its own answer: {reference}"],
            feedback=f"Reviewer's own answer: {reference}"[:120],
            score=_score(agree),
            accept=agree >= 0.5,
            p_accept=round(agree, 4),
            compared="model",
        )
        return {"reviews": [figure_check(fact_check(entry, pair), pair)]}

    return review


def reviewer_roles(config: GraConfig) -> list[smallagents.Role]:
    """The reviewers of ``config``: ``gra_reviewer_1`` ... on their models, in turn
    (for a ``solve`` review, its checkers: ``gra_checker_1`` ...)."""
    if config.review == "solve":
        return [reviewer.checker for reviewer in solving_reviewers(config)]
    base = roles()["gra_reviewer"]
    found: list[smallagents.Role] = []
    used: set[str] = set()
    for index in range(config.reviewers):
        model = config.model(index)
        # Greedy decoding on a model that already reviewed would copy its review.
        temperature = 0.7 if model in used else None
        used.add(model)
        found.append(base.variant(f"gra_reviewer_{index + 1}", model, temperature=temperature))  # type: ignore[attr-defined]
    return found

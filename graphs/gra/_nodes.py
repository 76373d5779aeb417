"""The graph's nodes: what each role reads from the state, what it writes back, and the branches."""

from collections.abc import Callable, Mapping
from typing import Any

from smallagents import END

from ._avoid import Avoided
from ._checks import free_checks
from ._config import DEFAULT_DOMAIN, GraConfig
from ._roles import response_limit
from ._state import GraState, unit_seed


def _generator_inputs(state: GraState) -> dict[str, str]:
    return {
        "domain": state.get("domain") or DEFAULT_DOMAIN,
        "seed_instruction": state["instruction"],
        "seed_response": state.get("response") or "(none given)",
    }


def _steered_inputs(avoided: Avoided) -> Callable[[GraState], dict[str, str]]:
    """The Generator's inputs with the earlier instructions nearest to the seed."""

    def inputs(state: GraState) -> dict[str, str]:
        nearest = avoided.nearest(state)
        earlier = "\n".join(f"- {instruction}" for instruction in nearest) or "- (none)"
        return {**_generator_inputs(state), "earlier": earlier}

    return inputs


def _drafted(pair: dict[str, Any], state: GraState) -> dict[str, Any]:
    return {"pair": pair, "draws": state.get("draws", 0) + 1}


def _draft_seed(state: GraState) -> int | None:
    """The first draft's seed is the role's own (from its inputs and the unit's seed, as
    for any role); a redraw mixes in how many drafts came before."""
    draws = state.get("draws", 0)
    return unit_seed(state["instruction"], draws) if draws else None


def _screen(config: GraConfig, *, curate: bool) -> Callable[[GraState], dict[str, Any]]:
    generated_limit = response_limit()

    def screen(state: GraState) -> dict[str, Any]:
        pair = state.get("pair") or {
            "instruction": state["instruction"],
            "response": state.get("response", ""),
        }
        failed = free_checks(
            pair["instruction"],
            pair["response"],
            # A generated pair may not copy its seed; an existing pair is its own input.
            seed=None if curate else state,
            # Only a generated draft has a known length limit (its schema's).
            limit=None if curate and not state.get("round") else generated_limit,
            checks=config.checks,
            threshold=config.dedupe_threshold,
        )
        update: dict[str, Any] = {"pair": pair, "checks": [name for name, _ in failed]}
        if not failed:
            return {**update, "decision": None, "disagreement": None}
        reasons = "; ".join(reason for _, reason in failed)
        decision = {
            "verdict": "reject",
            "adjudicated": False,
            "rationale": f"it failed the free checks: {reasons}",
            "reason": f"free check: {reasons}",
        }
        return {**update, "decision": decision, "disagreement": None}

    return screen


def _reviewer_inputs(state: GraState) -> dict[str, str]:
    pair = state["pair"]
    return {
        "domain": state.get("domain") or DEFAULT_DOMAIN,
        "instruction": pair["instruction"],
        "response": pair["response"],
    }


def _review_output(name: str) -> Callable[[Any, GraState], dict[str, Any]]:
    def output(review: dict[str, Any] | None, state: GraState) -> dict[str, Any]:
        entry: dict[str, Any] = {"reviewer": name, "round": state.get("round", 0)}
        # A reviewer whose every sample was red-flagged leaves no review: that is no
        # agreement, so the adjudicator decides.
        entry.update(review if review is not None else {"error": "no valid review"})
        return {"reviews": [entry]}

    return output


def current_reviews(state: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The reviews of the latest round."""
    latest = state.get("round", 0)
    return [review for review in state.get("reviews", []) if review.get("round", 0) == latest]


def accept_share(reviews: list[dict[str, Any]], config: GraConfig) -> float | None:
    """The weighted share of accepting reviews (reviewer ``i`` is the ``i``-th review);
    ``None`` when a review that counts is missing.

    A review's vote is accept when it accepts with a score of at least its reviewer's
    threshold (`GraConfig.threshold`).
    """
    total = accepted = 0.0
    for index, review in enumerate(reviews):
        weight = config.weight(index)
        if weight == 0:
            continue
        if "score" not in review:
            return None
        total += weight
        accepted += weight * _vote(review, config.threshold(index))
    return accepted / total if total else None


def disagreement(reviews: list[dict[str, Any]], config: GraConfig) -> str | None:
    """Why the reviewers disagree (``None`` when they agree).

    They disagree when a review that counts (a weight above 0) is missing, the
    weighted share of accepts lies between ``reject_share`` and ``accept_share``
    (with the defaults: the votes split), or the scores spread by ``spread_threshold``
    or more.
    """
    share = accept_share(reviews, config)
    if share is None:
        return "a reviewer gave no valid review"
    if config.reject_share < share < config.accept_share:
        return "the reviewers split on accepting it"
    scores = [r["score"] for i, r in enumerate(reviews) if config.weight(i) > 0]
    if max(scores) - min(scores) >= config.spread_threshold:
        return f"the scores spread from {min(scores)} to {max(scores)}"
    return None


def _vote(review: Mapping[str, Any], threshold: int) -> bool:
    return bool(review["accept"]) and review["score"] >= threshold


def _tally(config: GraConfig) -> Callable[[GraState], dict[str, Any]]:
    def tally(state: GraState) -> dict[str, Any]:
        reviews = current_reviews(state)
        split = disagreement(reviews, config)
        if split is not None:
            return {"decision": None, "disagreement": split}
        scores = ", ".join(str(review["score"]) for review in reviews if "score" in review)
        share = accept_share(reviews, config)
        accept = share is not None and share >= config.accept_share
        verdict = "accept" if accept else "reject"
        return {
            "disagreement": None,
            "decision": {
                "verdict": verdict,
                "adjudicated": False,
                "rationale": f"the reviewers agreed to {verdict} it (scores {scores})",
                "reason": "" if accept else f"the reviewers rejected it (scores {scores})",
            },
        }

    return tally


def _adjudicator_inputs(state: GraState) -> dict[str, str]:
    lines = []
    for index, review in enumerate(current_reviews(state), start=1):
        if "score" not in review:
            lines.append(f"reviewer {index}: no valid review")
            continue
        problems = "; ".join(review["problems"])
        lines.append(
            f"reviewer {index}: score {review['score']}, "
            f"{'accept' if review['accept'] else 'reject'} ({review['feedback']}"
            f"{' Problems: ' + problems if problems else ''})"
        )
    return {**_reviewer_inputs(state), "reviews": "\n".join(lines)}


def _adjudication(answer: dict[str, Any] | None, state: GraState) -> dict[str, Any]:
    decision: dict[str, Any] = {"verdict": "reject", "adjudicated": True, "rationale": ""}
    if answer is None:
        decision["reason"] = "the adjudicator gave no valid verdict"
    elif answer["verdict"] == "revise" and answer["revision"] is None:
        decision.update(
            rationale=answer["rationale"],
            reason="the adjudicator asked for a revision but wrote none",
        )
    else:
        decision.update(verdict=answer["verdict"], rationale=answer["rationale"], reason="")
        if answer["verdict"] == "revise":
            decision["pair"] = answer["revision"]
        elif answer["verdict"] == "reject":
            decision["reason"] = "the adjudicator rejected it"
    return {"decision": decision}


def _refiner_inputs(state: GraState) -> dict[str, str]:
    notes = []
    for review in current_reviews(state):
        notes += [*review.get("problems", []), review.get("feedback", "")]
    decision = state.get("decision") or {}
    rationale = decision.get("rationale")
    if rationale and (decision.get("adjudicated") or state.get("checks")):
        notes.append(rationale)
    return {**_reviewer_inputs(state), "feedback": " ".join(n for n in notes if n) or "none"}


def _refined(pair: dict[str, Any], state: GraState) -> dict[str, Any]:
    return {"pair": pair, "round": state.get("round", 0) + 1, "decision": None}


def _after(
    config: GraConfig, *, node: str, reviewed: str, redraw: bool = False
) -> Callable[[GraState], str]:
    def choose(state: GraState) -> str:
        decision = state.get("decision")
        if decision is None:
            return {"screen": reviewed, "tally": "adjudicate"}.get(node, END)
        first_round = state.get("round", 0) == 0
        if redraw and first_round and state.get("draws", 0) < config.drafts:
            return "generate"  # a free check failed: draw another draft
        refinable = config.refine and first_round
        return "refine" if refinable and decision["verdict"] == "reject" else END

    choose.__name__ = f"after_{node}"
    return choose

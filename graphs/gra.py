"""gra: synthetic data by peer review among small models (Generator, Reviewers, Adjudicator).

::

    generate -> review_1 -> ... -> review_N -> tally --(reviewers agree)--> END
                                                    \\-(they disagree)--> adjudicate -> END
    (with refinement on, a rejected first draft goes to refine -> review_1 once more)

Per seed record ``{"id"?, "instruction", "response"?, "domain"?}`` the Generator
writes a new instruction/response pair in the seed's domain (few-shot from the
seed and fixed examples). Each Reviewer (by default two, on two different models)
scores it 1-10, accepts or rejects it, and lists problems and feedback. When they
agree their decision stands; when they disagree (the accepts split, or the scores
spread by ``spread_threshold`` or more) the Adjudicator reads the pair and the
reviews and accepts, rejects, or revises it (writing the corrected pair).

The job keeps accepted and revised pairs, except exact and near duplicates of the
seeds, of the Generator's few-shot examples, or of a pair the job already kept;
those go to the rejects file with the reason. The de-duplication runs in the job's
writer thread (:class:`smallagents.GraphPipeline` hooks), so it is the same with
any number of workers and after a resume.

Configuration (:class:`GraConfig`) comes from ``SMALLAGENTS_GRA_*`` environment
variables read when this file is loaded; :func:`build_pipeline` takes one
directly. The published method gives no thresholds: the defaults are our own.
Written only against the public ``smallagents`` API; roles are loaded by path from
``roles/gra.py``.
"""

import operator
import os
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Annotated, Any, TypedDict

import smallagents
from smallagents import END, START, Duplicate, NearDuplicateIndex, UnitResult
from smallagents.dedupe import DEFAULT_THRESHOLD, normalize

_ROLES = smallagents.load_roles(Path(__file__).resolve().parent.parent / "roles" / "gra.py")

DEFAULT_DOMAIN = "general knowledge"
"""The domain of a seed that names none."""


@dataclass(frozen=True)
class GraConfig:
    """The settings of one gra pipeline (defaults: ours; the published method gives none).

    Attributes:
        reviewers: how many reviewers judge each pair.
        reviewer_models: the model specs of the reviewers, in turn (reviewer ``i``
            plays on ``reviewer_models[i % len]``). A reviewer whose model an earlier
            reviewer already plays samples at temperature 0.7 instead of greedily, so
            that its review is a second opinion rather than a copy.
        spread_threshold: reviewers whose scores differ by this much or more disagree
            even when they all accept (or all reject).
        accept_threshold: the lowest score at which a reviewer's accept counts; an
            accept with a lower score counts as a reject (it contradicts itself).
        dedupe_threshold: estimated Jaccard similarity of word bigrams from which a
            pair is a near duplicate (see :mod:`smallagents.dedupe`).
        refine: give a rejected first draft one more round: the Generator rewrites it
            with the reviews' feedback, and the reviewers judge it again.
    """

    reviewers: int = 2
    reviewer_models: tuple[str, ...] = ("default", "gemma-270m")
    spread_threshold: int = 4
    accept_threshold: int = 6
    dedupe_threshold: float = DEFAULT_THRESHOLD
    refine: bool = False

    def __post_init__(self) -> None:
        problems = [
            problem
            for problem, bad in (
                ("reviewers must be at least 1", self.reviewers < 1),
                ("reviewer_models must name at least one model", not self.reviewer_models),
                ("spread_threshold must be 1 to 10", not 1 <= self.spread_threshold <= 10),
                ("accept_threshold must be 1 to 10", not 1 <= self.accept_threshold <= 10),
                ("dedupe_threshold must be in (0, 1]", not 0 < self.dedupe_threshold <= 1),
            )
            if bad
        ]
        if problems:
            raise smallagents.UsageError(
                f"gra configuration: {'; '.join(problems)}.",
                fix="correct the SMALLAGENTS_GRA_* variables or the GraConfig arguments.",
            )


ENVIRONMENT = {
    "reviewers": "SMALLAGENTS_GRA_REVIEWERS",
    "reviewer_models": "SMALLAGENTS_GRA_REVIEWER_MODELS",
    "spread_threshold": "SMALLAGENTS_GRA_SPREAD_THRESHOLD",
    "accept_threshold": "SMALLAGENTS_GRA_ACCEPT_THRESHOLD",
    "dedupe_threshold": "SMALLAGENTS_GRA_DEDUPE_THRESHOLD",
    "refine": "SMALLAGENTS_GRA_REFINE",
}
"""The environment variable of each :class:`GraConfig` field (models: comma-separated)."""


def config_from_env(environ: Mapping[str, str] | None = None) -> GraConfig:
    """A :class:`GraConfig` from ``SMALLAGENTS_GRA_*`` variables; unset ones keep their default.

    Raises:
        UsageError: a variable that does not parse, or a value out of range.
    """
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    parsers: dict[str, Callable[[str], Any]] = {
        "reviewers": int,
        "reviewer_models": lambda text: tuple(m.strip() for m in text.split(",") if m.strip()),
        "spread_threshold": int,
        "accept_threshold": int,
        "dedupe_threshold": float,
        "refine": _flag,
    }
    for field_name, variable in ENVIRONMENT.items():
        text = env.get(variable)
        if text is None or not text.strip():
            continue
        try:
            values[field_name] = parsers[field_name](text.strip())
        except ValueError:
            raise smallagents.UsageError(
                f"{variable}={text!r} does not parse.",
                fix=f"set {variable} to a value like {getattr(GraConfig(), field_name)!r}.",
            ) from None
    return GraConfig(**values)


def _flag(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(text)


# --- state ------------------------------------------------------------------------------


class _SeedRequired(TypedDict):
    instruction: str


class GraInput(_SeedRequired, total=False):
    """One seed record: ``instruction`` is required, ``response`` and ``domain`` optional."""

    response: str
    domain: str


class GraOutput(TypedDict, total=False):
    """What the graph returns.

    ``decision`` is ``{"verdict": "accept" | "reject" | "revise", "adjudicated": bool,
    "rationale": str, "reason": str, "pair"?: the revised pair}``; ``reviews`` holds
    every round's reviews, each with its ``round``; ``disagreement`` says why the
    adjudicator was asked (``None`` when the reviewers agreed).
    """

    pair: dict[str, str]
    reviews: list[dict[str, Any]]
    decision: dict[str, Any]
    disagreement: str | None
    round: int


class GraState(GraInput, total=False):
    """The whole state: the seed, the current pair, the reviews (appended), the decision."""

    pair: dict[str, str]
    reviews: Annotated[list[dict[str, Any]], operator.add]
    decision: dict[str, Any] | None
    disagreement: str | None
    round: int


# --- nodes --------------------------------------------------------------------------------


def _generator_inputs(state: GraState) -> dict[str, str]:
    return {
        "domain": state.get("domain") or DEFAULT_DOMAIN,
        "seed_instruction": state["instruction"],
        "seed_response": state.get("response") or "(none given)",
    }


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


def disagreement(reviews: list[dict[str, Any]], config: GraConfig) -> str | None:
    """Why the reviewers disagree (``None`` when they agree).

    A review's vote is accept when it accepts with a score of at least
    ``accept_threshold``. They disagree when a review is missing, the votes split, or
    the scores spread by ``spread_threshold`` or more.
    """
    if any("score" not in review for review in reviews):
        return "a reviewer gave no valid review"
    votes = {_vote(review, config) for review in reviews}
    if len(votes) > 1:
        return "the reviewers split on accepting it"
    scores = [review["score"] for review in reviews]
    if max(scores) - min(scores) >= config.spread_threshold:
        return f"the scores spread from {min(scores)} to {max(scores)}"
    return None


def _vote(review: Mapping[str, Any], config: GraConfig) -> bool:
    return bool(review["accept"]) and review["score"] >= config.accept_threshold


def _tally(config: GraConfig) -> Callable[[GraState], dict[str, Any]]:
    def tally(state: GraState) -> dict[str, Any]:
        reviews = current_reviews(state)
        split = disagreement(reviews, config)
        if split is not None:
            return {"decision": None, "disagreement": split}
        scores = ", ".join(str(review["score"]) for review in reviews)
        accept = _vote(reviews[0], config)
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
    rationale = (state.get("decision") or {}).get("rationale")
    if (state.get("decision") or {}).get("adjudicated") and rationale:
        notes.append(rationale)
    return {**_reviewer_inputs(state), "feedback": " ".join(n for n in notes if n) or "none"}


def _refined(pair: dict[str, Any], state: GraState) -> dict[str, Any]:
    return {"pair": pair, "round": state.get("round", 0) + 1, "decision": None}


def _after(config: GraConfig, *, tally: bool) -> Callable[[GraState], str]:
    def choose(state: GraState) -> str:
        decision = state.get("decision")
        if decision is None:
            return "adjudicate" if tally else END
        refinable = config.refine and state.get("round", 0) == 0
        return "refine" if refinable and decision["verdict"] == "reject" else END

    choose.__name__ = "after_tally" if tally else "after_adjudicate"
    return choose


def reviewer_roles(config: GraConfig) -> list[smallagents.Role]:
    """The reviewers of ``config``: ``gra_reviewer_1`` ... on their models, in turn."""
    base = _ROLES["gra_reviewer"]
    roles: list[smallagents.Role] = []
    used: set[str] = set()
    for index in range(config.reviewers):
        model = config.reviewer_models[index % len(config.reviewer_models)]
        # Greedy decoding on a model that already reviewed would copy its review.
        temperature = 0.7 if model in used else None
        used.add(model)
        roles.append(base.variant(f"gra_reviewer_{index + 1}", model, temperature=temperature))  # type: ignore[attr-defined]
    return roles


def build_graph(config: GraConfig | None = None) -> smallagents.Graph:
    """The gra graph for ``config`` (default: :class:`GraConfig`'s defaults)."""
    config = config or GraConfig()
    reviewers = reviewer_roles(config)
    nodes = [f"review_{index}" for index in range(1, len(reviewers) + 1)]
    graph = smallagents.Graph(
        "gra",
        state=GraState,
        input=GraInput,
        output=GraOutput,
        description="Generator, Reviewers, Adjudicator: new instruction/response pairs from "
        "seeds, peer-reviewed by small models.",
    )
    graph.role("generate", _ROLES["gra_generator"], inputs=_generator_inputs, output="pair")
    for node, reviewer in zip(nodes, reviewers, strict=True):
        graph.role(
            node,
            reviewer,
            inputs=_reviewer_inputs,
            output=_review_output(reviewer.name),
            on_unresolved="keep",
        )
    graph.step("tally", _tally(config))
    graph.role(
        "adjudicate",
        _ROLES["gra_adjudicator"],
        inputs=_adjudicator_inputs,
        output=_adjudication,
        on_unresolved="keep",
    )
    # The reviewers run one after the other, not in parallel: a job already keeps
    # every core busy with its workers, and two llama.cpp instances sharing one
    # worker's cores oversubscribe them (README, "Threads").
    graph.edge(START, "generate")
    for source, target in zip(["generate", *nodes], nodes, strict=False):
        graph.edge(source, target)
    graph.edge(nodes[-1], "tally")
    after_tally = ["adjudicate", END]
    after_adjudicate = [END]
    if config.refine:
        graph.role("refine", _ROLES["gra_refiner"], inputs=_refiner_inputs, output=_refined)
        graph.edge("refine", nodes[0])
        after_tally.append("refine")
        after_adjudicate.append("refine")
    graph.branch("tally", _after(config, tally=True), to=after_tally)
    graph.branch("adjudicate", _after(config, tally=False), to=after_adjudicate)
    return graph


# --- records and de-duplication -------------------------------------------------------------


def to_records(
    output: Mapping[str, Any], seed: Mapping[str, Any], unit_id: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One output record for an accepted or revised pair, or one reject with its reason."""
    decision = output["decision"]
    pair = decision.get("pair") or output["pair"]
    record: dict[str, Any] = {
        "id": unit_id,
        "instruction": pair["instruction"],
        "response": pair["response"],
        "reviews": [
            {key: value for key, value in review.items() if key != "round"}
            for review in current_reviews(output)
        ],
        "verdict": decision["verdict"],
        "adjudicated": decision["adjudicated"],
        "disagreement": output.get("disagreement"),
        "rationale": decision["rationale"],
        "refined": output.get("round", 0) > 0,
    }
    if decision["verdict"] == "revise":
        record["draft"] = dict(output["pair"])
    if decision["verdict"] == "reject":
        return [], [{**record, "reason": decision["reason"]}]
    return [record], []


def pair_text(record: Mapping[str, Any]) -> str:
    """The text de-duplication compares: instruction and response."""
    return f"{record.get('instruction', '')}\n{record.get('response') or ''}"


class PairDeduplicator:
    """Drops exact and near duplicates of the seeds, the few-shot examples and kept pairs.

    A pair is a duplicate when its normalized instruction equals one already seen
    (the same question twice, whatever the answers), or when its instruction and
    response together are an exact or near duplicate (:class:`smallagents.NearDuplicateIndex`
    at ``threshold``) of a seed, a few-shot example, or a pair kept earlier in the
    job. Instructions alone are compared exactly only: on texts of ten words one
    changed word moves the similarity by 0.3.

    The hooks run in the job's writer thread: :meth:`seeds` and :meth:`start` rebuild
    the index from the job's inputs and its output so far (a resumed job knows what
    it kept before), and :meth:`finish_unit` moves duplicates to the rejects.

    Args:
        threshold: near-duplicate threshold (estimated Jaccard of word bigrams).
        examples: pairs that count as seen before any seed (the Generator's few-shot
            examples, which a small model may copy).
    """

    def __init__(
        self, threshold: float = DEFAULT_THRESHOLD, examples: list[dict[str, str]] | None = None
    ) -> None:
        self.threshold = threshold
        self._examples = list(examples or [])
        self.seeds([])
        self.start([])

    def seeds(self, records: list[dict[str, Any]]) -> None:
        """Index the few-shot examples and the job's input records."""
        self._seen_pairs = NearDuplicateIndex(self.threshold)
        self._seen_instructions: dict[str, str] = {}
        for index, example in enumerate(self._examples, start=1):
            self._remember(
                self._seen_pairs, self._seen_instructions, f"few-shot example {index}", example
            )
        for index, record in enumerate(records, start=1):
            own = record.get("id")
            key = f"seed {own}" if own not in (None, "") else f"seed #{index}"
            self._remember(self._seen_pairs, self._seen_instructions, key, record)

    def start(self, existing: list[dict[str, Any]]) -> None:
        """Index the records the job already kept."""
        self._kept_pairs = NearDuplicateIndex(self.threshold)
        self._kept_instructions: dict[str, str] = {}
        for record in existing:
            self._remember(
                self._kept_pairs, self._kept_instructions, f"record {record.get('id')}", record
            )

    def duplicate(self, record: Mapping[str, Any]) -> str | None:
        """Why ``record`` is a duplicate (``None`` if it is new; it is then kept in the index)."""
        instruction = normalize(str(record.get("instruction", "")))
        text = pair_text(record)
        for instructions, pairs in (
            (self._seen_instructions, self._seen_pairs),
            (self._kept_instructions, self._kept_pairs),
        ):
            if instruction in instructions:
                return f"duplicate instruction of {instructions[instruction]}"
            found: Duplicate | None = pairs.find(text)
            if found is not None:
                return found.describe()
        self._remember(
            self._kept_pairs, self._kept_instructions, f"record {record.get('id')}", record
        )
        return None

    def finish_unit(self, result: UnitResult) -> UnitResult:
        """Move the duplicates among a unit's outputs to its rejects, with the reason."""
        outputs, rejects = [], list(result.rejects)
        for record in result.outputs:
            reason = self.duplicate(record)
            if reason is None:
                outputs.append(record)
            else:
                rejects.append({**record, "reason": reason})
        return replace(result, outputs=outputs, rejects=rejects)  # records, counters kept

    @staticmethod
    def _remember(
        pairs: NearDuplicateIndex,
        instructions: dict[str, str],
        key: str,
        record: Mapping[str, Any],
    ) -> None:
        instructions.setdefault(normalize(str(record.get("instruction", ""))), key)
        pairs.add(key, pair_text(record))


def few_shot_pairs() -> list[dict[str, str]]:
    """The Generator's few-shot pairs (seeds and answers), which outputs must not copy."""
    pairs: list[dict[str, str]] = []
    for example in _ROLES["gra_generator"].spec.examples:
        inputs = example.inputs
        pairs.append(
            {"instruction": inputs["seed_instruction"], "response": inputs["seed_response"]}
        )
        answer = example.output
        pairs.append(dict(answer.model_dump() if hasattr(answer, "model_dump") else answer))
    return pairs


def build_pipeline(config: GraConfig | None = None) -> smallagents.GraphPipeline:
    """The job pipeline of ``config``: the graph, its records and the de-duplication hooks."""
    config = config or GraConfig()
    deduplicator = PairDeduplicator(config.dedupe_threshold, few_shot_pairs())
    return smallagents.GraphPipeline(
        build_graph(config),
        to_records=to_records,
        seeds=deduplicator.seeds,
        start=deduplicator.start,
        finish_unit=deduplicator.finish_unit,
        settings=asdict(config),
    )


CONFIG = config_from_env()
"""The configuration this file was loaded with (from ``SMALLAGENTS_GRA_*``)."""
pipeline = build_pipeline(CONFIG)
"""What ``smallagents run gra`` runs."""
graph = pipeline.graph
"""The graph, for ``smallagents graphs`` and ``smallagents graph show gra``."""

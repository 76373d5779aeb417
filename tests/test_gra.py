"""The gra pipeline: MinHash de-duplication, the review logic, jobs, and real runs.

The decision logic (agreement, splits, the adjudicator's three verdicts,
refinement, de-duplication across units and resumes) runs on
``smallagents.testing.ScriptedModel``, which answers each role by the cue
that ends its prompt. Two tests run the real embedded models (SmolLM2 and Gemma 3
270M) through a job and through the README's quick-start command.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from typer.testing import CliRunner

import smallagents
from smallagents import GraphPipeline, ModelPool, Run, UnitResult
from smallagents.cli import app
from smallagents.content import content_dir
from smallagents.dedupe import MinHash, NearDuplicateIndex, jaccard, normalize, shingles
from smallagents.jobs.launch import find_pipeline
from smallagents.jobs.runner import run_job
from smallagents.jobs.settings import JobOptions
from smallagents.models.base import Prompt
from smallagents.registry import load_module
from smallagents.testing import ScriptedModel, WithModels

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "examples" / "seeds.jsonl"
runner = CliRunner()


@pytest.fixture(scope="module")
def gra() -> ModuleType:
    """The graph package, loaded by path as the runtime loads it."""
    return load_module(content_dir("graphs") / "gra")[0]


# --- MinHash de-duplication -------------------------------------------------------------

EGG = "How long should I boil an egg to get a runny yolk? Boil it for about six minutes."
EGG_REWORDED = "How long should I boil an egg for a runny yolk? Boil it for about six minutes."
FRANCE = "What is the capital of France? The capital of France is Paris."
SPAIN = "What is the capital of Spain? The capital of Spain is Madrid."


def test_normalize_and_shingles() -> None:
    assert normalize("  Hello,   WORLD!! it's") == "hello world it s"
    assert shingles("A b c", size=2) == {"a b", "b c"}
    assert shingles("one", size=2) == {"one"}  # shorter than a shingle: one shingle
    assert shingles("?!", size=2) == frozenset()


def test_exact_duplicate_ignores_case_and_punctuation() -> None:
    index = NearDuplicateIndex()
    index.add("seed s1", EGG)
    found = index.find(EGG.upper().replace("?", " ... "))
    assert found is not None and found.exact and found.similarity == 1.0
    assert found.key == "seed s1"
    assert found.describe() == "exact duplicate of seed s1"


def test_near_duplicate_one_word_changed() -> None:
    index = NearDuplicateIndex()
    index.add("record a", EGG)
    found = index.find(EGG_REWORDED)
    assert found is not None and not found.exact
    assert 0.7 <= found.similarity < 1.0
    assert found.describe().startswith("near duplicate (similarity 0.")
    assert found.describe().endswith("of record a")


def test_distinct_texts_on_one_template_are_not_duplicates() -> None:
    index = NearDuplicateIndex()
    index.add("record a", FRANCE)
    assert index.find(SPAIN) is None
    assert index.check("record b", SPAIN) is None  # new: now indexed
    assert len(index) == 2
    found = index.check("record c", SPAIN)
    assert found is not None and found.key == "record b"
    assert len(index) == 2  # a duplicate is not added


def test_the_most_similar_earlier_text_wins() -> None:
    index = NearDuplicateIndex(threshold=0.5)
    index.add("far", EGG + " Then eat it with toast and butter and a cup of tea.")
    index.add("close", EGG_REWORDED)
    found = index.find(EGG)
    assert found is not None and found.key == "close"


def test_minhash_estimates_the_jaccard_similarity() -> None:
    minhash = MinHash(256)
    for left, right in ((EGG, EGG_REWORDED), (FRANCE, SPAIN), (EGG, FRANCE)):
        estimate = MinHash.similarity(minhash.signature(left), minhash.signature(right))
        assert abs(estimate - jaccard(left, right)) < 0.12, (left, right)


def test_signatures_are_the_same_in_every_process() -> None:
    # Python's own hash() is salted per process; a resumed job must decide the same.
    probe = (
        "from smallagents.dedupe import MinHash; import sys; "
        "print(sum(MinHash().signature(sys.argv[1])) % 1000003)"
    )
    results = {
        subprocess.run(
            [sys.executable, "-c", probe, EGG],
            env={"PYTHONHASHSEED": str(hash_seed), "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for hash_seed in (1, 2)
    }
    assert results == {str(sum(MinHash().signature(EGG)) % 1000003)}
    assert MinHash(seed=2).signature(EGG) != MinHash().signature(EGG)  # another family


def test_bad_index_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="threshold"):
        NearDuplicateIndex(threshold=0)
    with pytest.raises(ValueError, match="bands"):
        NearDuplicateIndex(permutations=100, bands=32)
    with pytest.raises(ValueError, match="different lengths"):
        MinHash.similarity((1, 2), (1,))


# --- scripted models --------------------------------------------------------------------

PAIR = {"instruction": "How do I keep cut flowers fresh?", "response": "Change the water daily."}
REVISED = {"instruction": "How do I keep cut flowers fresh?", "response": "Trim the stems."}
REFINED = {"instruction": "How can I keep tulips fresh?", "response": "Keep them cool."}


def review(score: int, accept: bool, feedback: str = "Fine.") -> dict[str, Any]:
    return {"problems": [] if accept else ["A problem."], "feedback": feedback,
            "score": score, "accept": accept}  # fmt: skip


def adjudication(verdict: str, revision: dict[str, str] | None = None) -> dict[str, Any]:
    return {"rationale": f"I {verdict} it.", "verdict": verdict, "revision": revision}


def request(prompt: Prompt) -> str:
    """The filled template of the request: the last chat turn, or the base prompt's last block."""
    return prompt.rsplit("\n\n", 1)[-1] if isinstance(prompt, str) else prompt[-1]["content"]


Answer = dict[str, Any] | str | Callable[[str], dict[str, Any]]


SCORED = {"review": "score", "reviewers": 2, "reviewer_models": ("default", "gemma-270m")}
"""The 1-10 review on the two fastest embedded models: what the scripted tests drive."""


def scored(gra: ModuleType, **overrides: Any) -> Any:
    """A GraConfig with scored reviews (the scripted models answer the 1-10 review)."""
    return gra.GraConfig(**{**SCORED, **overrides})


def scripted_models(
    *,
    generated: Answer = PAIR,
    reviews: tuple[Answer, Answer] = (review(8, True), review(9, True)),
    decision: dict[str, Any] | None = None,
    refined: dict[str, str] | None = None,
    reviews_after_refine: tuple[Answer, Answer] | None = None,
) -> dict[str, ScriptedModel]:
    """A SmolLM2 stand-in ("default", chat) and a Gemma stand-in ("gemma-270m", base).

    Each answers by the cue that ends the request; reviewer ``i`` of the default
    configuration plays on model ``i``.
    """

    def answer_on(model: int) -> Callable[[Prompt, int], str]:
        def answer(prompt: Prompt, seed: int) -> str:
            text = request(prompt)
            if text.endswith("New example:"):
                value: Answer = generated
            elif text.endswith("Improved example:"):
                value = refined or {}
            elif text.endswith("Review:"):
                again = refined is not None and refined["response"] in text
                value = (reviews_after_refine if again and reviews_after_refine else reviews)[model]
            elif text.endswith("Decision:"):
                value = decision or {}
            else:
                raise AssertionError(f"unexpected request: {text!r}")
            if callable(value):
                value = value(text)
            return value if isinstance(value, str) else json.dumps(value)

        return answer

    smol = ScriptedModel([answer_on(0)], name="smol", repeat_last=True)
    return {
        "default": smol,
        "gemma-270m": ScriptedModel([answer_on(1)], name="gemma", repeat_last=True, chat=False),
        "qwen-1.5b": smol,  # the Generator's default model: its drafts are scripted too
    }


def run_one(
    pipeline: GraphPipeline, models: dict[str, ScriptedModel], seed: dict[str, Any] | None = None
) -> UnitResult:
    pool = ModelPool()
    for name, model in models.items():
        pool.register(name, model)
    data = seed or {"id": "s1", "domain": "gardening", "instruction": "How do I water roses?"}
    return pipeline.run_unit(data, run=Run(pool=pool), seed=7, unit_id=str(data.get("id", "u")))


def only(records: list[dict[str, Any]]) -> dict[str, Any]:
    assert len(records) == 1, records
    return records[0]


RECORD_KEYS = {
    "id", "instruction", "response", "reviews", "verdict", "adjudicated", "escalated",
    "seed_id", "models", "disagreement", "rationale", "refined", "checks", "drafts",
}  # fmt: skip


# --- the graph ------------------------------------------------------------------------------


def test_mermaid_and_schemas(gra: ModuleType) -> None:
    app_ = gra.pipeline.graph.compile()
    chart = app_.mermaid()
    for line in (
        "__start__ --> generate;",
        "generate --> screen;",
        "screen -.-> review_1;",  # only when the free checks pass
        "screen -.-> __end__;",
        "review_1 --> tally;",  # one reviewer by default: it answers, then compares
        "tally -.-> adjudicate;",  # only on a disagreement
        "tally -.-> __end__;",
        "adjudicate -.-> __end__;",
    ):
        assert line in chart, chart
    assert "refine" not in chart  # refinement is off by default
    schema = app_.input_schema()
    assert schema["required"] == ["instruction"]
    # The id finds what earlier jobs drew from the same seed (the avoid setting).
    assert set(schema["properties"]) == {"instruction", "response", "domain", "id"}
    assert set(app_.output_schema()["properties"]) == {
        "pair", "reviews", "decision", "disagreement", "round", "checks", "draws"
    }  # fmt: skip


def test_default_reviewer_answers_then_compares_on_qwen(gra: ModuleType) -> None:
    default = gra.GraConfig()
    assert default.review == "solve"
    (reviewer,) = gra.solving_reviewers(default)
    names = (reviewer.name, reviewer.solver.name, reviewer.checker.name)
    assert names == ("gra_reviewer_1", "gra_solver_1", "gra_checker_1")
    assert reviewer.solver.spec.model == reviewer.checker.spec.model == "qwen-1.5b"
    # Its checks, on the same model, with the thresholds of the configuration.
    assert (reviewer.claims.name, reviewer.sampler.name) == ("gra_claims_1", "gra_sampler_1")
    assert reviewer.claims_threshold == default.claims_threshold
    assert reviewer.figure_samples == default.figure_samples
    assert gra.build_graph(default).nodes[:3] == ["generate", "screen", "review_1"]


def test_scored_reviewers_put_the_two_embedded_models_in_different_roles(
    gra: ModuleType,
) -> None:
    reviewers = gra.reviewer_roles(scored(gra))
    assert [(r.name, r.spec.model) for r in reviewers] == [
        ("gra_reviewer_1", "default"),
        ("gra_reviewer_2", "gemma-270m"),
    ]
    three = gra.reviewer_roles(scored(gra, reviewers=3))
    # A second reviewer on one model samples: greedy decoding would copy the first.
    assert [r.spec.temperature for r in three] == [0.0, 0.0, 0.7]
    assert three[2].spec.model == "default"


def test_reviewers_agree_to_accept(gra: ModuleType) -> None:
    models = scripted_models(reviews=(review(8, True), review(9, True)))
    result = run_one(gra.build_pipeline(scored(gra)), models)
    record = only(result.outputs)
    assert result.rejects == []
    assert set(record) == RECORD_KEYS
    assert (record["instruction"], record["response"]) == (PAIR["instruction"], PAIR["response"])
    assert record["verdict"] == "accept" and record["adjudicated"] is False
    assert record["disagreement"] is None and record["seed_id"] == "s1"
    assert record["models"] == {
        "gra_generator": "smol",
        "gra_reviewer_1": "smol",
        "gra_reviewer_2": "gemma",
    }
    assert [(r["reviewer"], r["score"]) for r in record["reviews"]] == [
        ("gra_reviewer_1", 8),
        ("gra_reviewer_2", 9),
    ]
    assert [r.role for r in result.records] == ["gra_generator", "gra_reviewer_1", "gra_reviewer_2"]


def test_reviewers_agree_to_reject(gra: ModuleType) -> None:
    result = run_one(
        gra.build_pipeline(scored(gra)),
        scripted_models(reviews=(review(2, False), review(3, False))),
    )
    reject = only(result.rejects)
    assert result.outputs == []
    assert reject["verdict"] == "reject" and reject["adjudicated"] is False
    assert reject["reason"] == "the reviewers rejected it (scores 2, 3)"
    assert "gra_adjudicator" not in reject["models"]


@pytest.mark.parametrize("verdict", ["accept", "reject", "revise"])
def test_a_split_goes_to_the_adjudicator(gra: ModuleType, verdict: str) -> None:
    decision = adjudication(verdict, REVISED if verdict == "revise" else None)
    models = scripted_models(reviews=(review(8, True), review(7, False)), decision=decision)
    result = run_one(gra.build_pipeline(scored(gra)), models)
    record = only(result.outputs + result.rejects)
    assert record["adjudicated"] is True and record["verdict"] == verdict
    assert record["disagreement"] == "the reviewers split on accepting it"
    assert record["rationale"] == f"I {verdict} it."
    assert record["models"]["gra_adjudicator"] == "smol"
    # The adjudicator read the pair and both reviews.
    asked = request(models["default"].calls[-1].prompt)
    assert PAIR["response"] in asked
    assert "reviewer 1: score 8, accept" in asked and "reviewer 2: score 7, reject" in asked
    if verdict == "reject":
        assert result.outputs == [] and record["reason"] == "the adjudicator rejected it"
    else:
        assert result.rejects == []
    if verdict == "revise":
        assert record["response"] == REVISED["response"]
        assert record["draft"] == PAIR
    else:
        assert record["response"] == PAIR["response"] and "draft" not in record


def test_a_revise_without_a_revision_is_a_reject(gra: ModuleType) -> None:
    models = scripted_models(
        reviews=(review(8, True), review(2, False)), decision=adjudication("revise", None)
    )
    reject = only(run_one(gra.build_pipeline(scored(gra)), models).rejects)
    assert reject["verdict"] == "reject" and reject["adjudicated"] is True
    assert reject["reason"] == "the adjudicator asked for a revision but wrote none"


@pytest.mark.parametrize(
    ("scores", "adjudicated"),
    [((6, 10), True), ((7, 10), False), ((10, 6), True)],
)
def test_a_score_spread_of_the_threshold_or_more_is_a_disagreement(
    gra: ModuleType, scores: tuple[int, int], adjudicated: bool
) -> None:
    models = scripted_models(
        reviews=(review(scores[0], True), review(scores[1], True)),
        decision=adjudication("accept"),
    )
    record = only(run_one(gra.build_pipeline(scored(gra)), models).outputs)
    assert record["adjudicated"] is adjudicated
    if adjudicated:
        low, high = sorted(scores)
        assert record["disagreement"] == f"the scores spread from {low} to {high}"
    # The threshold is configuration: at 5, a spread of 4 is agreement.
    wider = gra.build_pipeline(scored(gra, spread_threshold=5))
    assert only(run_one(wider, models).outputs)["adjudicated"] is False


def test_an_accept_below_the_accept_threshold_counts_as_a_reject(gra: ModuleType) -> None:
    models = scripted_models(
        reviews=(review(3, True), review(6, True)), decision=adjudication("reject")
    )
    reject = only(run_one(gra.build_pipeline(scored(gra)), models).rejects)
    assert reject["adjudicated"] is True
    assert reject["disagreement"] == "the reviewers split on accepting it"
    # Both below the threshold: they agree to reject, whatever their accept flags.
    models = scripted_models(reviews=(review(4, True), review(5, True)))
    reject = only(run_one(gra.build_pipeline(scored(gra)), models).rejects)
    assert reject["adjudicated"] is False and reject["reason"].startswith("the reviewers rejected")


def test_a_reviewer_without_a_valid_review_leaves_it_to_the_adjudicator(gra: ModuleType) -> None:
    models = scripted_models(reviews=(review(9, True), "not json"), decision=adjudication("accept"))
    result = run_one(gra.build_pipeline(scored(gra)), models)
    record = only(result.outputs)
    assert record["adjudicated"] is True
    assert record["disagreement"] == "a reviewer gave no valid review"
    assert record["reviews"][1] == {"reviewer": "gra_reviewer_2", "error": "no valid review"}
    unresolved = [r for r in result.records if r.status == "unresolved"]
    assert [r.role for r in unresolved] == ["gra_reviewer_2"]
    assert "reviewer 2: no valid review" in request(models["default"].calls[-1].prompt)


def test_the_generator_sees_the_seed_and_the_domain(gra: ModuleType) -> None:
    models = scripted_models()
    seed = {"id": "s9", "instruction": "Name a fern.", "response": "Maidenhair."}
    run_one(gra.build_pipeline(scored(gra)), models, seed)
    asked = request(models["default"].calls[0].prompt)
    assert "Instruction: Name a fern." in asked and "Response: Maidenhair." in asked
    assert asked.startswith(f"Domain: {gra.DEFAULT_DOMAIN}")  # a seed without a domain
    assert asked.endswith("New example:")
    # The fixed few-shot examples come before it, as chat turns.
    assert sum(m["role"] == "assistant" for m in models["default"].calls[0].prompt) == 3
    # The base model gets its few-shot examples as plain text, each followed by JSON.
    base_prompt = models["gemma-270m"].calls[0].prompt
    assert isinstance(base_prompt, str) and base_prompt.count("\nReview: {") == 4


def test_refinement_gives_a_rejected_draft_one_more_round(gra: ModuleType) -> None:
    models = scripted_models(
        reviews=(review(2, False, "Too vague."), review(3, False, "Say how.")),
        refined=REFINED,
        reviews_after_refine=(review(8, True), review(9, True)),
    )
    result = run_one(gra.build_pipeline(scored(gra, refine=True)), models)
    record = only(result.outputs)
    assert record["refined"] is True and record["verdict"] == "accept"
    assert (record["instruction"], record["response"]) == (
        REFINED["instruction"],
        REFINED["response"],
    )
    assert [r["score"] for r in record["reviews"]] == [8, 9]  # the last round's reviews
    refine_prompt = next(
        request(call.prompt)
        for call in models["default"].calls
        if request(call.prompt).endswith("Improved example:")
    )
    assert "Too vague." in refine_prompt and "Say how." in refine_prompt
    roles = [r.role for r in result.records]
    assert roles.count("gra_refiner") == 1 and roles.count("gra_reviewer_1") == 2


def test_refinement_happens_once_at_most(gra: ModuleType) -> None:
    models = scripted_models(reviews=(review(2, False), review(3, False)), refined=REFINED)
    result = run_one(gra.build_pipeline(scored(gra, refine=True)), models)
    reject = only(result.rejects)
    assert reject["refined"] is True and reject["verdict"] == "reject"
    assert [r.role for r in result.records].count("gra_refiner") == 1


# --- configuration --------------------------------------------------------------------------


def test_configuration_from_the_environment(gra: ModuleType) -> None:
    assert gra.config_from_env({}) == gra.GraConfig()
    config = gra.config_from_env(
        {
            "SMALLAGENTS_GRA_REVIEWERS": "3",
            "SMALLAGENTS_GRA_REVIEWER_MODELS": "gemma-270m, default",
            "SMALLAGENTS_GRA_SPREAD_THRESHOLD": "5",
            "SMALLAGENTS_GRA_ACCEPT_THRESHOLD": "7",
            "SMALLAGENTS_GRA_DEDUPE_THRESHOLD": "0.9",
            "SMALLAGENTS_GRA_REFINE": "on",
        }
    )
    assert config == gra.GraConfig(
        reviewers=3,
        reviewer_models=("gemma-270m", "default"),
        spread_threshold=5,
        accept_threshold=7,
        dedupe_threshold=0.9,
        refine=True,
    )
    assert gra.build_graph(config).nodes == [
        "generate", "screen", "review_1", "review_2", "review_3", "tally", "adjudicate", "refine"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("SMALLAGENTS_GRA_REVIEWERS", "two", "does not parse"),
        ("SMALLAGENTS_GRA_REFINE", "maybe", "does not parse"),
        ("SMALLAGENTS_GRA_REVIEWERS", "0", "reviewers must be at least 1"),
        ("SMALLAGENTS_GRA_DEDUPE_THRESHOLD", "1.5", "dedupe_threshold must be in"),
    ],
)
def test_bad_configuration_is_a_usage_error(
    gra: ModuleType, variable: str, value: str, message: str
) -> None:
    with pytest.raises(smallagents.errors.UsageError, match=message) as caught:
        gra.config_from_env({variable: value})
    assert caught.value.exit_code == 2 and "Fix:" in str(caught.value)


# --- de-duplication in jobs -----------------------------------------------------------------


class Killed(Exception):
    """Stands in for a killed process: it stops the job between two units."""


class Scripted(WithModels):
    """Scripted models served in every worker (``WithModels``); ``kill_at`` stops
    the job when that unit starts."""

    def __init__(
        self, inner: GraphPipeline, models: dict[str, ScriptedModel], kill_at: str | None = None
    ) -> None:
        super().__init__(inner, models)
        self.kill_at = kill_at

    def run_unit(self, data: dict[str, Any], *, run: Run, seed: int, unit_id: str) -> UnitResult:
        if unit_id == self.kill_at:
            raise Killed(unit_id)
        return super().run_unit(data, run=run, seed=seed, unit_id=unit_id)


def write_seeds(path: Path, seeds: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(seed) + "\n" for seed in seeds))
    return path


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def copy_of_the_seed(text: str) -> dict[str, str]:
    instruction = text.split("Instruction: ", 1)[1].split("\n", 1)[0]
    return {"instruction": instruction, "response": "The very same answer, copied."}


def test_a_copy_of_a_seed_is_rejected_as_a_duplicate(gra: ModuleType, tmp_path: Path) -> None:
    seeds = [
        {"id": "s1", "instruction": "How do I water roses?", "response": "At the roots."},
        {"id": "s2", "instruction": "How do I prune an apple tree?", "response": "In winter."},
    ]

    def generate(text: str) -> dict[str, str]:
        if "water roses" in text:  # s1's pair comes out as a near copy of s2, the other seed
            return {"instruction": "How do I prune an apple tree?", "response": "In the winter."}
        return {"instruction": "What soil do tulips like?", "response": "Sandy, drained soil."}

    pipeline = Scripted(gra.build_pipeline(scored(gra)), scripted_models(generated=generate))
    options = JobOptions(
        input=str(write_seeds(tmp_path / "in.jsonl", seeds)), output=tmp_path / "out.jsonl"
    )
    report = run_job(pipeline, options)
    assert [r["id"] for r in lines(tmp_path / "out.jsonl")] == ["s2"]
    reject = only(lines(tmp_path / "out.rejects.jsonl"))
    assert reject["id"] == "s1" and reject["verdict"] == "accept"  # accepted, then dropped
    assert reject["reason"] == "duplicate instruction of seed s2"
    assert report["rates"]["duplicates_removed"] == 1
    assert report["records"] == {"accepted": 1, "rejected": 1}


def test_a_copy_of_a_few_shot_example_is_a_duplicate(gra: ModuleType) -> None:
    pipeline = gra.build_pipeline(scored(gra))
    pipeline.seeds([])
    pipeline.start([])
    copied = {
        "id": "u1",
        "instruction": "Which river is the longest in Africa",
        "response": "The Nile is the longest river in Africa, about 6,650 km long!",
    }
    result = pipeline.finish_unit(UnitResult(outputs=[copied]))
    assert result.outputs == []
    assert only(result.rejects)["reason"].startswith("duplicate instruction of few-shot example")


def near_copy(text: str) -> dict[str, str]:
    # Every seed gives nearly the same pair, one word apart: from the second on,
    # each is a near duplicate of the first.
    seed_instruction = text.split("Instruction: ", 1)[1].split("\n", 1)[0]
    tree = ("lemon", "lime", "orange", "olive")[SEED_TEXTS.index(seed_instruction)]
    return {
        "instruction": f"How often should I water a young {tree} tree in a hot summer?",
        "response": "Water it deeply twice a week in summer, and let the top few centimetres "
        "of the soil dry out between waterings.",
    }


SEED_TEXTS = [
    "How do I water roses?",
    "How do I prune an apple tree?",
    "What is compost?",
    "When do I plant garlic?",
]


def test_duplicates_across_units_and_after_a_resume(gra: ModuleType, tmp_path: Path) -> None:
    seeds = [{"id": f"s{i}", "instruction": text} for i, text in enumerate(SEED_TEXTS, 1)]
    options = JobOptions(
        input=str(write_seeds(tmp_path / "in.jsonl", seeds)), output=tmp_path / "out.jsonl"
    )
    models = scripted_models(generated=near_copy)
    # The first process is "killed" when unit s3 starts: s1 kept, s2 a near duplicate of it.
    with pytest.raises(Killed):
        run_job(Scripted(gra.build_pipeline(scored(gra)), models, kill_at="s3"), options)
    assert [r["id"] for r in lines(tmp_path / "out.jsonl")] == ["s1"]
    first = only(lines(tmp_path / "out.rejects.jsonl"))
    assert first["id"] == "s2" and first["reason"].endswith("of record s1")
    assert first["reason"].startswith("near duplicate (similarity 0.")
    # A new process (a new pipeline, an empty index) resumes: s3 and s4 duplicate s1,
    # which it only knows from the output file.
    report = run_job(Scripted(gra.build_pipeline(scored(gra)), models), options)
    assert [r["id"] for r in lines(tmp_path / "out.jsonl")] == ["s1"]
    rejects = lines(tmp_path / "out.rejects.jsonl")
    assert [r["id"] for r in rejects] == ["s2", "s3", "s4"]
    assert all(r["reason"].endswith("of record s1") for r in rejects)
    assert report["units"] == {"total": 4, "done": 4}
    assert report["rates"]["duplicates_removed"] == 3


NEW_QUESTIONS = dict(
    zip(
        SEED_TEXTS,
        [
            "Which roses need the most sun?",
            "What tools do I need to prune apple trees?",
            "How long does compost take to be ready?",
            "Should garlic cloves be peeled first?",
        ],
        strict=True,
    )
)


def test_the_report_counts_adjudications(gra: ModuleType, tmp_path: Path) -> None:
    seeds = [{"id": f"s{i}", "instruction": text} for i, text in enumerate(SEED_TEXTS, 1)]

    def generate(text: str) -> dict[str, str]:
        seed_instruction = text.split("Instruction: ", 1)[1].split("\n", 1)[0]
        return {"instruction": NEW_QUESTIONS[seed_instruction], "response": "A distinct answer."}

    def gemma_review(text: str) -> dict[str, Any]:
        # Gemma disagrees on the seeds about plants' care (s1, s2, s4), not on compost.
        return review(9, True) if "compost" in text else review(2, False)

    models = scripted_models(
        generated=generate,
        reviews=(review(9, True), gemma_review),
        decision=adjudication("reject"),
    )
    options = JobOptions(
        input=str(write_seeds(tmp_path / "in.jsonl", seeds)), output=tmp_path / "out.jsonl"
    )
    report = run_job(Scripted(gra.build_pipeline(scored(gra)), models), options)
    assert report["records"] == {"accepted": 1, "rejected": 3}
    assert report["rates"]["adjudication"] == 0.75
    assert report["rates"]["duplicates_removed"] == 0


def test_smallagents_run_gra_finds_the_pipeline_with_its_hooks(gra: ModuleType) -> None:
    found = find_pipeline("gra", [], [])
    assert isinstance(found, gra.GraPipeline) and isinstance(found, GraphPipeline)
    assert found.config == gra.GraConfig() and not found.curate
    found.seeds([{"id": "x", "instruction": "What is compost?", "response": "Rotted matter."}])
    found.start([])
    copy = {"id": "u", "instruction": "what is COMPOST", "response": "Something else."}
    assert only(found.finish_unit(UnitResult(outputs=[copy])).rejects)["reason"] == (
        "duplicate instruction of seed x"
    )


# --- the real embedded models ---------------------------------------------------------------


def test_bundled_seeds_are_valid_and_varied() -> None:
    seeds = lines(SEEDS)
    assert len(seeds) == 12 and len({s["id"] for s in seeds}) == 12
    assert all(s["instruction"] for s in seeds)
    assert len({s.get("domain") for s in seeds}) >= 5
    assert any("response" not in s for s in seeds) and any("domain" not in s for s in seeds)


def check_job_files(output: Path, seeds: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Both files: valid JSON lines of the documented shape, one record per seed."""
    rejects_path = output.with_name(output.stem + ".rejects.jsonl")
    for path in (output, rejects_path):
        text = path.read_text() if path.exists() else ""
        assert text == "" or text.endswith("\n")
    kept, rejected = lines(output), lines(rejects_path)
    records = kept + rejected
    assert sorted(r["id"] for r in records) == sorted(s["id"] for s in seeds)
    assert all(r["seed_id"] == r["id"] for r in records)
    for record in kept:
        assert set(record) >= RECORD_KEYS, record
        assert record["verdict"] in ("accept", "revise")
    for record in rejected:
        assert record["reason"], record
        if "verdict" in record:  # else the unit failed before a decision; the reason says why
            assert set(record) >= RECORD_KEYS
            assert record["verdict"] == "reject" or "duplicate" in record["reason"]
    for record in records:
        if record.get("checks"):  # failed a free check: rejected before any review
            assert record["reviews"] == [] and record["reason"].startswith("free check: ")
        elif "reviews" in record:
            assert len(record["reviews"]) in (1, 2)  # the default's one, or two scored
            assert all(1 <= r["score"] <= 10 for r in record["reviews"] if "score" in r)
            assert record["adjudicated"] is (record["disagreement"] is not None)
    return records


def test_a_real_job_on_the_default_roster(
    gra: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One decode thread: tests run beside other CPU-heavy work (README, "Threads").
    monkeypatch.setenv("SMALLAGENTS_THREADS", "1")
    seeds = [s for s in lines(SEEDS) if s["id"] in ("s04", "s11")]  # one without a response
    options = JobOptions(
        input=str(write_seeds(tmp_path / "seeds.jsonl", seeds)), output=tmp_path / "data.jsonl"
    )
    report = run_job(gra.build_pipeline(), options)
    records = check_job_files(tmp_path / "data.jsonl", seeds)
    decided = [r for r in records if "models" in r]
    assert decided, records
    for record in decided:
        assert record["models"]["gra_generator"] == "qwen-1.5b"
        assert record["escalated"] is False
        if record["checks"]:  # rejected by a free check: nobody reviewed it
            assert set(record["models"]) == {"gra_generator"}
            continue
        # The default reviewer answers the instruction itself, then compares.
        assert record["models"]["gra_solver_1"] == "qwen-1.5b"
        (only_review,) = record["reviews"]
        assert 0 <= only_review["p_accept"] <= 1
        # A response that agrees is fact-checked whole (claims_threshold 0.85 by default).
        fact_checked = "p_claims" in only_review
        assert fact_checked is ("gra_claims_1" in record["models"])
        # An accepted response with figures is sampled; one none of the samples states
        # rejects it (and sets p_accept to 0).
        figures = only_review.get("figures")
        assert (figures is not None) is ("gra_sampler_1" in record["models"])
        if figures is not None:
            assert 1 <= figures["samples"] <= gra.GraConfig().figure_samples
            assert gra.figures(record["response"])  # only a response that states figures
        made_up = bool(figures and figures["unreproduced"])
        agrees = only_review["p_accept"] >= 0.5 or made_up
        passes = not fact_checked or only_review["p_claims"] >= gra.GraConfig().claims_threshold
        assert only_review["accept"] is (agrees and passes and not made_up)
        # A short answer of its own is compared as text; a longer one by the checker.
        assert (only_review["compared"] == "model") is ("gra_checker_1" in record["models"])
    assert report["units"] == {"total": 2, "done": 2}
    assert report["records"]["accepted"] + report["records"]["rejected"] == 2
    assert report["rates"]["schema_validity"] > 0.5
    assert "gra_generator" in report["roles"]


def test_the_readme_quick_start_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    readme = (ROOT / "README.md").read_text()
    command = (
        "python3 -m venv .venv && .venv/bin/pip install -e . && "
        ".venv/bin/smallagents run gra --input examples/seeds.jsonl --output data.jsonl"
    )
    assert command in readme
    arguments = command.split(".venv/bin/smallagents ", 1)[1].split()
    arguments[arguments.index("--output") + 1] = str(tmp_path / "data.jsonl")
    monkeypatch.chdir(ROOT)  # the README's paths are relative to the checkout
    monkeypatch.setenv("SMALLAGENTS_THREADS", "1")
    report_path = tmp_path / "report.json"
    result = runner.invoke(
        app, [*arguments, "--limit", "2", "--quiet", "--report", str(report_path)]
    )
    assert result.exit_code == 0, result.output
    check_job_files(tmp_path / "data.jsonl", lines(SEEDS)[:2])
    report = json.loads(report_path.read_text())
    assert report["pipeline"] == "gra" and report["units"] == {"total": 2, "done": 2}
    assert report["rates"]["adjudication"] is not None


# --- free checks ------------------------------------------------------------------------------

JUDGE_PAIRS = ROOT / "examples" / "judge_pairs.jsonl"
STRUCTURAL = ("statement", "truncated", "repetitive", "restates_question")


def test_free_checks_on_the_labeled_pairs(gra: ModuleType) -> None:
    caught: dict[str, list[bool]] = {}
    for pair in lines(JUDGE_PAIRS):
        failed = gra.free_checks(pair["instruction"], pair["response"])
        caught.setdefault(pair["kind"], []).append(bool(failed))
        if pair["kind"] == "good":
            assert failed == [], pair  # a check that costs a good pair is worse than none
    for kind in ("statement", "repetitive", "restates_question"):
        assert all(caught[kind]), kind
    assert sum(caught["truncated"]) >= 8  # a cut in the middle of a word is not seen
    # Wrong facts and off-topic answers need a model: the free checks pass them.
    assert not any(caught["wrong_answer"]) and not any(caught["off_topic"])


@pytest.mark.parametrize(
    ("instruction", "response", "check"),
    [
        ("Paris is the capital of France.", "Yes.", "not_a_request"),
        ("How do I boil rice?", "Boil it in water. Boil it in water.", "repetitive"),
        ("How do I boil rice?", "Boil it boil it boil it boil it.", "repetitive"),
        ("How do I boil rice?", "Put the rice in a pot with", "truncated"),
        ("How do I boil rice?", "Use this: (one cup of rice", "truncated"),
        ("How do I boil rice?", "How do I boil rice?", "restates_question"),
        ("How do I boil rice?", "You ask how do I boil rice. Good question.", "restates_question"),
        ("What soil do roses like?", "Rich, well-drained soil.", "copies_seed"),
    ],
)  # fmt: skip
def test_each_free_check(gra: ModuleType, instruction: str, response: str, check: str) -> None:
    seed = {"instruction": "What soil do roses like?", "response": "Loam."}
    failed = gra.free_checks(instruction, response, seed=seed)
    assert [name for name, _ in failed] == [check]


@pytest.mark.parametrize(
    ("instruction", "response"),
    [
        ("Give me a tip for learning a new language.", "Practise ten minutes a day."),
        ("I want to learn to bake bread", "Start with a simple white loaf."),
        ("Explain photosynthesis to a child", "Plants make food from light, water and air"),
        ("Sort [3, 1, 2] in Python", "sorted([3, 1, 2]) returns [1, 2, 3]"),
        ("Is Paris in France?", "Yes, Paris is in France."),
    ],
)
def test_free_checks_pass_ordinary_pairs(gra: ModuleType, instruction: str, response: str) -> None:
    assert gra.free_checks(instruction, response) == []


def test_a_response_at_the_length_limit_without_an_end_is_cut_off(gra: ModuleType) -> None:
    long = "word " * 70
    assert gra.truncation(long.strip(), limit=320) is not None
    assert gra.truncation(long.strip() + ".", limit=320) is None
    assert gra.response_limit() == 320  # the Generator's schema


def test_a_draft_that_fails_a_free_check_costs_no_review(gra: ModuleType) -> None:
    statement = {"instruction": "Roses like the sun.", "response": "They do, six hours a day."}
    models = scripted_models(generated=statement)
    result = run_one(gra.build_pipeline(scored(gra)), models)
    reject = only(result.rejects)
    assert reject["checks"] == ["not_a_request"] and reject["reviews"] == []
    assert reject["reason"] == "free check: the instruction is a statement, not a request"
    assert [r.role for r in result.records] == ["gra_generator"]  # no reviewer ran
    # The check can be turned off: then the reviewers judge it.
    others = tuple(check for check in gra.CHECKS if check != "not_a_request")
    result = run_one(gra.build_pipeline(scored(gra, checks=others)), models)
    assert only(result.outputs)["checks"] == []


def test_refinement_fixes_a_draft_that_failed_a_check(gra: ModuleType) -> None:
    models = scripted_models(
        generated={"instruction": "How do I water roses?", "response": "Water the roots with"},
        refined=REFINED,
    )
    result = run_one(gra.build_pipeline(scored(gra, refine=True)), models)
    record = only(result.outputs)
    assert record["refined"] is True and record["response"] == REFINED["response"]
    refine_prompt = next(
        request(call.prompt)
        for call in models["default"].calls
        if request(call.prompt).endswith("Improved example:")
    )
    assert "the response looks cut off (it ends on 'with')" in refine_prompt


def test_a_draft_that_fails_a_free_check_is_drawn_again(gra: ModuleType) -> None:
    drafts = iter([{"instruction": "Roses like the sun.", "response": "Yes, they do."}, PAIR])

    def generate(text: str) -> dict[str, str]:
        return next(drafts)

    models = scripted_models(generated=generate)
    result = run_one(gra.build_pipeline(scored(gra, drafts=2)), models)
    record = only(result.outputs)
    assert record["drafts"] == 2 and record["instruction"] == PAIR["instruction"]
    assert record["checks"] == []  # the kept pair's: the first draft's failure is gone
    generated = [c for c in models["default"].calls if request(c.prompt).endswith("New example:")]
    assert len(generated) == 2 and generated[0].seed != generated[1].seed  # another seed
    assert [r.role for r in result.records].count("gra_generator") == 2
    # At most `drafts` in all: two failing drafts are a reject after the second.
    statement = {"instruction": "Roses like the sun.", "response": "Yes, they do."}
    models = scripted_models(generated=statement)
    reject = only(run_one(gra.build_pipeline(scored(gra, drafts=2)), models).rejects)
    assert reject["drafts"] == 2 and reject["checks"] == ["not_a_request"]
    chart = gra.build_graph(scored(gra, drafts=2)).compile().mermaid()
    assert "screen -.-> generate;" in chart
    assert "screen -.-> generate;" not in gra.build_graph().compile().mermaid()  # default 1


# --- combining reviewers ----------------------------------------------------------------------


def test_weights_and_shares_decide_without_the_adjudicator(gra: ModuleType) -> None:
    split = (review(8, True), review(2, False))
    models = scripted_models(reviews=split, decision=adjudication("reject"))
    assert only(run_one(gra.build_pipeline(scored(gra)), models).rejects)["adjudicated"] is True
    # Reviewer 2 measured unreliable: weight 0 keeps its review out of the decision.
    config = scored(gra, reviewer_weights=(1.0, 0.0))
    record = only(run_one(gra.build_pipeline(config), models).outputs)
    assert record["adjudicated"] is False and record["verdict"] == "accept"
    assert [r["score"] for r in record["reviews"]] == [8, 2]  # both reviews are kept
    # Weights 3:1 and an accept share of 0.75: reviewer 1 alone carries it.
    config = scored(gra, reviewer_weights=(3.0, 1.0), accept_share=0.75, spread_threshold=10)
    assert only(run_one(gra.build_pipeline(config), models).outputs)["adjudicated"] is False
    # The other way round, with a reject share of 0.25, reviewer 2 alone rejects it.
    config = scored(gra, reviewer_weights=(1.0, 3.0), reject_share=0.25, spread_threshold=10)
    reject = only(run_one(gra.build_pipeline(config), models).rejects)
    assert reject["adjudicated"] is False and reject["reason"].startswith("the reviewers rejected")


def test_per_reviewer_thresholds(gra: ModuleType) -> None:
    models = scripted_models(reviews=(review(7, True), review(7, True)))
    assert only(run_one(gra.build_pipeline(scored(gra)), models).outputs)["adjudicated"] is False
    config = scored(gra, reviewer_thresholds=(6, 8))  # reviewer 2's 7 is not enough
    models = scripted_models(
        reviews=(review(7, True), review(7, True)), decision=adjudication("accept")
    )
    record = only(run_one(gra.build_pipeline(config), models).outputs)
    assert record["disagreement"] == "the reviewers split on accepting it"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"reviewer_weights": (0.0, 0.0)}, "one of them above 0"),
        ({"accept_share": 0.5, "reject_share": 0.5}, "reject_share < accept_share"),
        ({"reviewer_thresholds": (11,)}, "reviewer_thresholds must be 1 to 10"),
        ({"checks": ("spelling",)}, "checks must be among"),
    ],
)
def test_bad_combination_settings(gra: ModuleType, values: dict[str, Any], message: str) -> None:
    with pytest.raises(smallagents.errors.UsageError, match=message):
        gra.GraConfig(**values)


# --- settings: file, environment, command line -------------------------------------------------


def test_settings_file_then_environment_then_command_line(gra: ModuleType) -> None:
    file = {"reviewers": 3, "refine": True, "reviewer_weights": [1, 0.5], "accept_threshold": 7}
    environ = {"SMALLAGENTS_GRA_ACCEPT_THRESHOLD": "8", "SMALLAGENTS_GRA_REVIEWERS": "4"}
    config = gra.configure(file, {"reviewers": "5"}, environ=environ)
    assert config.reviewers == 5  # the command line wins
    assert config.accept_threshold == 8  # the environment overrides the file
    assert config.refine is True and config.reviewer_weights == (1.0, 0.5)
    assert gra.configure({}, {}, environ={}) == gra.GraConfig()


@pytest.mark.parametrize(
    ("file", "message"),
    [
        ({"reviewerz": 2}, "unknown gra setting 'reviewerz'"),
        ({"reviewers": "two"}, "reviewers = 'two' does not parse"),
        ({"refine": "maybe"}, "refine = 'maybe' does not parse"),
        ({"reviewers": True}, "reviewers = True does not parse"),
        ({"reviewer_models": 3}, "reviewer_models = 3 does not parse"),
    ],
)
def test_bad_settings_are_one_line_errors(gra: ModuleType, file: dict, message: str) -> None:
    with pytest.raises(smallagents.errors.UsageError, match=message) as caught:
        gra.configure(file, environ={})
    text = str(caught.value)
    assert "[pipelines.gra] in smallagents.toml" in text and "Fix:" in text and "\n" not in text


def test_the_factory_builds_a_pipeline_with_the_settings(gra: ModuleType) -> None:
    configured = gra.pipeline.build({"reviewers": 3}, {"refine": "on"})
    assert configured.settings["reviewers"] == 3 and configured.settings["refine"] is True
    assert "review_3" in configured.graph.nodes and "refine" in configured.graph.nodes
    assert gra.pipeline.build({}, {}).config == gra.GraConfig()
    curate = gra.curate_pipeline.build({"checks": []})
    assert curate.name == "gra-curate" and curate.settings["checks"] == ()
    # A Ray actor rebuilds the driver's pipeline from its settings as the command-line layer.
    driver = gra.pipeline.build({"reviewer_weights": [1, 0.5], "checks": ["truncated"]}, {})
    actor = gra.pipeline.build({}, dict(driver.settings))
    assert actor.config == driver.config and actor.settings == driver.settings


def test_loading_the_content_reads_no_setting_and_builds_nothing() -> None:
    # A bad variable fails the job that builds the pipeline, not the loading of the content;
    # no graph is compiled (nor a pipeline made) until a job asks for one.
    script = (
        "import smallagents\n"
        "from smallagents.content import content_dir\n"
        "from smallagents.registry import load_module\n"
        "compile_graph = smallagents.Graph.compile\n"
        "def refuse(self, *args, **kwargs):\n"
        "    raise AssertionError('compiled at import')\n"
        "smallagents.Graph.compile = refuse\n"
        "(gra,) = load_module(content_dir('graphs') / 'gra')\n"
        "smallagents.Graph.compile = compile_graph\n"
        "try:\n"
        "    gra.pipeline.build()\n"
        "except smallagents.errors.UsageError as error:\n"
        "    print('refused:', error)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "SMALLAGENTS_GRA_REVIEWERS": "two"},
    )
    assert done.returncode == 0, done.stderr
    assert "refused:" in done.stdout and "SMALLAGENTS_GRA_REVIEWERS" in done.stdout


# --- curation -------------------------------------------------------------------------------

EXISTING = [
    {"id": "p1", "instruction": "How do I keep basil fresh?", "response": "Stand it in water.",
     "source": "my notes"},
    {"id": "p2", "instruction": "Basil is a herb.", "response": "Yes."},
    {"id": "p3", "instruction": "How do I keep basil fresh?", "response": "Stand it in water!"},
    {"id": "p4", "instruction": "What is compost?", "response": "Rotted plant matter."},
]  # fmt: skip


def test_the_curation_graph(gra: ModuleType) -> None:
    chart = gra.curate_pipeline.graph.compile().mermaid()
    assert "__start__ --> screen;" in chart and "generate" not in chart
    found = find_pipeline("gra-curate", [], [])
    assert isinstance(found, gra.GraPipeline) and found.curate
    assert found.required_fields() == ("instruction", "response")


def test_curation_keeps_rejects_and_dedupes_existing_pairs(gra: ModuleType, tmp_path: Path) -> None:
    def smol_review(text: str) -> dict[str, Any]:
        return review(2, False) if "compost" in text else review(8, True)

    models = scripted_models(
        reviews=(smol_review, review(8, True)), decision=adjudication("reject")
    )
    options = JobOptions(
        input=str(write_seeds(tmp_path / "mine.jsonl", EXISTING)),
        output=tmp_path / "curated.jsonl",
    )
    report = run_job(Scripted(gra.build_curate_pipeline(scored(gra)), models), options)
    kept = lines(tmp_path / "curated.jsonl")
    assert [r["id"] for r in kept] == ["p1"]
    assert kept[0]["source"] == "my notes"  # the input's own fields stay
    assert kept[0]["response"] == "Stand it in water." and "original" not in kept[0]
    rejects = {r["id"]: r for r in lines(tmp_path / "curated.rejects.jsonl")}
    assert rejects["p2"]["reason"].startswith("free check: the instruction is a statement")
    assert rejects["p3"]["reason"] == "duplicate instruction of record p1"
    assert rejects["p4"]["reason"] == "the adjudicator rejected it"
    assert report["records"] == {"accepted": 1, "rejected": 3}
    # Resumed, nothing runs again; a new pair that repeats a kept one is still a duplicate.
    again = run_job(Scripted(gra.build_curate_pipeline(scored(gra)), models), options)
    assert again["units"] == {"total": 4, "done": 4} and lines(tmp_path / "curated.jsonl") == kept
    # Without dedupe (measuring reviewers on labeled twins that share an instruction),
    # p3 is judged on its own and kept.
    config = scored(gra, dedupe=False)
    every = JobOptions(input=options.input, output=tmp_path / "all.jsonl")
    run_job(Scripted(gra.build_curate_pipeline(config), models), every)
    assert [r["id"] for r in lines(tmp_path / "all.jsonl")] == ["p1", "p3"]


def test_curation_revises_and_keeps_the_original(gra: ModuleType) -> None:
    models = scripted_models(
        reviews=(review(8, True), review(2, False)), decision=adjudication("revise", REVISED)
    )
    pair = {"id": "p9", "instruction": "How do I keep cut flowers fresh?", "response": "Sun."}
    record = only(run_one(gra.build_curate_pipeline(scored(gra)), models, pair).outputs)
    assert record["verdict"] == "revise" and record["response"] == REVISED["response"]
    assert record["original"] == {"instruction": pair["instruction"], "response": "Sun."}
    assert "draft" not in record
    roles = [r.role for r in run_one(gra.build_curate_pipeline(scored(gra)), models, pair).records]
    assert "gra_generator" not in roles and roles[0] == "gra_reviewer_1"


def test_a_real_curation_job(
    gra: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two labeled pairs through the real models: a statement (free reject) and a good pair."""
    monkeypatch.setenv("SMALLAGENTS_THREADS", "1")
    chosen = {p["id"]: p for p in lines(JUDGE_PAIRS) if p["id"] in ("g020-bad", "g003-good")}
    data = [{k: chosen[i][k] for k in ("id", "instruction", "response")} for i in sorted(chosen)]
    result = runner.invoke(
        app,
        [
            "run", "gra-curate", "--input", str(write_seeds(tmp_path / "in.jsonl", data)),
            "--output", str(tmp_path / "out.jsonl"), "--quiet", "--workers", "1",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    records = {
        r["id"]: r for r in lines(tmp_path / "out.jsonl") + lines(tmp_path / "out.rejects.jsonl")
    }
    assert set(records) == {"g003-good", "g020-bad"}
    assert records["g020-bad"]["checks"] == ["not_a_request"]
    assert "gra_solver_1" not in records["g020-bad"]["models"]
    judged = records["g003-good"]
    (only_review,) = judged["reviews"]  # the default: one reviewer that answers, then compares
    assert judged["models"]["gra_solver_1"] == "qwen-1.5b"
    assert "canberra" in only_review["feedback"].lower()  # its own answer to the question
    assert only_review["compared"] == "text" and only_review["accept"] is True
    assert judged["instruction"] == "What is the capital of Australia?"


def fact_checked_models(claims_verdict: str) -> dict[str, ScriptedModel]:
    """qwen-1.5b scripted as the solving reviewer: its own answer "H2O", then the fact check."""

    def answer(prompt: Prompt, seed: int) -> str:
        text = request(prompt)
        if "Is every fact, number and step in the response true?" in text:
            return json.dumps({"verdict": claims_verdict})
        assert text == "What is water made of?", text  # the solver's own question
        return json.dumps({"answer": "H2O"})

    return {"qwen-1.5b": ScriptedModel([answer], name="qwen", repeat_last=True)}


WRONG_WATER = {
    "id": "w1",
    "instruction": "What is water made of?",
    "response": "Water is H2O: two atoms of oxygen bonded to one atom of hydrogen.",
}


@pytest.mark.parametrize(("verdict", "kept"), [("no", False), ("yes", True)])
def test_the_fact_check_gates_an_agreeing_response(
    gra: ModuleType, verdict: str, kept: bool
) -> None:
    # The short answer "H2O" is in the response, so the text comparison agrees; only the
    # fact check reads the wrong detail beside it.
    config = gra.GraConfig(claims_threshold=0.5, dedupe=False)
    result = run_one(gra.build_curate_pipeline(config), fact_checked_models(verdict), WRONG_WATER)
    (record,) = result.outputs + result.rejects
    (only_review,) = record["reviews"]
    assert only_review["compared"] == "text"
    assert only_review["p_claims"] == (1.0 if kept else 0.0)  # a script's verdict is certain
    assert only_review["accept"] is kept and bool(result.outputs) is kept
    assert only_review["p_accept"] == only_review["p_claims"]
    assert [r.role for r in result.records] == ["gra_solver_1", "gra_claims_1"]
    if not kept:
        assert only_review["problems"] == ["a claim looks false (P(all true) 0.00)"]
        assert only_review["score"] == 1


def test_the_fact_checker_plays_on_the_model_a_job_gives_it(gra: ModuleType) -> None:
    # `--model gra_claims_1=SPEC` (or [roles.gra_claims_1]): e.g. a larger fact-checker.
    from smallagents.run import RoleSettings

    models = fact_checked_models("no")
    checker = ScriptedModel(['{"verdict": "yes"}'], name="checker", repeat_last=True)
    pool = ModelPool()
    pool.register("qwen-1.5b", models["qwen-1.5b"])
    pool.register("bigger", checker)
    run = Run(pool=pool, settings={"gra_claims_1": RoleSettings(model="bigger")})
    config = gra.GraConfig(dedupe=False)  # the default threshold, 0.85
    result = gra.build_curate_pipeline(config).run_unit(WRONG_WATER, run=run, seed=7, unit_id="w1")
    record = only(result.outputs)  # the bigger checker's "yes" keeps it
    assert record["models"]["gra_claims_1"] == "checker"
    assert record["reviews"][0]["p_claims"] == 1.0


def test_without_a_claims_threshold_nothing_is_fact_checked(gra: ModuleType) -> None:
    config = gra.GraConfig(claims_threshold=0.0, dedupe=False)
    result = run_one(gra.build_curate_pipeline(config), fact_checked_models("no"), WRONG_WATER)
    assert [r.role for r in result.records] == ["gra_solver_1"]
    (review_,) = only(result.outputs)["reviews"]
    assert "p_claims" not in review_ and review_["accept"] is True
    assert gra.claims_checkers(config) == [None]


def test_claims_threshold_is_a_checked_setting(gra: ModuleType) -> None:
    assert gra.configure({"claims_threshold": 0.6}).claims_threshold == 0.6
    assert gra.configure({"claims_threshold": 0}).claims_threshold == 0
    # Below 0.5 an accept kept by the fact check would carry a score the tally rejects.
    for bad in ("1.5", "0.4", "-0.1"):
        with pytest.raises(
            smallagents.errors.UsageError, match=r"claims_threshold must be 0 \(off\) or 0.5 to 1"
        ):
            gra.configure(command_line={"claims_threshold": bad})
    with pytest.raises(smallagents.errors.UsageError, match="claims_threshold = 'x' does not"):
        gra.configure(command_line={"claims_threshold": "x"})


# --- settings from smallagents.toml and the command line ------------------------------------

STATEMENT = '{"id": "a", "instruction": "Rice is a grain.", "response": "Yes."}\n'


def curate_statement(tmp_path: Path, *options: str) -> Any:
    """``smallagents run gra-curate`` on one pair that fails a free check: no model runs."""
    (tmp_path / "in.jsonl").write_text(STATEMENT)
    arguments = ["run", "gra-curate", "--input", str(tmp_path / "in.jsonl")]
    arguments += ["--output", str(tmp_path / "out.jsonl"), "--quiet", *options]
    return runner.invoke(app, arguments)


def test_pipeline_settings_from_the_file_and_set(tmp_path: Path) -> None:
    config = tmp_path / "smallagents.toml"
    config.write_text('[pipelines.gra-curate]\nchecks = ["repetitive"]\n')
    result = curate_statement(tmp_path, "--config", str(config), "--set", "checks=not_a_request")
    assert result.exit_code == 0, result.output
    reject = only(lines(tmp_path / "out.rejects.jsonl"))
    assert reject["checks"] == ["not_a_request"]  # --set won over the file
    # The settings are part of the fingerprint: another value is refused on resume.
    again = curate_statement(tmp_path, "--config", str(config))
    assert again.exit_code == 2 and "another configuration" in again.output


@pytest.mark.parametrize(
    ("toml", "options", "message"),
    [
        ("[pipelines.gra-curate]\nreviewerz = 2\n", (), "unknown gra setting 'reviewerz'"),
        ("[pipelines.gra-curate]\nrefine = 3\n", (), "refine = 3 does not parse"),
        ("[pipelines]\ngra = 3\n", (), "[pipelines] must hold one table per pipeline"),
        ("", ("--set", "reviewers"), "--set 'reviewers' is not KEY=VALUE"),
        ("", ("--set", "reviewers=0"), "reviewers must be at least 1"),
    ],
)
def test_bad_pipeline_settings_on_the_command_line(
    tmp_path: Path, toml: str, options: tuple[str, ...], message: str
) -> None:
    config = tmp_path / "smallagents.toml"
    config.write_text(toml)
    result = curate_statement(tmp_path, "--config", str(config), *options)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Fix:" in result.output
    assert not (tmp_path / "out.jsonl").exists()  # refused before any work


def test_a_pipeline_without_settings_refuses_them(tmp_path: Path) -> None:
    (tmp_path / "in.jsonl").write_text('{"id": "a", "query": "x", "tools": []}\n')
    result = runner.invoke(
        app,
        ["run", "caller", "--input", str(tmp_path / "in.jsonl"), "--output",
         str(tmp_path / "out.jsonl"), "--quiet", "--set", "reviewers=2"],
    )  # fmt: skip
    assert result.exit_code == 2 and "has no pipeline settings" in result.output


def test_graph_show_lists_the_settings(tmp_path: Path) -> None:
    config = tmp_path / "smallagents.toml"
    config.write_text("[pipelines.gra]\nreviewers = 3\n")
    result = runner.invoke(app, ["graph", "show", "gra", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "review_2 --> review_3;" in result.output and "%% reviewers = 3" in result.output
    result = runner.invoke(app, ["graph", "show", "gra", "--set", "refine=true"])
    assert "%% refine = true" in result.output
    assert "refine --> screen;" in result.output


def test_the_example_config_parses_with_the_gra_settings(gra: ModuleType) -> None:
    from smallagents.jobs.config import load_config

    table = load_config(ROOT / "examples" / "smallagents.toml").pipelines["gra"]
    assert gra.configure(table, environ={}) == gra.GraConfig()  # the example gives the defaults


def test_roles_lists_what_each_gra_role_does() -> None:
    result = runner.invoke(app, ["roles"], env={"COLUMNS": "250"})  # no wrapped cells
    assert result.exit_code == 0, result.output
    assert "Domain: {domain}" not in result.stdout  # was: each prompt template's first line
    for description in (
        "You write training examples for a helpful assistant",
        "You review training examples for a helpful assistant",
        "You settle disagreements between reviewers of training examples",
    ):
        assert description in result.stdout


# --- the solving reviewer's direct comparison ---------------------------------------------


@pytest.mark.parametrize(
    ("reference", "response", "agrees"),
    [
        ("48", "A foot is 12 inches, so 4 feet is 48 inches.", True),
        ("48", "A foot is 12 inches, so 4 feet is 480 inches.", False),
        ("168", "A day has 24 hours, so 7 days is 1,680 hours.", False),
        ("6650 km", "The Nile, about 6,650 km long.", True),
        ("3.2288", "2 miles is about 3.22 kilometres.", True),  # within 1%
        ("1989", "The Berlin Wall fell in 1989.", True),
        ("1989", "The Berlin Wall fell in 1991.", False),  # whole numbers: exactly
        ("100", "Water boils at 100.4 degrees here.", True),  # a decimal: within 1%
        ("7", "There are seven continents.", True),
        ("Nile", "The Congo is the longest river in Africa.", False),
        ("Mount Everest", "Everest, at about 8,849 metres.", True),
        ("Mount Everest", "K2, at about 8,849 metres above sea level.", False),
    ],
)
def test_short_answers_are_compared_without_a_model(
    gra: ModuleType, reference: str, response: str, agrees: bool
) -> None:
    assert gra.compare_answers(reference, response) is agrees


def test_long_answers_go_to_the_model(gra: ModuleType) -> None:
    assert gra.compare_answers("Use len(my_list) to count the items of a list.", "len") is None
    assert gra.compare_answers("", "anything") is None
    assert gra.compare_answers("it is", "anything") is None  # no content word to look for

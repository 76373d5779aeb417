"""gra's figure check: a figure the reviewer's own answers never state is rejected.

The parsing and matching rules are plain functions, tested case by case; the review
step is driven by a scripted model (which answer a sample gives must be chosen to
test both outcomes); the real model plays it in tests/test_gra.py's real jobs.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest

import smallagents
from smallagents import ModelPool, Run
from smallagents.content import content_dir
from smallagents.models.base import Prompt
from smallagents.registry import load_module
from smallagents.testing import ScriptedModel


@pytest.fixture(scope="module")
def gra() -> ModuleType:
    return load_module(content_dir("graphs") / "gra")[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Lake Superior covers about 45,600 km² in area.", [45600.0]),
        ("Russia covers 17.1 million square kilometers.", [17_100_000.0]),
        ("Adults need 7-9 hours of sleep.", [7.0, 9.0]),
        ("The Berlin Wall fell in 1989; 1989 was a good year.", [1989.0]),  # once each
        ("Water is H2O and CO2 is a gas; use utf8.", []),  # glued to a word: a name
        ("Call `range(10)` or ```\nx = 42\n```", []),  # code is not a claim
        ("Use email.split('@')[1], range(10) or x_2 = a[3] for 2 parts.", [2.0]),  # bare code
        ("1. Preheat the oven to 375 degrees. 2. Mix the flour.", [375.0]),  # list numbers
        ("It costs about $2.50 and weighs 0.5 kg.", [2.5, 0.5]),
        ("No figures at all.", []),
    ],
)
def test_the_figures_a_response_states(gra: ModuleType, text: str, expected: list[float]) -> None:
    assert gra.figures(text) == expected


@pytest.mark.parametrize(
    ("stated", "written", "same"),
    [
        (206.0, 195.0, False),  # counts are exact
        (1989.0, 1991.0, False),  # years too
        (8848.0, 8848.0, True),
        (17_075_200.0, 17_100_000.0, True),  # large: within 1%
        (45_600.0, 82_100.0, False),
        (2.5, 2.52, True),  # decimals: within 1%
        (2.5, 3.5, False),
    ],
)
def test_when_two_figures_are_one(
    gra: ModuleType, stated: float, written: float, same: bool
) -> None:
    assert gra.same_figure(stated, written) is same


def test_unreproduced_lists_what_no_answer_states(gra: ModuleType) -> None:
    response = "Mount Elbrus is 17,440 meters high, about 5,642 m by other counts."
    assert gra.unreproduced(response, ["Mount Elbrus is 5,642 meters high."]) == [17440.0]
    assert gra.unreproduced(response, ["Elbrus: 5,642 m.", "17,440 ft, 5642 m"]) == []
    assert gra.unreproduced(response, []) == [17440.0, 5642.0]


ELBRUS = {
    "id": "e1",
    "instruction": "What is the highest mountain in Europe?",
    "response": "Mount Elbrus is the highest mountain in Europe, at about 17,440 meters.",
}


def sampled_models(samples: list[str]) -> tuple[dict[str, ScriptedModel], list[int]]:
    """qwen-1.5b scripted as the solving reviewer: its own answer "Mount Elbrus" (which
    the response states), a fact check that believes it, then ``samples`` in turn;
    also the seeds the samples were drawn with."""
    seeds: list[int] = []

    def answer(prompt: Prompt, seed: int) -> str:
        text = prompt[-1]["content"] if not isinstance(prompt, str) else prompt
        system = prompt[0]["content"] if not isinstance(prompt, str) else ""
        if "Is every fact, number and step in the response true?" in text:
            return json.dumps({"verdict": "yes"})
        if "with the key figures" in system:
            seeds.append(seed)
            return json.dumps({"answer": samples[min(len(seeds), len(samples)) - 1]})
        return json.dumps({"answer": "Mount Elbrus"})

    return {"qwen-1.5b": ScriptedModel([answer], name="qwen", repeat_last=True)}, seeds


def review_of(
    gra: ModuleType, config: object, models: dict[str, ScriptedModel], pair: dict = ELBRUS
) -> tuple:
    pool = ModelPool()
    for name, model in models.items():
        pool.register(name, model)
    result = gra.build_curate_pipeline(config).run_unit(
        pair, run=Run(pool=pool), seed=7, unit_id="e1"
    )
    (record,) = result.outputs + result.rejects
    (review,) = record["reviews"]
    return result, review


def test_a_figure_no_sample_states_is_rejected(gra: ModuleType) -> None:
    models, seeds = sampled_models(["Mount Elbrus is 5,642 meters high."])
    result, review = review_of(gra, gra.GraConfig(dedupe=False), models)
    assert not result.outputs and review["accept"] is False
    assert review["figures"] == {"samples": 3, "unreproduced": ["17,440"]}
    assert review["problems"] == ["its own answers never state 17,440 (3 drawn)"]
    assert review["score"] == 1 and review["p_accept"] == 0.0
    assert len(set(seeds)) == 3  # three different draws, not one answer thrice
    roles = [r.role for r in result.records]
    assert roles == ["gra_solver_1", "gra_claims_1"] + ["gra_sampler_1"] * 3


def test_a_figure_that_comes_back_keeps_the_pair_and_stops_sampling(gra: ModuleType) -> None:
    models, seeds = sampled_models(["It is 5,642 m high.", "Elbrus rises about 17,440 m."])
    result, review = review_of(gra, gra.GraConfig(dedupe=False), models)
    assert result.outputs and review["accept"] is True
    assert review["figures"] == {"samples": 2, "unreproduced": []}  # no third sample
    assert len(seeds) == 2


def test_one_figure_that_comes_back_is_enough(gra: ModuleType) -> None:
    # A right answer carries working figures the samples need not repeat (held out: "a
    # kilogram is 1,000 grams, so 2.5 kilograms is 2,500 grams" was lost to a rule that
    # wanted every figure back).
    pair = {**ELBRUS, "response": "Mount Elbrus, at 5,642 meters (18,510 feet), is the highest."}
    models, seeds = sampled_models(["Mount Elbrus is 5,642 m high."])
    result, review = review_of(gra, gra.GraConfig(dedupe=False), models, pair)
    assert result.outputs and review["accept"] is True
    assert review["figures"] == {"samples": 1, "unreproduced": ["18,510"]}
    assert len(seeds) == 1  # no further sample once one figure came back


def test_the_same_unit_draws_the_same_samples(gra: ModuleType) -> None:
    first_models, first = sampled_models(["5,642 m."])
    second_models, second = sampled_models(["5,642 m."])
    review_of(gra, gra.GraConfig(dedupe=False), first_models)
    review_of(gra, gra.GraConfig(dedupe=False), second_models)
    assert first == second  # a resumed unit decides as the first run did


def test_without_figure_samples_nothing_is_sampled(gra: ModuleType) -> None:
    models, seeds = sampled_models(["5,642 m."])
    result, review = review_of(gra, gra.GraConfig(dedupe=False, figure_samples=0), models)
    assert result.outputs and "figures" not in review and not seeds
    assert gra.figure_samplers(gra.GraConfig(figure_samples=0)) == [None]


def test_figure_samples_is_a_checked_setting(gra: ModuleType) -> None:
    assert gra.configure(command_line={"figure_samples": "5"}).figure_samples == 5
    with pytest.raises(smallagents.errors.UsageError, match="figure_samples must be 0 to 8"):
        gra.configure(command_line={"figure_samples": "9"})
    with pytest.raises(smallagents.errors.UsageError, match="figure_samples = 'x' does not"):
        gra.configure(command_line={"figure_samples": "x"})


def test_every_setting_is_documented(gra: ModuleType) -> None:
    # A setting users cannot find is a setting they do not have: each is a row of the
    # README's settings table and a line of the example configuration.
    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text()
    example = (root / "examples" / "smallagents.toml").read_text()
    assert [key for key in gra.SETTINGS if f"| `{key}` |" not in readme] == []
    assert [key for key in gra.SETTINGS if f"{key} = " not in example] == []

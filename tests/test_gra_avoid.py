"""gra's ``avoid`` setting: pairs the user already holds steer the Generator and the
de-duplication.

Which earlier instructions a seed is shown and how duplicates are named are plain
logic, driven by scripted models (the prompt a model gets must be read back); the
real Generator plays the steered prompt in the last test.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from test_gra import (
    Scripted,
    lines,
    only,
    request,
    run_one,
    scored,
    scripted_models,
    write_seeds,
)

import smallagents
from smallagents.content import content_dir
from smallagents.errors import StateError, UsageError
from smallagents.jobs.runner import run_job
from smallagents.jobs.settings import JobOptions
from smallagents.registry import load_module


@pytest.fixture(scope="module")
def gra() -> ModuleType:
    return load_module(content_dir("graphs") / "gra")[0]


EARLIER = [
    {"id": "a", "seed_id": "s1", "instruction": "What is the capital of France?",
     "response": "Paris."},
    {"id": "b", "seed_id": "s2", "instruction": "How do I prune an apple tree?",
     "response": "In winter, cut the crossing branches."},
    {"id": "c", "instruction": "Which roses need the most sun?", "response": "Hybrid teas.",
     "domain": "gardening"},
    {"id": "d", "instruction": "What soil do roses like?", "response": "Loam."},
    {"id": "e", "seed_id": "s1", "instruction": "What is the capital of France?",
     "response": "It is Paris."},
    {"id": "f", "instruction": "How do I tune a guitar?", "response": "With a tuner."},
]  # fmt: skip


def write(path: Path, records: list[dict[str, Any]]) -> str:
    return str(write_seeds(path, records))


def test_the_nearest_earlier_instructions_come_first(gra: ModuleType, tmp_path: Path) -> None:
    avoided = gra.read_avoided([write(tmp_path / "old.jsonl", EARLIER)])
    assert [pair.key for pair in avoided.pairs][:2] == [
        f"{tmp_path / 'old.jsonl'} line 1",
        f"{tmp_path / 'old.jsonl'} line 2",
    ]
    seed = {"id": "s1", "domain": "gardening", "instruction": "How do I water roses?"}
    # Drawn from the same seed first (once each), then the seed's domain, then shared
    # words ("roses"); the guitar shares nothing and is not shown.
    assert avoided.nearest(seed) == [
        "What is the capital of France?",
        "Which roses need the most sun?",
        "What soil do roses like?",
    ]
    assert avoided.nearest(seed, limit=2) == [EARLIER[0]["instruction"], EARLIER[2]["instruction"]]
    assert avoided.nearest({"instruction": "Name a planet."}) == []


def test_bad_avoid_files_are_one_line_errors(gra: ModuleType, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"avoid: .*missing\.jsonl does not exist") as missing:
        gra.build_pipeline(gra.GraConfig(avoid=(str(tmp_path / "missing.jsonl"),)))
    assert "\n" not in str(missing.value) and "Fix: give avoid" in str(missing.value)
    bad = write(tmp_path / "bad.jsonl", [EARLIER[0], {"question": "no instruction here"}])
    with pytest.raises(UsageError, match=r"avoid: .*bad\.jsonl line 2 has no instruction"):
        gra.build_pipeline(gra.GraConfig(avoid=(bad,)))
    # The setting parses from the command line as a comma-separated list.
    config = gra.configure(command_line={"avoid": f"{bad}, {tmp_path / 'x.csv'}"})
    assert config.avoid == (bad, str(tmp_path / "x.csv"))


def test_the_generator_is_shown_the_earlier_instructions(gra: ModuleType, tmp_path: Path) -> None:
    models = scripted_models()
    seed = {"id": "s1", "domain": "gardening", "instruction": "How do I water roses?"}
    old = write(tmp_path / "old.jsonl", EARLIER)
    result = run_one(gra.build_pipeline(scored(gra, avoid=(old,))), models, seed)  # steer: on
    asked = request(models["default"].calls[0].prompt)
    assert "Already in the dataset, so do not repeat these questions:\n" in asked
    assert "- What is the capital of France?\n- Which roses need the most sun?\n" in asked
    assert "tune a guitar" not in asked and asked.endswith("New example:")
    # Played under the Generator's own name: --model gra_generator=SPEC applies to it.
    assert result.records[0].role == "gra_generator"
    # Without avoid files, or with steer off, the prompt is the Generator's own.
    prompts = []
    for config in (scored(gra), scored(gra, avoid=(old,), steer=False)):
        plain = scripted_models()
        run_one(gra.build_pipeline(config), plain, seed)
        prompts.append(plain["default"].calls[0].prompt)
    assert prompts[0] == prompts[1] and "Already in the dataset" not in request(prompts[0])


def test_avoid_needs_dedupe(gra: ModuleType) -> None:
    assert gra.configure(command_line={"steer": "false"}).steer is False
    with pytest.raises(UsageError, match=r"avoid de-duplicates .* needs dedupe = true"):
        gra.configure(command_line={"avoid": "old.jsonl", "dedupe": "false"})


def test_a_repeat_of_an_earlier_pair_is_a_duplicate(gra: ModuleType, tmp_path: Path) -> None:
    old = write(tmp_path / "old.jsonl", EARLIER)
    seeds = [{"id": "s1", "instruction": "How do I water roses?"}]
    options = JobOptions(input=write(tmp_path / "in.jsonl", seeds), output=tmp_path / "out.jsonl")
    repeat = {"instruction": "what is the Capital of France", "response": "Paris, of course."}
    models = scripted_models(generated=repeat)
    config = scored(gra, avoid=(old,))
    report = run_job(Scripted(gra.build_pipeline(config), models), options)
    reject = only(lines(tmp_path / "out.rejects.jsonl"))
    assert reject["reason"] == f"duplicate instruction of {old} line 1"
    assert lines(tmp_path / "out.jsonl") == [] and report["rates"]["duplicates_removed"] == 1
    # The avoid file is read, never written.
    assert [json.loads(line) for line in Path(old).read_text().splitlines()] == EARLIER
    # gra-curate drops an existing pair that repeats one of the earlier files too.
    mine = write(tmp_path / "mine.jsonl", [{"id": "p1", **repeat}])
    curated = JobOptions(input=mine, output=tmp_path / "curated.jsonl")
    run_job(Scripted(gra.build_curate_pipeline(config), scripted_models()), curated)
    assert only(lines(tmp_path / "curated.rejects.jsonl"))["reason"].endswith(f"{old} line 1")


def test_the_avoid_files_content_is_part_of_the_fingerprint(
    gra: ModuleType, tmp_path: Path
) -> None:
    old = tmp_path / "old.jsonl"
    write(old, EARLIER[:2])
    seeds = [{"id": "s1", "instruction": "How do I water roses?"}]
    options = JobOptions(input=write(tmp_path / "in.jsonl", seeds), output=tmp_path / "out.jsonl")
    config = scored(gra, avoid=(str(old),))
    pipeline = gra.build_pipeline(config)
    assert pipeline.settings["avoid_content"] == pipeline.avoided.digest != ""
    run_job(Scripted(pipeline, scripted_models()), options)
    # The same path with other pairs in it is another job: resuming it is refused.
    write(old, EARLIER[:3])
    with pytest.raises(StateError, match="--fresh"):
        run_job(Scripted(gra.build_pipeline(config), scripted_models()), options)


def test_the_real_generator_steers_away_from_what_it_is_shown(
    gra: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMALLAGENTS_THREADS", "1")
    generator = gra.generator(steered=True)
    assert generator.name == "gra_generator" and generator.spec.model == "qwen-1.5b"
    seed = {
        "domain": "geography",
        "seed_instruction": "What is the largest ocean on Earth?",
        "seed_response": "The Pacific Ocean is the largest ocean on Earth.",
    }
    earlier = "- What is the capital of France?\n- What is the longest river in Africa?"
    record = generator.invoke({**seed, "earlier": earlier}, run=smallagents.Run(), seed=3)
    assert record.resolved, record.detail
    asked = record.value.instruction.casefold()
    assert "france" not in asked and "africa" not in asked, record.value
    assert "ocean" not in asked or "largest" not in asked, record.value


def test_an_avoid_file_is_never_the_jobs_output(gra: ModuleType, tmp_path: Path) -> None:
    old = write(tmp_path / "data.jsonl", EARLIER)
    seeds = write(tmp_path / "in.jsonl", [{"id": "s1", "instruction": "How do I water roses?"}])
    config = scored(gra, avoid=(old,))
    for output in (tmp_path / "data.jsonl", tmp_path / "more.jsonl"):
        options = JobOptions(
            input=seeds, output=output, rejects=tmp_path / "data.jsonl", fresh=True
        )
        with pytest.raises(UsageError, match="are the same file") as error:
            run_job(Scripted(gra.build_pipeline(config), scripted_models()), options)
        assert f"avoid file {old}" in str(error.value)
    # Even with --fresh nothing was written over it.
    assert [json.loads(line) for line in Path(old).read_text().splitlines()] == EARLIER

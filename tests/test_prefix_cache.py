"""Prefix cache: alternating roles reuse their prefixes, answers never change, memory is bounded."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydantic
import pytest

import smallagents
from smallagents.models.llama import LlamaModel
from smallagents.models.pool import ModelPool

SHOTS = {
    role: "\n".join(f"{role} example {i}: the {i}th {role} answer is {i * 7}." for i in range(40))
    for role in ("generator", "reviewer", "adjudicator")
}


def _prompt(role: str, record: int) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": f"You are the {role}.\n{SHOTS[role]}"},
        {"role": "user", "content": f"Record {record}: write one {role} answer as JSON."},
    ]


@pytest.fixture(scope="module")
def models() -> Iterator[tuple[LlamaModel, LlamaModel]]:
    pool = ModelPool(threads=1)
    warm = pool.load("default", prefix_cache_mb=128)
    cold = pool.load("default", prefix_cache_mb=0)
    assert isinstance(warm, LlamaModel) and isinstance(cold, LlamaModel)
    yield warm, cold
    pool.close()


def test_alternating_roles_reuse_their_prefixes_and_answer_the_same(
    models: tuple[LlamaModel, LlamaModel],
) -> None:
    warm, cold = models
    assert warm.prefix_cache is not None and cold.prefix_cache is None
    for record in range(2):
        for role in SHOTS:
            prompt = _prompt(role, record)
            kwargs: dict[str, Any] = {"schema": "person", "temperature": 0.9, "seed": record}
            with_cache = warm.generate(prompt, role=role, **kwargs)
            without = cold.generate(prompt, role=role, **kwargs)
            assert with_cache.text == without.text  # the cache never changes an answer
            assert with_cache.prompt_tokens == without.prompt_tokens > 400
            if record:  # the role ran before, and two other roles since
                assert with_cache.prompt_tokens_reused >= with_cache.prompt_tokens - 128
                assert without.prompt_tokens_reused == 0
    counts = warm.prompt_counts()
    assert set(counts) == set(SHOTS)
    for evaluated, reused in counts.values():
        assert reused > evaluated / 2  # the second round reused nearly everything
    assert all(reused == 0 for _, reused in cold.prompt_counts().values())


def test_the_budget_bounds_the_cache_least_recently_used_first() -> None:
    pool = ModelPool(threads=1)
    try:
        probe = pool.load("default", prefix_cache_mb=64)
        assert isinstance(probe, LlamaModel) and probe.prefix_cache is not None
        sizes = {}
        for role in SHOTS:
            before = probe.prefix_cache.bytes
            probe.generate(_prompt(role, 0), max_tokens=1, seed=0)
            sizes[role] = probe.prefix_cache.bytes - before
        assert len(probe.prefix_cache) == 3 and all(size > 0 for size in sizes.values())
        room = sizes["reviewer"] + sizes["adjudicator"] + sizes["generator"] // 2
        small = pool.load("default", prefix_cache_mb=room / 2**20)
        assert isinstance(small, LlamaModel) and small.prefix_cache is not None
        for role in SHOTS:  # three prefixes, room for two
            small.generate(_prompt(role, 0), max_tokens=1, seed=0)
        cache = small.prefix_cache
        assert len(cache) == 2 and cache.evicted == 1
        assert cache.bytes <= cache.budget_bytes
        # The oldest (the generator's) went: it is prefilled again, the others are not.
        again = small.generate(_prompt("generator", 1), max_tokens=1, seed=0)
        assert again.prompt_tokens_reused == 0
        kept = small.generate(_prompt("adjudicator", 1), max_tokens=1, seed=0)
        assert kept.prompt_tokens_reused > kept.prompt_tokens - 128
        tiny = pool.load("default", prefix_cache_mb=0.5 * sizes["generator"] / 2**20)
        assert isinstance(tiny, LlamaModel) and tiny.prefix_cache is not None
        tiny.generate(_prompt("generator", 0), max_tokens=1, seed=0)
        assert len(tiny.prefix_cache) == 0  # an entry larger than the budget is not kept
    finally:
        pool.close()


def test_the_budget_setting_and_its_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from smallagents.errors import UsageError
    from smallagents.models.llama import DEFAULT_PREFIX_CACHE_MB, prefix_cache_budget_mb

    monkeypatch.delenv("SMALLAGENTS_PREFIX_CACHE_MB", raising=False)
    assert prefix_cache_budget_mb() == DEFAULT_PREFIX_CACHE_MB
    monkeypatch.setenv("SMALLAGENTS_PREFIX_CACHE_MB", "0")
    assert prefix_cache_budget_mb() == 0
    monkeypatch.setenv("SMALLAGENTS_PREFIX_CACHE_MB", "lots")
    with pytest.raises(UsageError) as caught:
        prefix_cache_budget_mb()
    assert "Fix:" in str(caught.value) and "\n" not in str(caught.value)


ROOT = Path(__file__).resolve().parents[1]


def test_a_gra_job_is_byte_identical_with_the_cache_on_and_off_and_1_or_2_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from smallagents.jobs.launch import find_pipeline
    from smallagents.jobs.runner import run_job
    from smallagents.jobs.settings import JobOptions

    monkeypatch.setenv("SMALLAGENTS_THREADS", "1")
    seeds = [
        line
        for line in (ROOT / "examples" / "seeds.jsonl").read_text().splitlines()
        if json.loads(line)["id"] in ("s01", "s04", "s11")
    ]
    source = tmp_path / "seeds.jsonl"
    source.write_text("\n".join(seeds) + "\n")
    outputs: dict[str, str] = {}
    reports: dict[str, dict[str, Any]] = {}
    for name, budget, workers in (("on", "256", 1), ("off", "0", 1), ("on2", "256", 2)):
        monkeypatch.setenv("SMALLAGENTS_PREFIX_CACHE_MB", budget)
        folder = tmp_path / name
        folder.mkdir()
        options = JobOptions(input=str(source), output=folder / "data.jsonl", workers=workers)
        reports[name] = run_job(find_pipeline("gra", [], []), options)
        outputs[name] = "".join(
            path.read_text() if path.exists() else ""
            for path in (folder / "data.jsonl", folder / "data.rejects.jsonl")
        )
    assert outputs["on"] == outputs["off"] == outputs["on2"]  # records and rejects alike
    assert outputs["on"].count("\n") == 3
    roles = reports["on"]["roles"]
    assert sum(r["prompt_tokens_reused"] for r in roles.values()) > 0
    for figures in roles.values():
        assert (
            figures["prompt_tokens_evaluated"] + figures["prompt_tokens_reused"]
            == (figures["prompt_tokens"])
        )
    off = reports["off"]["roles"]
    reused_on = sum(r["prompt_tokens_reused"] for r in roles.values())
    reused_off = sum(r["prompt_tokens_reused"] for r in off.values())
    assert reused_on > reused_off


def test_a_pool_gives_its_models_the_budget_it_was_given() -> None:
    pool = ModelPool(threads=1, prefix_cache_mb=0)
    try:
        off = pool.load("default")
        assert isinstance(off, LlamaModel)
        assert off.prefix_cache is None or off.prefix_cache.budget_bytes == 0
        sized = pool.load("default", prefix_cache_mb=8)  # load's own option wins
        assert isinstance(sized, LlamaModel) and sized.prefix_cache is not None
        assert sized.prefix_cache.budget_bytes == 8 * 1024 * 1024
    finally:
        pool.close()


def test_run_prefix_cache_mb_in_smallagents_toml_is_checked_and_reaches_the_job(
    tmp_path: Path,
) -> None:
    from smallagents.errors import ConfigError
    from smallagents.jobs.config import load_config
    from smallagents.jobs.pipelines import RolePipeline
    from smallagents.jobs.plan import run_config
    from smallagents.jobs.runner import run_job
    from smallagents.jobs.settings import JobOptions, merge

    bad = tmp_path / "bad.toml"
    bad.write_text("[run]\nprefix_cache_mb = -1\n")
    with pytest.raises(ConfigError) as caught:
        load_config(bad)
    assert "prefix_cache_mb = -1" in str(caught.value) and "\n" not in str(caught.value)

    role = _long_prompt_role()
    texts = ["I loved this film.", "The food was cold.", "It rained all day."]
    source = tmp_path / "in.jsonl"
    source.write_text(
        "".join(json.dumps({"id": f"r{i}", "text": t}) + "\n" for i, t in enumerate(texts))
    )
    outputs: dict[float, str] = {}
    for budget in (0, 64):
        config = tmp_path / f"cache{budget}.toml"
        config.write_text(f"[run]\nprefix_cache_mb = {budget}\n")
        out = tmp_path / f"out{budget}.jsonl"
        options = merge(
            JobOptions(input=str(source), output=out, workers=1), load_config(config).options()
        )
        # the file's budget is what the job's worker pools give their models
        pool = run_config(options).new_pool(1)
        assert pool.prefix_cache_mb == budget
        pool.close()
        run_job(RolePipeline(role), options)
        outputs[budget] = out.read_text()
    assert outputs[0] == outputs[64]  # and answers did not change


class Mood(pydantic.BaseModel):
    label: str = pydantic.Field(pattern="^(positive|negative|neutral)$")


def _long_prompt_role() -> Any:
    # A prompt long enough to share whole prefill chunks (64 tokens) between records.
    rules = " ".join(f"Rule {i}: weigh each word of the text before you decide." for i in range(12))

    @smallagents.role(max_tokens=16, template=f"{rules}\nClassify this text's mood: {{text}}")
    def mood(text: str) -> Mood: ...

    return mood

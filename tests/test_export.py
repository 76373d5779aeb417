"""`smallagents export`: a real job's JSONL as Parquet shards and a card that `datasets` loads."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from smallagents.cli import app
from smallagents.errors import ExportError, UsageError
from smallagents.jobs.card import field_feature
from smallagents.jobs.export import export_dataset, unified_schema, write_shards

# A one-role graph on the real default model. Its pipeline rejects the seeds marked
# "hold_out" (a rule on the input, so the rejects are known whatever the model says)
# and gives the seeds marked "rich" an object where the others have null, so the
# object first appears in a later shard.
GRAPHS = '''
from typing import Any, TypedDict

from pydantic import BaseModel, Field

import smallagents
from smallagents import END, START


class Sentiment(BaseModel):
    label: str = Field(pattern="^(positive|negative|neutral)$")


@smallagents.role(max_tokens=24)
def sentiment(text: str) -> Sentiment:
    """Classify the sentiment of this text as positive, negative or neutral: {text}"""


class State(TypedDict, total=False):
    text: str
    sentiment: Any


graph = smallagents.Graph("labels", state=State)
graph.role("label", sentiment, output="sentiment")
graph.edge(START, "label")
graph.edge("label", END)


def to_records(output, seed, unit_id):
    answer = output["sentiment"]
    label = answer["label"] if isinstance(answer, dict) else answer.label
    record = {
        "id": unit_id,
        "text": seed["text"],
        "label": label,
        "extra": {"words": len(seed["text"].split())} if seed.get("rich") else None,
    }
    if seed.get("hold_out"):
        return [], [{**record, "reason": "held out by the test"}]
    return [record], []


pipeline = smallagents.GraphPipeline(
    graph, to_records=to_records, settings={"hold_out": "marked seeds", "threshold": 0.5}
)
'''
SEEDS = [
    {"id": "s0", "text": "I love this phone"},
    {"id": "s1", "text": "The food was cold", "hold_out": True},
    {"id": "s2", "text": "It is a chair"},
    {"id": "s3", "text": "Best concert ever"},
    {"id": "s4", "text": "The train was late again", "hold_out": True},
    {"id": "s5", "text": "What a wonderful surprise", "rich": True},
]
runner = CliRunner()


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real job (6 seeds, the default model, one worker), shared by the tests."""
    folder = tmp_path_factory.mktemp("run")
    (folder / "graphs.py").write_text(GRAPHS)
    (folder / "in.jsonl").write_text("".join(json.dumps(s) + "\n" for s in SEEDS))
    result = runner.invoke(
        app,
        ["run", "labels", "--graphs", str(folder / "graphs.py"), "--input",
         str(folder / "in.jsonl"), "--output", str(folder / "out.jsonl"), "--workers", "1",
         "--seed", "7", "--quiet"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return folder / "out.jsonl"


@pytest.fixture
def offline_hf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """`datasets` with no network and a cache of its own."""
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    yield tmp_path / "cache"


def _front_matter(card: str) -> dict[str, Any]:
    assert card.startswith("---\n")
    data: dict[str, Any] = yaml.safe_load(card.split("---\n")[1])
    return data


def _same(loaded: dict[str, Any], original: dict[str, Any]) -> bool:
    """Equal but for the nulls the unified schema adds for keys a record lacked."""
    return {k: v for k, v in loaded.items() if v is not None} == {
        k: v for k, v in original.items() if v is not None
    }


def test_export_loads_back_with_datasets_in_three_ways(
    finished_run: Path, tmp_path: Path, offline_hf: Path
) -> None:
    from datasets import Dataset, load_dataset

    target = tmp_path / "dataset"
    result = runner.invoke(
        app, ["export", str(finished_run), "--to", str(target), "--shard-records", "2"]
    )
    assert result.exit_code == 0, result.output
    records = _lines(finished_run)
    rejects = _lines(finished_run.with_name("out.rejects.jsonl"))
    assert [r["id"] for r in rejects] == ["s1", "s4"]
    assert [r["id"] for r in records] == ["s0", "s2", "s3", "s5"]

    shards = sorted((target / "data").iterdir())
    assert [p.name for p in shards] == [
        "train-00000-of-00002.parquet",
        "train-00001-of-00002.parquet",
    ]
    assert [p.name for p in (target / "rejects").iterdir()] == ["train-00000-of-00001.parquet"]

    cache = str(offline_hf)
    by_card = load_dataset(str(target), split="train", cache_dir=cache)
    by_dir = load_dataset("parquet", data_dir=str(target), split="train", cache_dir=cache)
    by_files = Dataset.from_parquet([str(p) for p in shards], cache_dir=cache)
    held_out = load_dataset(str(target), "rejects", split="train", cache_dir=cache)
    for loaded in (by_card, by_dir, by_files):
        assert loaded.num_rows == len(records)
        assert all(_same(row, original) for row, original in zip(loaded, records, strict=True))
        # null in the first shard, an object in the second: one struct column throughout
        assert loaded.features["extra"] == by_card.features["extra"]
        assert loaded[3]["extra"] == {"words": 4} and loaded[0]["extra"] is None
    assert [row["reason"] for row in held_out] == ["held out by the test"] * 2
    assert all(_same(row, original) for row, original in zip(held_out, rejects, strict=True))


def test_card_records_graph_roles_models_settings_and_statistics(
    finished_run: Path, tmp_path: Path
) -> None:
    done = export_dataset(finished_run, tmp_path / "d")
    card = done.card.read_text()
    meta = _front_matter(card)
    assert "license" not in meta and "synthetic" in meta["tags"]
    configs = {c["config_name"]: c for c in meta["configs"]}
    assert configs["default"]["data_files"] == [{"split": "train", "path": "data/train-*"}]
    assert configs["rejects"]["data_files"] == [{"split": "train", "path": "rejects/train-*"}]
    infos = {i["config_name"]: i for i in meta["dataset_info"]}
    assert infos["default"]["splits"][0]["num_examples"] == 4
    assert infos["rejects"]["splits"][0]["num_examples"] == 2
    body = card.split("---\n", 2)[2]
    models = {m for r in _lines(finished_run) for m in r["models"].values()}
    assert models == {"default"}
    assert "| sentiment | `default` | `default` (6) |" in body  # configured, answered by
    assert "```mermaid" in body and "label" in body
    assert "| threshold | `0.5` |" in body and '| hold_out | `"marked seeds"` |' in body
    assert "| records accepted | 4 |" in body and "| records rejected | 2 |" in body
    assert "| units done / planned | 6 / 6 |" in body
    assert "smallagents run labels --input" in body and "--seed 7" in body
    assert "## Publishing" in body and "push_to_hub" in body


def test_hub_features_match_what_datasets_writes(finished_run: Path, tmp_path: Path) -> None:
    from datasets import Features

    done = export_dataset(finished_run, tmp_path / "d", include_rejects=False)
    assert (tmp_path / "d" / "rejects").exists() is False
    schema = done.tables["default"].schema
    expected = Features.from_arrow_schema(schema)._to_yaml_list()
    assert [field_feature(column) for column in schema] == expected


def test_records_without_a_common_type_become_json_text(tmp_path: Path, offline_hf: Path) -> None:
    from datasets import Dataset

    records = [
        {"id": "a", "score": 3, "meta": None, "empty": {}},
        {"id": "b", "score": "high", "meta": {"k": [1, 2]}},
        {"id": "c", "score": 4.5, "meta": {"k": []}, "late": True},
    ]
    schema, as_json = unified_schema(records)
    assert as_json == ("score", "empty")
    assert str(schema.field("meta").type) == "struct<k: list<item: int64>>"
    table = write_shards(records, tmp_path / "data", config="default", shard_records=1)
    assert len(table.shards) == 3
    loaded = Dataset.from_parquet([str(p) for p in table.shards], cache_dir=str(offline_hf))
    assert [json.loads(v) for v in loaded["score"]] == [3, "high", 4.5]
    assert loaded["meta"] == [None, {"k": [1, 2]}, {"k": []}]
    assert loaded["late"] == [None, None, True]


def test_bad_inputs_are_one_line_errors_naming_the_fix(finished_run: Path, tmp_path: Path) -> None:
    def fails(*args: str) -> str:
        result = runner.invoke(app, ["export", *args])
        assert result.exit_code == 2, result.output
        line = result.output.strip()
        assert "\n" not in line and "Fix:" in line
        return line

    assert "No job output" in fails(str(tmp_path / "nothing.jsonl"), "--to", str(tmp_path / "x"))
    orphan = tmp_path / "orphan.jsonl"
    orphan.write_text('{"id": 1}\n')
    assert "has no job state" in fails(str(orphan), "--to", str(tmp_path / "x"))
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("mine")
    assert "not empty" in fails(str(finished_run), "--to", str(busy))
    with pytest.raises(UsageError, match="below 1"):
        export_dataset(finished_run, tmp_path / "y", shard_records=0)

    # --overwrite replaces only what an export writes
    done = export_dataset(finished_run, busy, overwrite=True)
    assert (busy / "keep.txt").read_text() == "mine" and done.card.exists()


def test_unfinished_or_changed_runs_are_refused(finished_run: Path, tmp_path: Path) -> None:
    copy = tmp_path / "out.jsonl"
    for name in ("out.jsonl", "out.rejects.jsonl", "out.jsonl.state.sqlite"):
        shutil.copy(finished_run.with_name(name), tmp_path / name)
    with copy.open("a") as handle:  # a line the state never committed: a job mid-unit
        handle.write('{"id": "half')
    with pytest.raises(ExportError, match="past its last committed unit"):
        export_dataset(copy, tmp_path / "d")

    # What a job killed between units leaves: the last unit uncommitted, files cut back.
    with sqlite3.connect(tmp_path / "out.jsonl.state.sqlite") as db:
        db.execute("DELETE FROM units WHERE seq = (SELECT MAX(seq) FROM units)")
        output_end, rejects_end = db.execute(
            "SELECT output_end, rejects_end FROM units ORDER BY seq DESC LIMIT 1"
        ).fetchone()
    for path, end in ((copy, output_end), (tmp_path / "out.rejects.jsonl", rejects_end)):
        path.write_bytes(path.read_bytes()[:end])
    with pytest.raises(ExportError, match="unfinished: 5 of 6 units done"):
        export_dataset(copy, tmp_path / "d")
    done = export_dataset(copy, tmp_path / "d", allow_partial=True)
    assert done.tables["default"].rows == len(_lines(finished_run)) - 1  # s5 was last
    assert "| units done / planned | 5 / 6 |" in done.card.read_text()

    copy.write_bytes(copy.read_bytes()[:10])
    with pytest.raises(ExportError, match="shorter"):
        export_dataset(copy, tmp_path / "e")

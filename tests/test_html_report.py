"""``smallagents report`` and ``run --report-html``: the page, its numbers, and a real browser.

The jobs here run the real gra pipeline (graph, free checks, de-duplication,
runner, state) on ``smallagents.testing.ScriptedModel`` stand-ins, so that
each count on the page is known in advance; ``tests/test_gra.py`` runs the real
models. The browser test drives the system's Chromium (Debian's ``chromium``
package) with Playwright, and is skipped with the reason when either is missing.
"""

from __future__ import annotations

import dataclasses
import html
import json
import shutil
import sqlite3
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from typer.testing import CliRunner

from smallagents.cli import app
from smallagents.content import content_dir
from smallagents.jobs.html_report import (
    JobFiles,
    collect,
    reason_category,
    render,
    write_html_report,
)
from smallagents.jobs.runner import run_job
from smallagents.jobs.settings import JobOptions
from smallagents.registry import load_module

pytest.importorskip("plotly", reason="the HTML report needs plotly (pip install plotly)")

from test_gra import Killed, Scripted, adjudication, review, scripted_models

runner = CliRunner()
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SEEDS = [
    {"id": f"s{i:02d}", "instruction": f"How do I grow plant number {i} well?"} for i in range(12)
]
HOSTILE = "Wrong </script><script>window.__pwned = 1</script> <b>bold</b>"


@pytest.fixture(scope="module")
def gra() -> ModuleType:
    return load_module(content_dir("graphs") / "gra")[0]


def generate(text: str) -> dict[str, str]:
    number = int(text.split("plant number ")[1].split()[0])
    if number % 4 == 0:  # s00, s04, s08: statements, rejected by a free check
        return {"instruction": f"Plant number {number} likes the sun.", "response": "Yes."}
    herb = "abcdefghijkl"[number]
    return {
        "instruction": f"Which soil suits herb {herb} best?",
        "response": f"Sandy soil {number}.",
    }


def first_review(text: str) -> dict[str, Any]:
    # Reviewer 1 rejects herbs b and f (s01, s05): a split, which the adjudicator rejects.
    return review(3, False, HOSTILE) if ("herb b" in text or "herb f" in text) else review(8, True)


def run_scripted(gra: ModuleType, folder: Path, kill_at: str | None = None) -> Path:
    (folder / "in.jsonl").write_text("".join(json.dumps(s) + "\n" for s in SEEDS))
    models = scripted_models(
        generated=generate, reviews=(first_review, review(7, True)), decision=adjudication("reject")
    )
    output = folder / "data.jsonl"
    run_job(
        Scripted(
            gra.build_pipeline(
                gra.GraConfig(
                    review="score", reviewers=2, reviewer_models=("default", "gemma-270m")
                )
            ),
            models,
            kill_at=kill_at,
        ),
        JobOptions(input=str(folder / "in.jsonl"), output=output),
    )
    return output


@pytest.fixture(scope="module")
def job(gra: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_scripted(gra, tmp_path_factory.mktemp("job"))


def test_reason_categories() -> None:
    assert reason_category("free check: the instruction is a statement") == "free check"
    assert reason_category("the reviewers rejected it (scores 2, 3)") == "the reviewers rejected it"
    assert reason_category("near duplicate (similarity 0.81) of record s1") == "near duplicate"
    assert reason_category("duplicate instruction of seed s2") == "duplicate instruction"
    assert reason_category("unresolved (schema_failure): ...") == "unresolved"
    assert reason_category("") == "no reason given"


def test_the_numbers_on_the_page(job: Path) -> None:
    data = collect(JobFiles.of(job))
    agg = data.aggregates
    assert (agg.accepted, agg.rejected) == (7, 5)
    assert agg.reasons == {"free check": 3, "the adjudicator rejected it": 2}
    assert agg.checks == {"not_a_request": 3}
    assert agg.outcomes == {
        "kept: the reviewers accepted it": 7,
        "rejected: free check": 3,
        "rejected: the adjudicator rejected it": 2,
    }
    assert agg.disagreements == {"the reviewers split on accepting it": 2}
    assert agg.scores["gra_reviewer_1"] == {8: 7, 3: 2}
    assert agg.scores["gra_reviewer_2"] == {7: 9}
    # 9 records were reviewed; the reviewers agree on 7, reviewer 1 with the decision on all 9.
    assert agg.both[("gra_reviewer_1", "gra_reviewer_2")] == 9
    assert agg.agree[("gra_reviewer_1", "gra_reviewer_2")] == 7
    assert agg.agree[("final decision", "gra_reviewer_1")] == 9
    assert agg.calls["gra_generator"] == 12 and agg.calls["gra_adjudicator"] == 2
    assert agg.timed and [n for _, n, _ in agg.timeline] == list(range(1, 13))
    assert data.summary["units"] == {"total": 12, "done": 12}
    assert len(data.rows) == 12 and data.held_back == {"accepted": 0, "rejected": 0}
    fewer = collect(JobFiles.of(job), max_rows=2)
    assert len(fewer.rows) == 4 and fewer.held_back == {"accepted": 5, "rejected": 3}


def test_the_page_is_self_contained(job: Path) -> None:
    page = render(collect(JobFiles.of(job)))
    assert "<script src" not in page and "<link" not in page  # nothing loaded from elsewhere
    # (plotly.js names a CDN for map outlines, which these plots never fetch: the browser
    # test checks that the page requests nothing but itself.)
    assert page.count('class="plot"') == 9 and "nothing to show in this job" in page  # escalations
    assert HOSTILE not in page and "\\u003c/script\\u003e" in page  # record text stays data
    assert "state</td><td><code>finished</code>" in page
    assert "<code>gra_reviewer_1: 0 of 9, gra_reviewer_2: 0 of 9</code>" in page


def test_a_running_job(gra: ModuleType, tmp_path: Path) -> None:
    # The job stopped when unit s06 started: six units committed, and a half-written
    # line past the committed length that the page must not show.
    with pytest.raises(Killed):
        run_scripted(gra, tmp_path, kill_at="s06")
    output = tmp_path / "data.jsonl"
    with output.open("a") as handle:
        handle.write('{"id": "s06", "instruction": "half a li')
    data = collect(JobFiles.of(output))
    assert data.summary["units"] == {"total": 12, "done": 6}
    assert data.aggregates.accepted + data.aggregates.rejected == 6
    assert "running or stopped: 6 of 12 units" in render(data)


def test_the_state_is_only_read(job: Path) -> None:
    state = JobFiles.of(job).state
    before = state.read_bytes()
    write_html_report(job, job.with_name("page.html"))
    assert state.read_bytes() == before
    with sqlite3.connect(state) as db:  # still a sound state
        assert db.execute("SELECT COUNT(*) FROM units").fetchone() == (12,)


def test_no_job_is_a_one_line_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", str(tmp_path / "nothing.jsonl")])
    assert result.exit_code == 2
    assert "No job output at" in result.output and "Fix:" in result.output


def test_the_report_command_and_run_report_html(tmp_path: Path, job: Path) -> None:
    result = runner.invoke(app, ["report", str(job), "--to", str(tmp_path / "r.html")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "r.html").read_text().startswith("<!DOCTYPE html>")
    # `run --report-html`: a curation job whose one pair fails a free check (no model runs).
    (tmp_path / "in.jsonl").write_text(
        '{"id": "a", "instruction": "Rice is a grain.", "response": "Yes."}\n'
    )
    page = tmp_path / "run.html"
    result = runner.invoke(
        app,
        [
            "run", "gra-curate", "--input", str(tmp_path / "in.jsonl"),
            "--output", str(tmp_path / "out.jsonl"), "--quiet", "--report-html", str(page),
            "--set", "checks=not_a_request",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    text = page.read_text()
    assert "free check: the instruction is a statement" in text
    # The pipeline settings, as the job ran them.
    assert html.escape('"checks": ["not_a_request"]') in text


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium: apt-get install chromium")
def test_in_a_real_browser(job: Path, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    page_path = write_html_report(job, tmp_path / "report.html")
    problems: list[str] = []
    requests: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.on(
                "console",
                lambda m: problems.append(f"{m.type}: {m.text}") if m.type == "error" else None,
            )
            page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(page_path.as_uri())
            page.wait_for_function(
                "[...document.querySelectorAll('.plot')]"
                ".every(p => p.querySelector('svg.main-svg'))",
                timeout=30_000,
            )
            svgs = page.evaluate(
                "[...document.querySelectorAll('.plot')]"
                ".map(p => p.querySelectorAll('svg.main-svg g.trace, svg.main-svg g.hm').length)"
            )
            assert len(svgs) == 9 and all(count > 0 for count in svgs), svgs  # drawn, not empty
            count = page.locator("#shown-count")
            assert count.text_content() == "12 of 12 records shown"
            page.locator("#filter").press_sequentially("wrong BOLD")  # words, any case
            assert count.text_content() == "2 of 12 records shown"  # s01 and s05's reviews
            page.locator("#filter").fill("")
            page.locator("#filter").press_sequentially("herb f ")
            page.locator("#filter").press_sequentially("sandy 5")
            assert count.text_content() == "1 of 12 records shown"
            visible = page.locator("#records tr.record:not([hidden])")
            assert visible.count() == 1 and "s05" in visible.inner_text()
            visible.click()  # the reviews open under the row
            assert HOSTILE in page.locator("#records tr.details:not([hidden])").inner_text()
            page.locator("#filter").fill("")
            page.select_option("#status-filter", "rejected")
            assert count.text_content() == "5 of 12 records shown"
            assert page.evaluate("window.__pwned") is None  # the record's script never ran
        finally:
            browser.close()
    assert problems == []
    assert all(url.startswith("file:") for url in requests), requests


def test_any_pipeline_output_and_no_state(tmp_path: Path) -> None:
    # A role job's records (no reviews, checks or models in gra's shape) and no state file.
    output = tmp_path / "labels.jsonl"
    output.write_text(
        '{"id": "a", "output": "positive", "reviews": "n/a", "checks": "x", "models": 3}\n'
        '{"id": "b", "output": "negative"}\n'
    )
    (tmp_path / "labels.rejects.jsonl").write_text('{"id": "c", "reason": "unresolved (x): y"}\n')
    data = collect(JobFiles.of(output))
    assert (data.aggregates.accepted, data.aggregates.rejected) == (2, 1)
    assert data.aggregates.reasons == {"unresolved": 1} and not data.aggregates.scores
    assert [row["instruction"] for row in data.rows] == ["positive", "negative", ""]
    page = render(data)
    assert page.count("nothing to show in this job") == 8  # only outcomes and reasons plotted


def test_without_plotly_the_run_stops_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "plotly.graph_objects", None)  # import fails
    (tmp_path / "in.jsonl").write_text('{"instruction": "Rice is a grain.", "response": "Yes."}\n')
    result = runner.invoke(
        app,
        [
            "run", "gra-curate", "--input", str(tmp_path / "in.jsonl"), "--output",
            str(tmp_path / "out.jsonl"), "--quiet", "--report-html", str(tmp_path / "r.html"),
        ],
    )  # fmt: skip
    assert result.exit_code == 2 and "needs plotly" in result.output
    assert "pip install 'smallagents[report]'" in result.output
    assert not (tmp_path / "out.jsonl").exists()


def test_a_large_job_stays_a_small_page(tmp_path: Path) -> None:
    """20,000 committed units: the plots thin their series, the table keeps --max-rows."""
    from smallagents.jobs.html_report import Thinned
    from smallagents.jobs.state import JobState

    units = 20_000
    output = tmp_path / "big.jsonl"
    lines, ends, end = [], [], 0
    for index in range(units):
        line = json.dumps({"id": f"u{index}", "instruction": f"Question {index}?",
                           "response": "An answer.", "verdict": "accept"}) + "\n"  # fmt: skip
        lines.append(line)
        end += len(line.encode())
        ends.append(end)
    output.write_text("".join(lines))
    JobState(JobFiles.of(output).state).close()  # the schema, as a job creates it
    call = {"role": "writer", "status": "ok", "seconds": 0.5, "samples": 1, "red_flags": 0,
            "escalated": False, "escalation_reason": None, "prompt_tokens": 10,
            "completion_tokens": 5, "cost": 0.0}  # fmt: skip
    with sqlite3.connect(JobFiles.of(output).state) as db:
        db.executemany(
            "INSERT INTO units (id, output_end, rejects_end, stats) VALUES (?, ?, 0, ?)",
            [
                (
                    f"u{i}",
                    ends[i],
                    json.dumps(
                        {"kept": 1, "rejected": 0, "roles": [call], "finished_at": 1000.0 + i}
                    ),
                )
                for i in range(units)
            ],
        )
    data = collect(JobFiles.of(output), max_rows=100)
    agg = data.aggregates
    assert agg.accepted == units and agg.calls["writer"] == units
    assert len(agg.timeline) <= 2 * 2000 and len(agg.latency["writer"]) <= 2 * 2000
    assert agg.last_point == (1000.0 + units - 1, units, units)
    assert len(data.rows) == 100 and data.held_back["accepted"] == units - 100
    page = render(data)
    assert len(page) < 6_000_000  # plotly.js is 4.8 MB of it
    series = Thinned(limit=3)
    for value in range(20):
        series.offer(value)
    assert list(series) == [0, 4, 8, 12, 16] and series.step == 4


def scored_pipeline(gra: ModuleType) -> Any:
    """gra with the 1-10 review on the two embedded models, which the scripted models answer
    (whatever the default review method is)."""
    names = {item.name for item in dataclasses.fields(gra.GraConfig)}
    method = {"review": "score"} if "review" in names else {}
    return gra.build_pipeline(
        gra.GraConfig(**method, reviewers=2, reviewer_models=("default", "gemma-270m"))
    )


def test_a_parquet_job(gra: ModuleType, tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(s) + "\n" for s in SEEDS[:4]))
    models = scripted_models(generated=generate, reviews=(first_review, review(7, True)))
    output = tmp_path / "data.parquet"
    run_job(
        Scripted(scored_pipeline(gra), models),
        JobOptions(input=str(tmp_path / "in.jsonl"), output=output),
    )
    data = collect(JobFiles.of(output))  # read from the job's JSONL journal
    assert (data.aggregates.accepted, data.aggregates.rejected) == (2, 2)
    assert write_html_report(output).name == "data.parquet.report.html"

"""``smallagents report OUTPUT``: one self-contained HTML page about a job, finished or running.

The page shows what the JSON report counts and what it cannot: acceptance and the
reasons for rejection, each reviewer's scores, how often reviewers agree with each
other and with the final decision, why the adjudicator was asked, escalations and
their reasons, latency and tokens per role, throughput over time, and a table of
the accepted and rejected records with their reviews that a filter box narrows.

Everything comes from the job's own files, read without writing to them: the
output (or the Parquet journal) and the rejects up to the lengths the job state has
committed, and the per-unit stats in the state (``OUTPUT.state.sqlite``, opened
read-only), so a report on a running job shows every unit committed so far and no
half-written line. Aggregates are computed in one pass over all records; the table
holds at most ``max_rows`` of each kind (the page says when it holds fewer).

Plots are Plotly figures with plotly.js inlined once in the page (about 4.8 MB), so
the page works offline and loads nothing from elsewhere; it needs ``plotly``
(``pip install 'smallagents[report]'``).
"""

from __future__ import annotations

from pathlib import Path

from smallagents.jobs.html_report._aggregate import (
    MAX_ROWS,
    Aggregates,
    ReportData,
    Thinned,
    collect,
    outcome,
    reason_category,
    table_row,
)
from smallagents.jobs.html_report._figures import require_plotly
from smallagents.jobs.html_report._page import render
from smallagents.jobs.html_report._read import JobFiles, Units, read_records, read_state
from smallagents.jobs.state import write_text_whole

__all__ = [
    "MAX_ROWS",
    "Aggregates",
    "JobFiles",
    "ReportData",
    "Thinned",
    "Units",
    "collect",
    "outcome",
    "read_records",
    "read_state",
    "reason_category",
    "render",
    "require_plotly",
    "table_row",
    "write_html_report",
]


def write_html_report(
    output: Path,
    target: Path | None = None,
    *,
    rejects: Path | None = None,
    state: Path | None = None,
    max_rows: int = MAX_ROWS,
) -> Path:
    """Write the page for the job whose ``--output`` is ``output``; returns its path.

    ``target`` defaults to ``OUTPUT.report.html`` beside the output. The page is
    written whole or not at all.

    Raises:
        UsageError: no job at ``output``, plotly missing, or the page cannot be written.
    """
    require_plotly()
    files = JobFiles.of(output, rejects=rejects, state=state)
    target = target or output.with_name(output.name + ".report.html")
    page = render(collect(files, max_rows=max_rows))
    write_text_whole(
        target, page, what="the HTML report", fix="free disk space or choose another path."
    )
    return target

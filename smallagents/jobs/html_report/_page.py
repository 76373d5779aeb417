"""The page: one self-contained HTML document with its style, plotly.js, figures and records."""

from __future__ import annotations

import datetime
import html
import json
from typing import Any

from smallagents.jobs.html_report._aggregate import MAX_ROWS, ReportData
from smallagents.jobs.html_report._figures import build_figures, require_plotly


def _json_for_script(value: Any) -> str:
    """JSON that a ``<script>`` element holds safely (no ``</script>`` can end it early)."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
.figures { display: grid; grid-template-columns: repeat(auto-fit, minmax(460px, 1fr)); gap: 1rem; }
.figure { border: 1px solid #ddd; border-radius: 6px; padding: .5rem; }
.figure h3 { font-size: .95rem; margin: .2rem .4rem; }
.none { color: #777; font-style: italic; margin: .6rem .4rem; }
table.summary td { padding: .15rem .8rem .15rem 0; }
#records { border-collapse: collapse; width: 100%; font-size: .85rem; }
#records th, #records td { border-bottom: 1px solid #e3e3e3; padding: .3rem; text-align: left;
  vertical-align: top; }
#records tr.record { cursor: pointer; } #records tr.record:hover { background: #f5f8ff; }
tr.details td { background: #fafafa; } tr.details pre { white-space: pre-wrap; margin: 0; }
.accepted { color: #1a7f37; } .rejected { color: #b42318; }
.controls { margin: .6rem 0; display: flex; gap: .8rem; align-items: center; }
#filter { width: 28rem; padding: .3rem; }
code { background: #f3f3f3; padding: 0 .2rem; }
"""

_SCRIPT = r"""
(function () {
  const rows = JSON.parse(document.getElementById("records-data").textContent);
  const body = document.querySelector("#records tbody");
  const filter = document.getElementById("filter");
  const status = document.getElementById("status-filter");
  const count = document.getElementById("shown-count");
  function cell(tr, text, cls) {
    const td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    tr.appendChild(td);
  }
  const built = rows.map(function (row) {
    const tr = document.createElement("tr");
    tr.className = "record";
    cell(tr, row.status, row.status);
    cell(tr, row.id);
    cell(tr, row.instruction);
    cell(tr, row.response);
    cell(tr, row.verdict);
    cell(tr, row.scores);
    cell(tr, row.reason || row.checks);
    const details = document.createElement("tr");
    details.className = "details";
    details.hidden = true;
    const td = document.createElement("td");
    td.colSpan = 7;
    const pre = document.createElement("pre");
    pre.textContent = JSON.stringify(
      {reviews: row.reviews, models: row.models, fields: row.fields}, null, 2);
    td.appendChild(pre);
    details.appendChild(td);
    tr.addEventListener("click", function () { details.hidden = !details.hidden; });
    body.appendChild(tr);
    body.appendChild(details);
    const text = [row.id, row.instruction, row.response, row.verdict, row.reason, row.checks,
      row.scores, JSON.stringify(row.reviews)].join(" ").toLowerCase();
    return {row: row, tr: tr, details: details, text: text};
  });
  function apply() {
    const words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    for (const item of built) {
      const visible = (status.value === "all" || item.row.status === status.value) &&
        words.every(function (word) { return item.text.includes(word); });
      item.tr.hidden = !visible;
      if (!visible) item.details.hidden = true;
      shown += visible ? 1 : 0;
    }
    count.textContent = shown + " of " + built.length + " records shown";
  }
  filter.addEventListener("input", apply);
  status.addEventListener("change", apply);
  apply();
})();
"""


def render(data: ReportData) -> str:
    """The whole page: one HTML document with plotly.js, the figures and the records inline."""
    require_plotly()
    from plotly.offline import get_plotlyjs

    summary = data.summary
    rates = summary["rates"]
    done, total = summary["units"]["done"], summary["units"]["total"]
    state = (
        "finished" if total and done >= total else f"running or stopped: {done} of {total} units"
    )
    note = data.note
    figures_html = []
    for div_id, title, figure in build_figures(data):
        if figure is None:
            inner = '<p class="none">nothing to show in this job</p>'
        else:
            inner = figure.to_html(
                full_html=False, include_plotlyjs=False, div_id=div_id,
                config={"displaylogo": False, "responsive": True},
            )  # fmt: skip
            inner = f'<div class="plot" data-title="{html.escape(title)}">{inner}</div>'
        figures_html.append(f'<div class="figure"><h3>{html.escape(title)}</h3>{inner}</div>')

    def pct(value: float | None) -> str:
        return "-" if value is None else f"{100 * value:.1f}%"

    facts = [
        ("pipeline", summary["pipeline"]),
        ("state", state),
        ("records accepted", str(summary["records"]["accepted"])),
        ("records rejected", str(summary["records"]["rejected"])),
        ("acceptance", pct(rates["acceptance"])),
        ("adjudicated", pct(rates.get("adjudication"))),
        ("duplicates removed", str(rates.get("duplicates_removed"))),
        ("escalation (share of calls)", pct(rates["escalation"])),
        ("schema validity", pct(rates["schema_validity"])),
        ("tokens (prompt / completion)", f"{summary['tokens']['prompt']} / "
         f"{summary['tokens']['completion']}"),
        ("model time, all runs", f"{summary['seconds']['model_time_all_runs']:.1f} s"),
        ("command", str(note.get("command", "-"))),
        ("started (latest run)", str(note.get("started", "-"))),
        ("smallagents", str(note.get("smallagents_version", "-"))),
    ]  # fmt: skip
    agg = data.aggregates
    if agg.scores:
        facts.append(
            (
                "reviews that contradict themselves (accept at 3 or below, reject at 8 or above)",
                ", ".join(
                    f"{name}: {agg.contradictions[name]} of {sum(agg.scores[name].values())}"
                    for name in agg.reviewers
                    if name in agg.scores
                ),
            )
        )
    settings = (note.get("pipeline") or {}).get("settings")
    if settings:
        facts.append(("pipeline settings", json.dumps(settings)))
    facts_html = "".join(
        f"<tr><td>{html.escape(k)}</td><td><code>{html.escape(v)}</code></td></tr>"
        for k, v in facts
    )
    held = [f"{n} {kind}" for kind, n in data.held_back.items() if n]
    held_html = (
        f'<p class="none">The table holds the first {MAX_ROWS} records of each kind; '
        f"{' and '.join(held)} more are counted in the plots only.</p>"
        if held
        else ""
    )
    generated = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    title = f"smallagents report: {summary['pipeline']} ({data.files.output.name})"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{html.escape(title)}</title>
<style>{_STYLE}</style>
<script>{get_plotlyjs()}</script>
</head><body>
<h1>{html.escape(title)}</h1>
<p>Generated {generated} from <code>{html.escape(str(data.files.output))}</code>.</p>
<table class="summary">{facts_html}</table>
<h2>Plots</h2>
<div class="figures">{"".join(figures_html)}</div>
<h2>Records</h2>
{held_html}
<div class="controls">
<input id="filter" type="search"
 placeholder="Filter: words that must all appear (id, text, reason, reviews)">
<select id="status-filter"><option value="all">all</option>
<option value="accepted">accepted</option><option value="rejected">rejected</option></select>
<span id="shown-count"></span>
</div>
<table id="records"><thead><tr><th>status</th><th>id</th><th>instruction</th><th>response</th>
<th>verdict</th><th>scores</th><th>reason / checks</th></tr></thead><tbody></tbody></table>
<script type="application/json" id="records-data">{_json_for_script(data.rows)}</script>
<script>{_SCRIPT}</script>
</body></html>
"""

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

import contextlib
import datetime
import html
import json
import re
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

from smallagents.errors import UsageError
from smallagents.jobs.report import build_report
from smallagents.jobs.runner import JobOptions
from smallagents.jobs.state import write_text_whole

MAX_ROWS = 2000
"""Records of each kind (accepted, rejected) the table holds by default."""
_TEXT_LIMIT = 2000
"""Characters of one text field the table keeps."""
_POINTS = 2000
"""At most about this many points per plotted series (every k-th beyond that)."""


def require_plotly() -> Any:
    try:
        import plotly.graph_objects as go
    except ImportError:
        raise UsageError(
            "The HTML report needs plotly, which is not installed.",
            fix="pip install 'smallagents[report]' (or pip install plotly).",
        ) from None
    return go


# --- reading the job --------------------------------------------------------------------------


@dataclass
class JobFiles:
    """Where a job's files are, as ``smallagents run`` names them."""

    output: Path
    rejects: Path
    state: Path
    journal: Path

    @classmethod
    def of(
        cls, output: Path, *, rejects: Path | None = None, state: Path | None = None
    ) -> JobFiles:
        options = JobOptions(input="-", output=output, rejects=rejects, state=state)
        return cls(output, options.rejects_path, options.state_path, options.journal_path)


@dataclass
class Units:
    """What the job state says at one moment: how many units are committed, the file
    lengths after the last of them, and the run's note; :meth:`stats` streams their stats."""

    path: Path | None = None
    count: int = 0
    last_seq: int = 0
    output_end: int | None = None
    rejects_end: int | None = None
    note: dict[str, Any] = field(default_factory=dict)

    def stats(self) -> Iterator[dict[str, Any]]:
        """Each committed unit's stats, in commit order, up to the moment this was read
        (a running job commits more meanwhile; those are left for the next report)."""
        if self.path is None or not self.count:
            return
        with _reading(self.path) as db:
            rows = db.execute(
                "SELECT stats FROM units WHERE seq <= ? ORDER BY seq", (self.last_seq,)
            )
            for (stats,) in rows:
                yield json.loads(stats)


@contextlib.contextmanager
def _reading(path: Path) -> Iterator[sqlite3.Connection]:
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as error:
        raise UsageError(
            f"Cannot read the job state {path}: {error}.", fix="pass --state with the job's state."
        ) from None
    try:
        yield db
    except sqlite3.Error as error:
        raise UsageError(
            f"{path} is not a smallagents job state: {error}.",
            fix="pass --state with the state of the job that wrote the output.",
        ) from None
    finally:
        db.close()


def read_state(path: Path) -> Units:
    """The job state at ``path``, read-only (``Units()`` when there is none)."""
    if not path.exists():
        return Units()
    with _reading(path) as db:
        last = db.execute(
            "SELECT seq, output_end, rejects_end FROM units ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        (count,) = db.execute("SELECT COUNT(*) FROM units").fetchone()
        found = db.execute("SELECT value FROM meta WHERE key = 'note:run'").fetchone()
    units = Units(path=path, count=int(count), note=json.loads(found[0]) if found else {})
    units.last_seq, units.output_end, units.rejects_end = (
        (int(last[0]), int(last[1]), int(last[2])) if last else (0, 0, 0)
    )
    return units


def read_records(path: Path, end: int | None) -> Iterator[dict[str, Any]]:
    """The records of a JSONL file up to byte ``end`` (``None``: the whole file)."""
    if not path.exists():
        return
    offset = 0
    with path.open("rb") as handle:  # line by line: a report never holds the whole file
        for line in handle:
            offset += len(line)
            if end is not None and offset > end:  # past what the state has committed
                return
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError:  # a line still being written (no state to cut it)
                continue


# --- aggregating --------------------------------------------------------------------------


def reason_category(reason: str) -> str:
    """A reject reason without its particulars: what a chart can count."""
    if reason.startswith("free check: "):
        return "free check"
    for prefix in ("duplicate instruction", "near duplicate", "exact duplicate", "unresolved"):
        if reason.startswith(prefix):
            return prefix
    text = re.sub(r"\s*\([^)]*\)", "", reason)  # "(scores 2, 3)", "(similarity 0.8)"
    return text.split(":", 1)[0].strip() or "no reason given"


class Thinned(list):  # type: ignore[type-arg]
    """A series that keeps every k-th value, doubling k whenever it holds 2 x ``limit``
    values, so that a million points become at most about ``limit`` to ``2 x limit``."""

    def __init__(self, limit: int = _POINTS) -> None:
        super().__init__()
        self.limit, self.step, self.seen = limit, 1, 0

    def offer(self, value: Any) -> None:
        self.seen += 1
        if (self.seen - 1) % self.step == 0:
            self.append(value)
            if len(self) >= 2 * self.limit:
                del self[1::2]
                self.step *= 2


@dataclass
class Aggregates:
    """Everything the plots show, summed in one pass over the records and the unit stats."""

    accepted: int = 0
    rejected: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    """Where records went: kept by whom (and how), or rejected."""
    reasons: Counter[str] = field(default_factory=Counter)
    checks: Counter[str] = field(default_factory=Counter)
    disagreements: Counter[str] = field(default_factory=Counter)
    scores: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    contradictions: Counter[str] = field(default_factory=Counter)
    agree: Counter[tuple[str, str]] = field(default_factory=Counter)
    both: Counter[tuple[str, str]] = field(default_factory=Counter)
    reviewers: list[str] = field(default_factory=list)
    escalations: Counter[tuple[str, str]] = field(default_factory=Counter)
    latency: dict[str, Thinned] = field(default_factory=lambda: defaultdict(Thinned))
    calls: Counter[str] = field(default_factory=Counter)
    tokens: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    timeline: Thinned = field(default_factory=Thinned)
    """(seconds since the first unit, units done, records kept) per committed unit."""
    kept_so_far: int = 0
    last_point: tuple[float, int, int] | None = None
    timed: bool = False
    """Whether the timeline is wall-clock time (else: model time summed over units)."""

    def add_record(self, record: Mapping[str, Any], kept: bool) -> None:
        if kept:
            self.accepted += 1
        else:
            self.rejected += 1
            self.reasons[reason_category(str(record.get("reason", "")))] += 1
        self.outcomes[outcome(record, kept)] += 1
        for check in _strings(record.get("checks")):
            self.checks[check] += 1
        if record.get("disagreement"):
            self.disagreements[str(record["disagreement"]).split(" from ")[0]] += 1
        votes: dict[str, bool] = {}
        for review in _reviews(record):
            name = str(review.get("reviewer", "reviewer"))
            if name not in self.reviewers:
                self.reviewers.append(name)
            score, accept = review.get("score"), bool(review.get("accept"))
            if isinstance(score, bool) or not isinstance(score, int):
                continue
            self.scores[name][score] += 1
            if (accept and score <= 3) or (not accept and score >= 8):
                self.contradictions[name] += 1
            votes[name] = accept
        if votes:
            votes["final decision"] = kept
            for left, right in combinations(sorted(votes), 2):
                self.both[(left, right)] += 1
                self.agree[(left, right)] += votes[left] == votes[right]

    def add_unit(self, stats: Mapping[str, Any], index: int, model_seconds: float) -> None:
        for call in stats.get("roles", []):
            role = call["role"]
            self.calls[role] += 1
            self.tokens[role]["prompt"] += call.get("prompt_tokens", 0)
            self.tokens[role]["completion"] += call.get("completion_tokens", 0)
            self.latency[role].offer(float(call.get("seconds", 0.0)))
            reason = call.get("escalation_reason")
            if reason and (call.get("escalated") or call.get("status") == "unresolved"):
                outcome = "escalated" if call.get("escalated") else "unresolved"
                self.escalations[(role, f"{reason} ({outcome})")] += 1
        finished = stats.get("finished_at")
        self.kept_so_far += int(stats.get("kept", 0))
        if isinstance(finished, int | float):
            self.timed = True
        self.last_point = (
            float(finished) if self.timed else model_seconds,
            index,
            self.kept_so_far,
        )
        self.timeline.offer(self.last_point)


def outcome(record: Mapping[str, Any], kept: bool) -> str:
    """Where one record went: ``kept: the adjudicator revised it``, ``rejected: free check`` ..."""
    if not kept:
        return "rejected: " + reason_category(str(record.get("reason", "")))
    verdict = record.get("verdict")
    if verdict == "revise":
        return "kept: the adjudicator revised it"
    if verdict == "accept":
        who = "the adjudicator" if record.get("adjudicated") else "the reviewers"
        return f"kept: {who} accepted it"
    return "kept"


def _reviews(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A record's reviews, if it has any in gra's shape (a list of objects)."""
    reviews = record.get("reviews")
    if not isinstance(reviews, list):
        return []
    return [review for review in reviews if isinstance(review, dict)]


def _strings(value: Any) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else []


def _clip(value: Any) -> Any:
    if isinstance(value, str) and len(value) > _TEXT_LIMIT:
        return value[:_TEXT_LIMIT] + " …"
    return value


def table_row(record: Mapping[str, Any], kept: bool) -> dict[str, Any]:
    """What the table shows of one record (long texts clipped)."""
    reviews = [{key: _clip(value) for key, value in review.items()} for review in _reviews(record)]
    shown = {
        key: _clip(value)
        for key, value in record.items()
        if key not in ("reviews", "models") and not isinstance(value, dict | list)
    }
    return {
        "status": "accepted" if kept else "rejected",
        "id": str(record.get("id", "")),
        "instruction": _clip(str(record.get("instruction", record.get("output", "")))),
        "response": _clip(str(record.get("response", ""))),
        "verdict": str(record.get("verdict", "")),
        "reason": _clip(str(record.get("reason", ""))),
        "scores": ", ".join(str(r["score"]) for r in reviews if "score" in r),
        "checks": ", ".join(_strings(record.get("checks"))),
        "reviews": reviews,
        "models": record.get("models") if isinstance(record.get("models"), dict) else {},
        "fields": shown,
    }


@dataclass
class ReportData:
    """A job, read and summed: what :func:`render` turns into a page."""

    files: JobFiles
    summary: dict[str, Any]
    aggregates: Aggregates
    rows: list[dict[str, Any]]
    held_back: dict[str, int]
    note: dict[str, Any]


def collect(files: JobFiles, *, max_rows: int = MAX_ROWS) -> ReportData:
    """Read a job's files and sum what the page shows.

    Raises:
        UsageError: there is neither an output nor a job state at these paths.
    """
    if not files.journal.exists() and not files.state.exists() and not files.output.exists():
        raise UsageError(
            f"No job output at {files.output} (nor its state {files.state}).",
            fix="pass the --output of a `smallagents run` job.",
        )
    units = read_state(files.state)
    aggregates = Aggregates()
    rows: list[dict[str, Any]] = []
    held_back = {"accepted": 0, "rejected": 0}
    for path, end, kept in (
        (files.journal, units.output_end, True),
        (files.rejects, units.rejects_end, False),
    ):
        shown = 0
        for record in read_records(path, end):
            aggregates.add_record(record, kept)
            if shown < max_rows:
                rows.append(table_row(record, kept))
                shown += 1
            else:
                held_back["accepted" if kept else "rejected"] += 1
    model_seconds = 0.0
    for index, stats in enumerate(units.stats(), start=1):
        model_seconds += sum(call.get("seconds", 0.0) for call in stats.get("roles", []))
        aggregates.add_unit(stats, index, model_seconds)
    note = units.note
    summary = build_report(
        pipeline=str((note.get("pipeline") or {}).get("name", "unknown")),
        options=note.get("options") or {},
        units_total=int(note.get("units_total") or units.count),
        stats=units.stats(),
        skipped=[],
        seconds_this_run=0.0,
    )
    return ReportData(files, summary, aggregates, rows, held_back, note)


# --- the page --------------------------------------------------------------------------------


def _figures(data: ReportData) -> list[tuple[str, str, Any]]:
    """``(id, title, figure or None)`` for every plot; ``None``: nothing to show."""
    go = require_plotly()
    agg = data.aggregates
    figures: list[tuple[str, str, Any]] = []

    def bar(counts: Mapping[Any, int], *, horizontal: bool = True, name: str = "") -> Any:
        items = sorted(counts.items(), key=lambda item: (-item[1], str(item[0])))
        labels, values = [str(k) for k, _ in items], [v for _, v in items]
        trace = (
            go.Bar(x=values, y=labels, orientation="h", name=name, text=values)
            if horizontal
            else go.Bar(x=labels, y=values, name=name, text=values)
        )
        figure = go.Figure(trace)
        if horizontal:
            figure.update_yaxes(autorange="reversed")
        return figure

    figures.append(
        ("plot-outcomes", "Where the records went", bar(agg.outcomes) if agg.outcomes else None)
    )
    figures.append(("plot-reasons", "Rejection reasons", bar(agg.reasons) if agg.reasons else None))
    figures.append(("plot-checks", "Free checks failed", bar(agg.checks) if agg.checks else None))
    if agg.scores:
        scores = go.Figure(
            [
                go.Bar(
                    x=list(range(1, 11)),
                    y=[agg.scores[name][score] for score in range(1, 11)],
                    name=name,
                )
                for name in agg.reviewers
                if name in agg.scores
            ]
        )
        scores.update_layout(barmode="group", xaxis={"title": "score", "dtick": 1})
        scores.update_yaxes(title="reviews")
    figures.append(("plot-scores", "Scores per reviewer", scores if agg.scores else None))
    names = [n for n in agg.reviewers if n in agg.scores] + ["final decision"]
    if len(names) > 1 and agg.both:
        matrix = [
            [
                1.0
                if a == b
                else _share(agg.agree[tuple(sorted((a, b)))], agg.both[tuple(sorted((a, b)))])
                for b in names
            ]
            for a in names
        ]
        text = [["" if value is None else f"{value:.2f}" for value in row] for row in matrix]
        agreement = go.Figure(
            go.Heatmap(
                z=matrix, x=names, y=names, text=text, texttemplate="%{text}", zmin=0, zmax=1,
                colorscale="Blues",
            )
        )  # fmt: skip
        agreement.update_yaxes(autorange="reversed")
    figures.append(
        (
            "plot-agreement",
            "Reviewer agreement (share of records with the same accept/reject)",
            agreement if len(names) > 1 and agg.both else None,
        )
    )
    figures.append(
        (
            "plot-adjudicated",
            "Why the adjudicator was asked",
            bar(agg.disagreements) if agg.disagreements else None,
        )
    )
    escalations = Counter({f"{role}: {reason}": n for (role, reason), n in agg.escalations.items()})
    figures.append(
        (
            "plot-escalations",
            "Escalations and their reasons",
            bar(escalations) if escalations else None,
        )
    )
    if agg.latency:
        latency = go.Figure(
            [
                go.Box(y=values, name=role, boxpoints=False)
                for role, values in sorted(agg.latency.items())
            ]
        )
        latency.update_yaxes(title="seconds per call")
        tokens = go.Figure(
            [
                go.Bar(
                    x=sorted(agg.tokens),
                    y=[agg.tokens[role][kind] for role in sorted(agg.tokens)],
                    name=f"{kind} tokens",
                )
                for kind in ("prompt", "completion")
            ]
        )
        tokens.update_layout(barmode="group")
    figures.append(("plot-latency", "Latency per role", latency if agg.latency else None))
    figures.append(("plot-tokens", "Tokens per role", tokens if agg.latency else None))
    if agg.timeline:
        points = list(agg.timeline)
        if agg.last_point is not None and points[-1] != agg.last_point:
            points.append(agg.last_point)  # the line ends at the last committed unit
        start = points[0][0] if agg.timed else 0.0
        x = [(t - start) / 60 for t, _, _ in points]
        throughput = go.Figure(
            [
                go.Scatter(x=x, y=[n for _, n, _ in points], mode="lines", name="units done"),
                go.Scatter(x=x, y=[k for _, _, k in points], mode="lines", name="records kept"),
            ]
        )
        axis = "minutes since the first unit" if agg.timed else "model minutes, summed over units"
        throughput.update_xaxes(title=axis)
    figures.append(
        ("plot-throughput", "Throughput over time", throughput if agg.timeline else None)
    )
    for _, _, figure in figures:
        if figure is not None:
            figure.update_layout(
                height=340, margin={"l": 40, "r": 20, "t": 30, "b": 40}, template="plotly_white"
            )
    return figures


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


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
    for div_id, title, figure in _figures(data):
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

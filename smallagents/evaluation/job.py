"""An evaluation run: how often a role or pipeline is right on labeled records.

An evaluation is a job (``smallagents run``'s runner: workers, Ray, exactly-once
resume) over a labeled set, followed by a report computed from the job's files.
With ``--large SPEC`` a second job answers the same records with every role on
the large model, once per call as the escalation edge's fallback would (no votes,
no fallback), and the report gives, for each confidence signal, the threshold
that reaches the target accuracy with the fewest escalations.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from smallagents.errors import UsageError
from smallagents.evaluation.pipeline import EXPECTED_FIELD, SPLIT_FIELD, EvalPipeline, EvalSpec
from smallagents.evaluation.report import build_eval_report, read_eval_blocks, summary_rows
from smallagents.jobs.launch import launch_job
from smallagents.jobs.state import write_text_whole


def read_labeled(
    path: Path, *, expected_field: str, splits: tuple[str, ...]
) -> list[dict[str, Any]]:
    """The labeled records (JSONL or a JSON array), each with an id, of the chosen splits."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(
            f"Labeled input {path} does not exist.", fix="check the --input path."
        ) from None
    except UnicodeDecodeError:
        raise UsageError(f"Labeled input {path} is not UTF-8.", fix="save it as UTF-8.") from None
    records: list[Any]
    stripped = text.lstrip()
    try:
        if stripped.startswith("["):
            records = json.loads(text)
        else:
            records = [json.loads(line) for line in text.splitlines() if line.strip()]
    except (json.JSONDecodeError, RecursionError) as error:
        raise UsageError(
            f"Labeled input {path} is not JSONL or a JSON array ({error}).",
            fix="write one JSON object per line, each with its expected answer.",
        ) from None
    chosen: list[dict[str, Any]] = []
    for number, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            raise UsageError(
                f"Labeled record {number} of {path} is not a JSON object.",
                fix="write one JSON object per record.",
            )
        if expected_field not in record:
            raise UsageError(
                f"Labeled record {number} of {path} has no {expected_field!r} field.",
                fix=f"give every record its expected answer in {expected_field!r}, "
                "or name the field with --expected-field.",
            )
        if splits and str(record.get(SPLIT_FIELD)) not in splits:
            continue
        chosen.append({"id": record.get("id", f"record-{number}"), **record})
    if not chosen:
        raise UsageError(
            f"{path} holds no labeled records{' of split ' + ','.join(splits) if splits else ''}.",
            fix="check --input and --split.",
        )
    ids = [str(r["id"]) for r in chosen]
    if len(set(ids)) != len(ids):
        duplicate = next(i for i in ids if ids.count(i) > 1)
        raise UsageError(
            f"Labeled records share the id {duplicate!r}.", fix="give every record its own id."
        )
    return chosen


def _write_if_changed(path: Path, records: list[dict[str, Any]]) -> None:
    # The job's input: rewritten only when the labeled set changed, so a resumed
    # evaluation reads the very file it started on.
    text = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in records)
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return
    write_text_whole(
        path, text, what="the evaluation's input copy", fix="free disk space and rerun."
    )


def _rejects_of(output: Path) -> Path:
    return output.with_name(output.stem + ".rejects.jsonl")  # the job's default


def _roles_of(units: dict[str, dict[str, Any]]) -> list[str]:
    return sorted({r["role"] for u in units.values() for r in u["eval"].get("roles") or []})


def run_evaluation(
    name: str,
    *,
    input: Path,
    metric: str = "exact",
    field: list[str] | None = None,
    tolerance: float = 1e-6,
    score_field: str | None = None,
    expected_field: str = EXPECTED_FIELD,
    split: list[str] | None = None,
    output: Path | None = None,
    report: Path | None = None,
    large: str | None = None,
    target: float | None = None,
    model: list[str] | None = None,
    fallback: str | None = None,
    votes: int | None = None,
    config: Path | None = None,
    workers: int | None = None,
    limit: int | None = None,
    seed: int | None = None,
    fresh: bool = False,
    quiet: bool = False,
    roles: list[str] | None = None,
    graphs: list[str] | None = None,
    executor: str = "local",
    address: str | None = None,
) -> dict[str, Any]:
    """Score a role or pipeline on labeled records, as ``smallagents eval`` does.

    The arguments are the command's options. The answers are a job
    (`smallagents.jobs.launch.launch_job`: workers, Ray, exactly-once resume) over a
    copy of the labeled records, each scored against its expected answer; the
    report is computed from the job's files. Prints a summary unless ``quiet``.

    Raises:
        SmallAgentsError: the command's one-line errors (an unknown metric, labeled
            records that cannot be read, and every error of the job).
    """
    spec = EvalSpec(
        metric=metric,
        fields=tuple(field or ()),
        tolerance=tolerance,
        score_field=score_field,
        expected_field=expected_field,
        splits=tuple(split or ()),
    )
    spec.build()  # an unknown metric fails here, before any work
    records = read_labeled(input, expected_field=expected_field, splits=spec.splits)
    output = output or Path(f"{name}.eval.jsonl")
    labeled_copy = output.with_name(output.name + ".input.jsonl")
    _write_if_changed(labeled_copy, records)

    def job(out: Path, extra_models: list[str], *, as_fallback: bool = False) -> dict[str, Any]:
        return launch_job(
            name,
            input=str(labeled_copy),
            output=out,
            model=[*(model or ()), *extra_models],
            # The large model answers as the escalation edge's fallback does: once, at
            # the role's own temperature, with no votes and no fallback of its own.
            fallback=None if as_fallback else fallback,
            votes=1 if as_fallback else votes,
            config=config,
            workers=workers,
            limit=limit,
            seed=seed,
            fresh=fresh,
            quiet=quiet,
            roles=roles,
            graphs=graphs,
            executor=executor,
            address=address,
            wrap=functools.partial(EvalPipeline, spec=spec),
        )

    small_job = job(output, [])
    units = read_eval_blocks(output, _rejects_of(output))
    large_units = None
    if large is not None:
        large_output = output.with_name(
            f"{output.stem}.large-{hashlib.sha256(large.encode()).hexdigest()[:8]}.jsonl"
        )
        overrides = [f"{role}={large}" for role in _roles_of(units)]
        job(large_output, overrides, as_fallback=True)
        large_units = read_eval_blocks(large_output, _rejects_of(large_output))
    result = build_eval_report(
        units, spec=spec.describe(), large=large_units, target=target, job=small_job
    )
    result["name"] = name
    result["input"] = str(input)
    result["large_model"] = large
    if report is not None:
        write_text_whole(
            report,
            json.dumps(result, indent=2, sort_keys=True, default=str) + "\n",
            what="the report",
            fix="choose another --report path and rerun: the answers are kept.",
        )
    if not quiet:
        table = Table(title=f"eval {name} on {input.name} ({spec.metric})")
        table.add_column("figure")
        table.add_column("value", justify="right")
        for label, value in summary_rows(result):
            table.add_row(label, value)
        Console(stderr=True).print(table)
    return result

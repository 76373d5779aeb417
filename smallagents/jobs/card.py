"""The dataset card (README.md) of an exported job: Hub YAML front matter plus a record of the run.

The front matter is what the Hugging Face Hub and ``datasets`` read: ``configs``
(which Parquet files make which config), ``dataset_info`` (features in the Hub's
YAML form, and the split sizes, which ``load_dataset`` checks), ``tags`` and
``size_categories``. No ``license``: only the user knows it (it depends on the
seeds and on the models' licenses), so the card asks for one.

The body records how the data was made: the pipeline and its graph, each role
with its configured model and the models that actually answered (from the
records' ``models`` provenance), the pipeline's thresholds, the run's statistics
(the job report), the command and versions, and how to publish it.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smallagents._version import __version__

if TYPE_CHECKING:
    import pyarrow as pa

    from smallagents.jobs._dataset import FinishedRun, Table

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_./*-]*")
_YAML_WORDS = {"true", "false", "null", "yes", "no", "on", "off", "y", "n"}


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        if _PLAIN.fullmatch(value) and value.lower() not in _YAML_WORDS:
            return value
        return json.dumps(value)  # a JSON string is a valid YAML double-quoted scalar
    return json.dumps(value)


def to_yaml(value: Any, indent: int = 0) -> list[str]:
    """Block-style YAML lines for JSON-like data (the small subset a card needs)."""
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(item, Mapping | list) and item:
                lines.append(f"{pad}{_scalar(key)}:")
                lines.extend(to_yaml(item, indent + 2 if isinstance(item, Mapping) else indent))
            else:
                empty = "{}" if isinstance(item, Mapping) else "[]"
                shown = empty if isinstance(item, Mapping | list) else _scalar(item)
                lines.append(f"{pad}{_scalar(key)}: {shown}")
    elif isinstance(value, list):
        for item in value:
            nested = to_yaml(item, indent + 2)
            if isinstance(item, Mapping | list) and item:
                lines.append(f"{pad}- {nested[0].lstrip()}")
                lines.extend(nested[1:])
            else:
                lines.append(f"{pad}- {nested[0].lstrip() if nested else _scalar(item)}")
    else:
        lines.append(f"{pad}{_scalar(value)}")
    return lines


_DTYPES = {"double": "float64", "float": "float32", "halffloat": "float16"}


def feature(kind: pa.DataType) -> Any:
    """An Arrow type in the Hub's YAML feature form (as ``datasets.Features`` writes it)."""
    import pyarrow as pa

    if pa.types.is_struct(kind):
        return [field_feature(kind.field(i)) for i in range(kind.num_fields)]
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return {"list": feature(kind.value_type)}
    return _DTYPES.get(str(kind), str(kind))


def field_feature(column: pa.Field) -> dict[str, Any]:
    """One named field: ``{name, dtype}``, ``{name, struct: [...]}`` or ``{name, list: ...}``."""
    import pyarrow as pa

    shown = feature(column.type)
    if pa.types.is_struct(column.type):
        return {"name": column.name, "struct": shown}
    if isinstance(shown, dict):
        return {"name": column.name, **shown}
    return {"name": column.name, "dtype": shown}


def size_category(rows: int) -> str:
    """The Hub's ``size_categories`` value for ``rows`` records."""
    bounds = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K")]
    bounds += [(1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M")]
    for bound, name in bounds:
        if rows < bound:
            return name
    return "n>10M"


def front_matter(tables: Mapping[str, Table], target: Path) -> dict[str, Any]:
    """The card's YAML metadata: configs, features, split sizes, tags."""
    configs = []
    infos = []
    for name, table in tables.items():
        folder = table.shards[0].parent.relative_to(target).as_posix()
        config: dict[str, Any] = {"config_name": name}
        if name == "default":
            config["default"] = True
        config["data_files"] = [{"split": "train", "path": f"{folder}/train-*"}]
        configs.append(config)
        infos.append(
            {
                "config_name": name,
                "features": [field_feature(column) for column in table.schema],
                "splits": [
                    {"name": "train", "num_bytes": table.nbytes, "num_examples": table.rows}
                ],
                "dataset_size": table.nbytes,
            }
        )
    return {
        "tags": ["synthetic", "smallagents"],
        "size_categories": [size_category(tables["default"].rows)],
        "configs": configs,
        "dataset_info": infos,
    }


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _role_rows(run: FinishedRun) -> list[str]:
    """One table row per role: configured model and the models that answered."""
    pipeline = run.note.get("pipeline", {})
    configured: dict[str, dict[str, Any]] = dict(pipeline.get("roles", {}))
    answered: dict[str, Counter[str]] = {}
    for record in run.records + run.rejects:
        for role, model in (record.get("models") or {}).items():
            answered.setdefault(role, Counter())[str(model)] += 1
    settings = run.description.get("settings") or {}
    overrides = settings.get("roles") or {}
    defaults = settings.get("defaults") or {}
    roles_report = run.report["roles"]
    rows = []
    for role in sorted(set(configured) | set(answered) | set(roles_report)):
        spec = configured.get(role, {})
        override = overrides.get(role) or {}
        model = override.get("model") or defaults.get("model") or spec.get("model")
        fallback = override.get("fallback") or defaults.get("fallback") or spec.get("fallback")
        votes = override.get("votes") or defaults.get("votes") or spec.get("votes")
        used = ", ".join(f"`{m}` ({n})" for m, n in answered.get(role, Counter()).most_common())
        figures = roles_report.get(role, {})
        rows.append(
            f"| {role} | {f'`{model}`' if model else '-'} | {used or '-'} | {_fmt(votes)} "
            f"| {_fmt(spec.get('temperature'))} | {f'`{fallback}`' if fallback else '-'} "
            f"| {_fmt(figures.get('calls'))} | {_fmt(figures.get('escalated'))} "
            f"| {_fmt(figures.get('p50_seconds'))} | {_fmt(figures.get('p95_seconds'))} |"
        )
    return rows


def _statistics(report: Mapping[str, Any]) -> list[str]:
    rates = report["rates"]
    rows = [
        ("units done / planned", f"{report['units']['done']} / {report['units']['total']}"),
        ("records accepted", report["records"]["accepted"]),
        ("records rejected", report["records"]["rejected"]),
        ("acceptance rate", rates["acceptance"]),
        ("adjudication rate", rates["adjudication"]),
        ("escalation rate (role calls)", rates["escalation"]),
        ("schema validity (samples)", rates["schema_validity"]),
        ("duplicates removed", rates["duplicates_removed"]),
        ("prompt tokens", report["tokens"]["prompt"]),
        ("completion tokens", report["tokens"]["completion"]),
        ("model seconds (all runs)", report["seconds"]["model_time_all_runs"]),
        ("cost (fallback calls)", report["cost"]["total"]),
    ]
    return ["| figure | value |", "| --- | ---: |"] + [
        f"| {label} | {_fmt(value)} |" for label, value in rows
    ]


def _publishing(target: Path) -> str:
    return (
        "This folder is a complete Hub dataset repository; smallagents does not upload "
        "anything. To publish it, log in with your own tooling (`hf auth login`) and "
        f"upload the folder, e.g. `hf upload USER/NAME {target} . --repo-type dataset`, or "
        "from Python `huggingface_hub.HfApi().upload_folder(folder_path=...,"
        ' repo_id="USER/NAME", repo_type="dataset")`; or load it with `datasets` and call '
        '`push_to_hub("USER/NAME")`. Set a `license:` in the front matter first, and check '
        "that the seeds' and the models' licenses allow publishing the generated records."
    )


def dataset_card(run: FinishedRun, tables: Mapping[str, Table], target: Path) -> str:
    """The whole README.md of an export."""
    note = run.note
    pipeline = note.get("pipeline", {})
    name = str(run.description.get("pipeline", pipeline.get("name", "unknown")))
    default = tables["default"]
    rejects = tables.get("rejects")
    lines = ["---", *to_yaml(front_matter(tables, target)), "---", ""]
    lines += [f"# {name}: synthetic records made with smallagents", ""]
    summary = (
        f"{default.rows} records from the smallagents {pipeline.get('kind', 'pipeline')} "
        f"`{name}` over `{run.description.get('input', 'unknown')}`, in "
        f"{len(default.shards)} Parquet shard(s)"
    )
    if rejects is not None:
        summary += f"; the {rejects.rows} rejected records, each with its `reason`, are the "
        summary += "`rejects` config"
    lines += [summary + ".", ""]
    lines += [
        "## Loading",
        "",
        "```python",
        "from datasets import load_dataset, Dataset",
        "",
        f'folder = "{target}"  # or "USER/NAME" once it is on the Hub',
        'records = load_dataset(folder, split="train")  # reads this card\'s configs',
        'records = load_dataset("parquet", data_dir=folder, split="train")',
        'records = Dataset.from_parquet(f"{folder}/data/*.parquet")',
    ]
    if rejects is not None:
        lines.append('rejects = load_dataset(folder, "rejects", split="train")')
    lines += ["```", ""]
    lines += ["## Pipeline", ""]
    if pipeline.get("nodes"):
        lines += [f"Graph `{name}`, nodes: {', '.join(pipeline['nodes'])}.", ""]
    if pipeline.get("mermaid"):
        lines += ["```mermaid", pipeline["mermaid"].rstrip(), "```", ""]
    if not pipeline:
        lines += [
            "The job state holds no pipeline note (the job was run by an older smallagents).",
            "",
        ]
    lines += ["## Roles and models", ""]
    lines += [
        "`model`: the configured model; `answered by`: the models in the records' "
        "`models` provenance, with the number of records.",
        "",
        "| role | model | answered by | votes (k) | temperature | fallback | calls | escalated"
        " | p50 s | p95 s |",
        "| --- | --- | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: |",
        *_role_rows(run),
        "",
    ]
    lines += ["## Thresholds and settings", ""]
    settings = pipeline.get("settings") or run.description.get("pipeline_settings") or {}
    if settings:
        lines += ["| setting | value |", "| --- | --- |"]
        lines += [f"| {key} | `{json.dumps(value)}` |" for key, value in settings.items()]
    else:
        lines.append(f"`{name}` has no settings of its own.")
    lines += ["", "## Run statistics", "", *_statistics(run.report), ""]
    lines += ["## How it was made", ""]
    if note.get("command"):
        lines += ["```bash", note["command"], "```", ""]
    lines += [
        f"- job seed: {run.description.get('seed', '-')}; samples per seed: "
        f"{run.description.get('samples_per_seed', '-')}; limit: "
        f"{_fmt(run.description.get('limit'))}",
        f"- smallagents version: {note.get('smallagents_version', 'unknown')} (run), "
        f"{__version__} (export); run started {note.get('started', 'unknown')} UTC",
        f"- the job's configuration: `{json.dumps(run.description, sort_keys=True)}`",
        "",
        "## Fields",
        "",
    ]
    for config, table in tables.items():
        columns = ", ".join(f"`{column.name}` ({column.type})" for column in table.schema)
        lines.append(f"- `{config}`: {columns}")
        if table.json_columns:
            listed = ", ".join(f"`{c}`" for c in table.json_columns)
            lines.append(f"  - stored as JSON text (their values have no common type): {listed}")
    lines += ["", "## Publishing", "", _publishing(target), ""]
    lines += ["## License", "", "Not set: choose one and add `license:` to the front matter.", ""]
    return "\n".join(lines)

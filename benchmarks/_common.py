"""What the benchmarks share: their list, arguments, model loading, timing, a JSON result."""

from __future__ import annotations

import argparse
import ast
import importlib
import json
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from smallagents.models.llama import LlamaModel
    from smallagents.models.pool import ModelPool

ROOT = Path(__file__).resolve().parents[1]
"""The source tree (the benchmarks read its examples/ and write benchmarks/data/)."""

BENCHMARKS = (
    "decode",
    "votes",
    "runtime",
    "prefix_cache",
    "jobs",
    "load",
    "faults",
    "ray_overhead",
    "function_calling",
    "bfcl_caller",
    "gra_curate",
    "judge_pairs",
    "bfcl_sets",
)
"""Every module of this package that ``python -m benchmarks NAME`` runs, in listing order."""


@dataclass(frozen=True)
class Result:
    """What a benchmark's ``run(args)`` returns: its figures and whether its checks held.

    Attributes:
        data: the figures, JSON values (what ``--json PATH`` writes).
        ok: ``False`` makes the command exit with status 1 (a target or check failed).
    """

    data: Any
    ok: bool = True


def summary(name: str) -> str:
    """The first line of benchmark ``name``'s module docstring, read without importing it."""
    source = (Path(__file__).parent / f"{name}.py").read_text(encoding="utf-8")
    doc = ast.get_docstring(ast.parse(source)) or ""
    return doc.splitlines()[0] if doc else ""


def listing() -> str:
    """One line per benchmark: its name and what it measures or builds."""
    width = max(len(name) for name in BENCHMARKS)
    return "\n".join(f"  {name:<{width}}  {summary(name)}" for name in BENCHMARKS)


def models_argument(parser: argparse.ArgumentParser, default: str) -> None:
    """Add ``--models A,B``: the model specs a benchmark measures, comma-separated."""
    parser.add_argument("--models", default=default, help="comma-separated model specs")


def model_specs(text: str) -> list[str]:
    """The specs of a ``--models`` value."""
    return text.split(",")


def load_llama(spec: str, pool: ModelPool | None = None, **options: Any) -> LlamaModel:
    """An in-process llama.cpp model: from ``pool`` (with ``options``) or the shared loader.

    Raises:
        SystemExit: ``spec`` names no in-process model (an endpoint, say).
    """
    from smallagents import load_model
    from smallagents.models.llama import LlamaModel

    model = pool.load(spec, **options) if pool is not None else load_model(spec)
    if not isinstance(model, LlamaModel):
        raise SystemExit(f"{spec!r} is not an in-process GGUF model: this benchmark needs one.")
    return model


@dataclass
class Stopwatch:
    """Wall seconds of a block (``seconds`` is set when the block ends)."""

    seconds: float = 0.0


@contextmanager
def stopwatch() -> Iterator[Stopwatch]:
    """Time a block with ``time.perf_counter``."""
    watch = Stopwatch()
    started = time.perf_counter()
    try:
        yield watch
    finally:
        watch.seconds = time.perf_counter() - started


def parser_for(name: str, module: ModuleType) -> argparse.ArgumentParser:
    """The benchmark's own arguments plus the shared ``--json PATH``."""
    parser = argparse.ArgumentParser(
        prog=f"python -m benchmarks {name}",
        description=(module.__doc__ or "").strip(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = getattr(module, "add_arguments", None)
    if add is not None:
        add(parser)
    parser.add_argument(
        "--json",
        type=Path,
        metavar="PATH",
        help="also write the result here as JSON: benchmark, arguments, seconds, result",
    )
    return parser


def write_json(path: Path, name: str, args: argparse.Namespace, seconds: float, data: Any) -> None:
    """Write one benchmark's result as one JSON object."""
    arguments = {
        key: str(value) if isinstance(value, Path) else value
        for key, value in vars(args).items()
        if key != "json"
    }
    document = {
        "benchmark": name,
        "arguments": arguments,
        "seconds": round(seconds, 3),
        "result": data,
    }
    path.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m benchmarks NAME [options]``; no name (or ``--help``): the listing."""
    argv = list(sys.argv[1:] if argv is None else argv)
    usage = "usage: python -m benchmarks NAME [options]  (NAME --help for its options)\n\n"
    if not argv or argv[0] in ("-h", "--help"):
        print(usage + "benchmarks:\n" + listing())
        return 0 if argv else 2
    name = argv[0].replace("-", "_")
    if name not in BENCHMARKS:
        print(f"no benchmark named {argv[0]!r}\n\n{usage}benchmarks:\n{listing()}", file=sys.stderr)
        return 2
    module = importlib.import_module(f"benchmarks.{name}")
    args = parser_for(name, module).parse_args(argv[1:])
    with stopwatch() as watch:
        result = module.run(args)
    if not isinstance(result, Result):
        result = Result(result)
    if args.json is not None:
        write_json(args.json, name, args, watch.seconds, result.data)
    return 0 if result.ok else 1

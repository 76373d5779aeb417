"""What a job records about itself for later: the pipeline, its roles and models, the command.

The runner keeps this note in the job state (``JobState.note("run", ...)``) at the
start of every run, so that ``smallagents export`` can write a dataset card long
after the job's process, its environment variables and its ``--roles`` files are
gone. Everything here is JSON and holds no secret: model specs are kept as given
(API keys come from the environment, never from a spec).
"""

from __future__ import annotations

import datetime
import shlex
from collections.abc import Mapping
from typing import Any

from smallagents._version import __version__
from smallagents.role import Role

NOTE_KEY = "run"
"""The job-state note this module writes."""


def describe_role(role: Role) -> dict[str, Any]:
    """A role's settings as they decide its records: model, sampling, voting, fallback."""
    spec = role.spec
    return {
        "model": spec.model,
        "output": spec.schema.name,
        "temperature": spec.temperature,
        "max_tokens": spec.max_tokens,
        "votes": spec.voting.k,
        "fallback": spec.escalation.fallback,
    }


def describe_pipeline(pipeline: Any) -> dict[str, Any]:
    """The pipeline's kind, roles (with their own models) and settings, and its graph."""
    graph = getattr(pipeline, "graph", None)
    role = getattr(pipeline, "role", None)
    described: dict[str, Any] = {"name": pipeline.name, "kind": "pipeline", "roles": {}}
    if graph is not None:
        described["kind"] = "graph"
        described["nodes"] = list(graph.nodes)
        described["roles"] = {found.name: describe_role(found) for found in graph.roles.values()}
        with graph.compile() as compiled:
            described["mermaid"] = compiled.mermaid()
    elif isinstance(role, Role):
        described["kind"] = "role"
        described["roles"] = {role.name: describe_role(role)}
    settings = getattr(pipeline, "settings", None)
    if settings:
        described["settings"] = dict(settings)
    return described


def command_line(name: str, options: Mapping[str, Any]) -> str:
    """A ``smallagents run`` command that gives the same records as ``options``.

    Rebuilt from the job's options rather than ``sys.argv``, so that a job started
    from Python gets one too. Model overrides from a ``--config`` file appear as
    ``--model``/``--fallback``/``--votes`` options.
    """
    words = ["smallagents", "run", name, "--input", str(options["input"])]
    words += ["--output", str(options["output"])]
    if options.get("samples_per_seed", 1) != 1:
        words += ["--samples-per-seed", str(options["samples_per_seed"])]
    if options.get("limit") is not None:
        words += ["--limit", str(options["limit"])]
    if options.get("seed", 0) != 0:
        words += ["--seed", str(options["seed"])]
    settings = options.get("settings") or {}
    for role, values in sorted((settings.get("roles") or {}).items()):
        if values.get("model"):
            words += ["--model", f"{role}={values['model']}"]
    defaults = settings.get("defaults") or {}
    if defaults.get("fallback"):
        words += ["--fallback", str(defaults["fallback"])]
    if defaults.get("votes"):
        words += ["--votes", str(defaults["votes"])]
    return shlex.join(words)


def describe_run(pipeline: Any, options: Mapping[str, Any], units_total: int) -> dict[str, Any]:
    """The note a run leaves in its job state."""
    return {
        "smallagents_version": __version__,
        "started": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "units_total": units_total,
        "pipeline": describe_pipeline(pipeline),
        "options": {
            key: options.get(key)
            for key in ("input", "output", "samples_per_seed", "limit", "seed", "workers")
        }
        | {"settings": options.get("settings") or {}},
        "command": command_line(pipeline.name, options),
    }

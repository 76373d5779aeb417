"""``smallagents.toml``: model aliases, per-role models, fallback, voting, escalation budget,
and how patiently to call endpoints.

Every key is checked: a key this file does not know is an error that names it,
rather than a setting silently ignored. Command-line flags override the file.
See ``examples/smallagents.toml`` for a commented example.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smallagents.errors import ConfigError
from smallagents.run import EscalationBudget, RoleSettings

_SECTIONS = {"models", "roles", "run", "escalation", "endpoints", "pipelines"}
_RUN_KEYS = {"model", "fallback", "votes", "workers", "seed", "samples_per_seed", "on_error"}
_ROLE_KEYS = {"model", "fallback", "votes"}
_ESCALATION_KEYS = {"max_count", "max_share"}
# OpenAIModel's settings that a job may tune, and what each must be.
_ENDPOINT_KEYS: dict[str, tuple[type, ...]] = {
    "timeout": (int, float),
    "deadline": (int, float),
    "retries": (int,),
    "backoff": (int, float),
    "breaker_threshold": (int,),
    "breaker_cooldown": (int, float),
    "structured_output": (str,),
}
_STRUCTURED_MODES = {"auto", "json_schema", "json_object", "none"}


@dataclass
class JobConfig:
    """The parsed configuration (defaults when there is no file)."""

    aliases: dict[str, str] = field(default_factory=dict)
    roles: dict[str, RoleSettings] = field(default_factory=dict)
    defaults: RoleSettings = field(default_factory=RoleSettings)
    run: dict[str, Any] = field(default_factory=dict)
    budget: EscalationBudget = field(default_factory=EscalationBudget)
    endpoints: dict[str, dict[str, Any]] = field(default_factory=dict)
    """``openai:`` model settings by base URL (``default``: every endpoint)."""
    pipelines: dict[str, dict[str, Any]] = field(default_factory=dict)
    """``[pipelines.NAME]`` tables by pipeline name, each checked by its pipeline's own
    ``configure`` (e.g. gra's reviewers and thresholds; see ``graphs/gra.py``)."""


def _unknown(where: str, keys: set[str], known: set[str], path: Path) -> None:
    extra = sorted(keys - known)
    if extra:
        raise ConfigError(
            f"{path}: unknown key(s) {', '.join(extra)} in {where}.",
            fix=f"use only {', '.join(sorted(known))} there (see examples/smallagents.toml).",
        )


def load_config(path: Path | None) -> JobConfig:
    """Parse ``path`` (``None``: no file, defaults)."""
    if path is None:
        return JobConfig()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"Config file {path} does not exist.", fix="check --config.") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path} is not valid TOML: {error}.", fix="fix the syntax.") from None
    _unknown("the top level", set(data), _SECTIONS, path)
    config = JobConfig()
    models = data.get("models", {})
    if not all(isinstance(value, str) for value in models.values()):
        raise ConfigError(
            f"{path}: [models] values must be model specs (strings).", fix="quote them."
        )
    config.aliases = dict(models)
    run = data.get("run", {})
    _unknown("[run]", set(run), _RUN_KEYS, path)
    config.run = {k: v for k, v in run.items() if k not in _ROLE_KEYS}
    config.defaults = RoleSettings(run.get("model"), run.get("fallback"), run.get("votes"))
    for name, settings in data.get("roles", {}).items():
        if not isinstance(settings, dict):
            raise ConfigError(f"{path}: [roles.{name}] must be a table.", fix="see the example.")
        _unknown(f"[roles.{name}]", set(settings), _ROLE_KEYS, path)
        config.roles[name] = RoleSettings(
            settings.get("model"), settings.get("fallback"), settings.get("votes")
        )
    escalation = data.get("escalation", {})
    _unknown("[escalation]", set(escalation), _ESCALATION_KEYS, path)
    config.budget = EscalationBudget(escalation.get("max_count"), escalation.get("max_share"))
    config.endpoints = _endpoints(data.get("endpoints", {}), path)
    config.pipelines = _pipelines(data.get("pipelines", {}), path)
    return config


def _endpoints(tables: Any, path: Path) -> dict[str, dict[str, Any]]:
    """``[endpoints.default]`` and ``[endpoints."BASE_URL"]`` tables, checked."""
    endpoints: dict[str, dict[str, Any]] = {}
    for url, settings in tables.items():
        where = f"[endpoints.{url!r}]" if url != "default" else "[endpoints.default]"
        if not isinstance(settings, dict):
            raise ConfigError(f"{path}: {where} must be a table.", fix="see the example.")
        _unknown(where, set(settings), set(_ENDPOINT_KEYS), path)
        for key, value in settings.items():
            # bool is an int to Python; a "retries = true" is still a mistake.
            if key == "structured_output":
                if value not in _STRUCTURED_MODES:
                    raise ConfigError(
                        f"{path}: {where} structured_output = {value!r} is not a mode.",
                        fix=f"use one of {', '.join(sorted(_STRUCTURED_MODES))}.",
                    )
                continue
            if isinstance(value, bool) or not isinstance(value, _ENDPOINT_KEYS[key]):
                raise ConfigError(
                    f"{path}: {where} {key} = {value!r} is not a number.",
                    fix=f"write {key} as a number, e.g. {key} = 30.",
                )
            if value < 0 or (value == 0 and key not in ("retries", "backoff")):
                raise ConfigError(
                    f"{path}: {where} {key} = {value!r} must be positive.",
                    fix=f"give {key} a value above 0.",
                )
        endpoints[url if url == "default" else url.rstrip("/")] = dict(settings)
    return endpoints


def _pipelines(tables: Any, path: Path) -> dict[str, dict[str, Any]]:
    """``[pipelines.NAME]`` tables; their keys are checked by the pipeline itself."""
    if not isinstance(tables, dict) or not all(isinstance(t, dict) for t in tables.values()):
        raise ConfigError(
            f"{path}: [pipelines] must hold one table per pipeline, e.g. [pipelines.gra].",
            fix="write the settings under [pipelines.NAME] (see examples/smallagents.toml).",
        )
    return {name: dict(table) for name, table in tables.items()}

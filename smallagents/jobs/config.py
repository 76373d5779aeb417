"""``smallagents.toml``: model aliases, per-role models, fallback, voting, escalation budget,
how patiently to call endpoints, MCP servers and pipeline settings.

Every key is checked, name and type: a key this file does not know, or a value of
the wrong type, is a one-line error that names it, rather than a setting silently
ignored or a traceback at the first record. The file is one layer of a job's
options (`JobConfig.options`): the command line overrides it and it overrides the
defaults, in one merge (`smallagents.jobs.settings`). See
``examples/smallagents.toml`` for a commented example.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from smallagents.errors import ConfigError
from smallagents.jobs.settings import JobOptions
from smallagents.run import EscalationBudget, RoleSettings
from smallagents.tools import server_configs

_SECTIONS = {"models", "roles", "run", "escalation", "endpoints", "pipelines", "mcp"}


def _shown(value: Any) -> str:
    """A value as TOML writes it (true, "abc"), not as Python does (True, 'abc')."""
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return str(value)


def _integer(minimum: int | None) -> Callable[[str, Any], str | None]:
    def check(key: str, value: Any) -> str | None:
        # bool is an int to Python; "votes = true" is still a mistake.
        if isinstance(value, bool) or not isinstance(value, int):
            example = max(minimum if minimum is not None else 0, 1)
            return f"{key} = {_shown(value)} is not a whole number; write e.g. {key} = {example}"
        if minimum is not None and value < minimum:
            shown = _shown(value)
            return f"{key} = {shown} is below {minimum}; give {key} a value of {minimum} or more"
        return None

    return check


def _text(key: str, value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return f'{key} = {_shown(value)} is not a model spec; quote it, e.g. {key} = "default"'
    return None


def _choice(*choices: str) -> Callable[[str, Any], str | None]:
    def check(key: str, value: Any) -> str | None:
        if value not in choices:
            return f"{key} = {_shown(value)} is not one of {', '.join(map(repr, choices))}"
        return None

    return check


def _megabytes(key: str, value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return f"{key} = {_shown(value)} is not a number of megabytes; write e.g. {key} = 256"
    return None


_RUN_CHECKS: dict[str, Callable[[str, Any], str | None]] = {
    "model": _text,
    "fallback": _text,
    "votes": _integer(1),
    "workers": _integer(1),
    "seed": _integer(None),
    "samples_per_seed": _integer(1),
    "on_error": _choice("skip", "stop"),
    "prefix_cache_mb": _megabytes,
}
_RUN_KEYS = set(_RUN_CHECKS)


def _number_share(key: str, value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        return f"{key} = {_shown(value)} is not a share between 0 and 1; write e.g. {key} = 0.2"
    return None


_ROLE_CHECKS = {
    **{key: _RUN_CHECKS[key] for key in ("model", "fallback", "votes")},
    # The escalation threshold `smallagents eval --large` measures for a role.
    "min_confidence": _number_share,
}
_ROLE_KEYS = set(_ROLE_CHECKS)


_ESCALATION_CHECKS = {"max_count": _integer(0), "max_share": _number_share}
_ESCALATION_KEYS = set(_ESCALATION_CHECKS)
# OpenAIModel's settings that a job may tune, and what each must be.
_ENDPOINT_KEYS: dict[str, tuple[type, ...]] = {
    "timeout": (int, float),
    "deadline": (int, float),
    "retries": (int,),
    "backoff": (int, float),
    "breaker_threshold": (int,),
    "breaker_cooldown": (int, float),
    "structured_output": (str,),
    "max_concurrency": (int,),
}
_STRUCTURED_MODES = {"auto", "json_schema", "json_object", "none"}


@dataclass
class JobConfig:
    """The parsed configuration (defaults when there is no file)."""

    aliases: dict[str, str] = field(default_factory=dict)
    roles: dict[str, RoleSettings] = field(default_factory=dict)
    run: JobOptions = field(default_factory=JobOptions)
    """``[run]``: only what the file gives (``None`` elsewhere)."""
    budget: EscalationBudget = field(default_factory=EscalationBudget)
    endpoints: dict[str, dict[str, Any]] = field(default_factory=dict)
    """``openai:`` model settings by base URL (``default``: every endpoint)."""
    pipelines: dict[str, dict[str, Any]] = field(default_factory=dict)
    """``[pipelines.NAME]`` tables by pipeline name, each checked by the pipeline when it is
    built (e.g. gra's reviewers and thresholds; see ``graphs/gra.py``)."""
    mcp_servers: list[Any] = field(default_factory=list)
    """``[mcp.servers.NAME]``: MCP servers whose tools the tool agent and the caller
    get (`smallagents.tools.McpServerConfig`, checked by `smallagents.tools.server_configs`)."""

    def options(self) -> JobOptions:
        """The file's layer of a job's options: ``[run]``, ``[roles]``, ``[models]``,
        ``[escalation]`` and ``[endpoints]`` (MCP servers merge with ``--mcp`` by name
        in `smallagents.tools.server_configs`; pipeline settings are the pipeline's)."""
        return JobOptions(
            roles=self.roles,
            aliases=self.aliases,
            budget=self.budget,
            endpoints=self.endpoints,
        ).over(self.run)


def _unknown(where: str, keys: set[str], known: set[str], path: Path) -> None:
    extra = sorted(keys - known)
    if extra:
        raise ConfigError(
            f"{path}: unknown key(s) {', '.join(extra)} in {where}.",
            fix=f"use only {', '.join(sorted(known))} there (see examples/smallagents.toml).",
        )


def _table(data: dict[str, Any], name: str, path: Path) -> dict[str, Any]:
    table = data.get(name, {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: {name} must be a table ([{name}]).", fix="see the example.")
    return table


def _checked(
    where: str,
    table: dict[str, Any],
    checks: dict[str, Callable[[str, Any], str | None]],
    path: Path,
) -> dict[str, Any]:
    _unknown(where, set(table), set(checks), path)
    for key, value in table.items():
        problem = checks[key](key, value)
        if problem is not None:
            what, _, fix = problem.partition("; ")
            raise ConfigError(
                f"{path}: {where} {what}.",
                fix=f"{fix}." if fix else "see examples/smallagents.toml.",
            )
    return table


def load_config(path: Path | None) -> JobConfig:
    """Parse ``path`` (``None``: no file, defaults)."""
    if path is None:
        return JobConfig()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"Config file {path} does not exist.", fix="check --config.") from None
    except IsADirectoryError:
        raise ConfigError(f"Config file {path} is a folder.", fix="check --config.") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path} is not valid TOML: {error}.", fix="fix the syntax.") from None
    _unknown("the top level", set(data), _SECTIONS, path)
    config = JobConfig()
    models = _table(data, "models", path)
    if not all(isinstance(value, str) for value in models.values()):
        raise ConfigError(
            f"{path}: [models] values must be model specs (strings).", fix="quote them."
        )
    config.aliases = dict(models)
    config.run = JobOptions(**_checked("[run]", _table(data, "run", path), _RUN_CHECKS, path))
    for name, settings in _table(data, "roles", path).items():
        if not isinstance(settings, dict):
            raise ConfigError(f"{path}: [roles.{name}] must be a table.", fix="see the example.")
        _checked(f"[roles.{name}]", settings, _ROLE_CHECKS, path)
        config.roles[name] = RoleSettings(
            settings.get("model"),
            settings.get("fallback"),
            settings.get("votes"),
            settings.get("min_confidence"),
        )
    escalation = _checked(
        "[escalation]", _table(data, "escalation", path), _ESCALATION_CHECKS, path
    )
    config.budget = EscalationBudget(escalation.get("max_count"), escalation.get("max_share"))
    config.endpoints = _endpoints(_table(data, "endpoints", path), path)
    config.pipelines = _pipelines(data.get("pipelines", {}), path)
    config.mcp_servers = _mcp_servers(_table(data, "mcp", path), path)
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
            number = cast(float, value)  # an int or a float: checked just above
            if number < 0 or (number == 0 and key not in ("retries", "backoff")):
                raise ConfigError(
                    f"{path}: {where} {key} = {value!r} must be positive.",
                    fix=f"give {key} a value above 0.",
                )
        endpoints[url if url == "default" else url.rstrip("/")] = dict(settings)
    return endpoints


def _mcp_servers(table: dict[str, Any], path: Path) -> list[Any]:
    """``[mcp.servers.NAME]`` tables (see `smallagents.tools.server_configs`)."""
    _unknown("[mcp]", set(table), {"servers"}, path)
    servers = table.get("servers", {})
    if not isinstance(servers, dict):
        raise ConfigError(f"{path}: [mcp.servers] must be a table.", fix="see the README.")
    return server_configs(servers, source=str(path))


def _pipelines(tables: Any, path: Path) -> dict[str, dict[str, Any]]:
    """``[pipelines.NAME]`` tables; their keys are checked by the pipeline itself."""
    if not isinstance(tables, dict) or not all(isinstance(t, dict) for t in tables.values()):
        raise ConfigError(
            f"{path}: [pipelines] must hold one table per pipeline, e.g. [pipelines.gra].",
            fix="write the settings under [pipelines.NAME] (see examples/smallagents.toml).",
        )
    return {name: dict(table) for name, table in tables.items()}

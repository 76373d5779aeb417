"""``smallagents.toml``: model aliases, per-role models, fallback, voting, escalation budget.

Every key is checked: a key this file does not know is an error that names it,
rather than a setting silently ignored. Command-line flags override the file.
See ``examples/smallagents.toml`` for a commented example.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smallagents.errors import UsageError
from smallagents.run import EscalationBudget, RoleSettings

_SECTIONS = {"models", "roles", "run", "escalation"}
_RUN_KEYS = {"model", "fallback", "votes", "workers", "seed", "samples_per_seed", "on_error"}
_ROLE_KEYS = {"model", "fallback", "votes"}
_ESCALATION_KEYS = {"max_count", "max_share"}


class ConfigError(UsageError):
    """A configuration file that cannot be used."""

    code = "config"


@dataclass
class JobConfig:
    """The parsed configuration (defaults when there is no file)."""

    aliases: dict[str, str] = field(default_factory=dict)
    roles: dict[str, RoleSettings] = field(default_factory=dict)
    defaults: RoleSettings = field(default_factory=RoleSettings)
    run: dict[str, Any] = field(default_factory=dict)
    budget: EscalationBudget = field(default_factory=EscalationBudget)


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
    return config

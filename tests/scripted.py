"""Scripted models served from a test's pool: the one helper role and graph tests share."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from smallagents import ModelPool
from smallagents.testing import ScriptedModel


def serve(pool: ModelPool, name: str, script: Sequence[Any], **options: Any) -> ScriptedModel:
    """Register a `ScriptedModel` named ``name`` in ``pool`` under the spec ``name``."""
    model = ScriptedModel(script, name=name, **options)
    pool.register(name, model)
    return model

"""smallagents: small local language models that work together.

The public API is what this module exports; ``roles/``, ``graphs/`` and
``schemas/`` are written against it and nothing else.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from smallagents.errors import (
    ContextOverflowError,
    DownloadError,
    EndpointError,
    GenerationError,
    ModelFileError,
    ModelSpecError,
    ModelUnavailableError,
    SchemaError,
    SmallAgentsError,
    StructuredOutputError,
    UsageError,
)
from smallagents.models import Generation, Message, Model, ModelPool, Prompt, load_model
from smallagents.structured import CompiledSchema, compile_schema

try:
    __version__ = version("smallagents")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = [
    "CompiledSchema",
    "ContextOverflowError",
    "DownloadError",
    "EndpointError",
    "Generation",
    "GenerationError",
    "Message",
    "Model",
    "ModelFileError",
    "ModelPool",
    "ModelSpecError",
    "ModelUnavailableError",
    "Prompt",
    "SchemaError",
    "SmallAgentsError",
    "StructuredOutputError",
    "UsageError",
    "__version__",
    "compile_schema",
    "load_model",
]

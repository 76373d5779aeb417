"""Models: load any spec, get a ``Model`` whose ``generate`` returns a ``Generation``."""

from __future__ import annotations

from typing import Any

from smallagents.models.base import Completion, Generation, Message, Model, Prompt
from smallagents.models.pool import ModelPool, thread_pool
from smallagents.models.spec import ModelSpec, parse_spec


def load_model(spec: str | None = None, *, pool: ModelPool | None = None, **options: Any) -> Model:
    """Load the model named by ``spec`` (see ``smallagents.models.spec``).

    Repeated calls in one thread with the same spec and options return the same
    instance. Options go to the backend: ``n_ctx``, ``n_threads``, ``chat_template``
    for GGUF models; ``api_key_env``, ``structured_output``, ``timeout``, ``retries``
    for ``openai:`` endpoints.

    Raises:
        ModelSpecError: the spec names no known kind of model.
        ModelFileError: the GGUF file is missing or is not GGUF.
        DownloadError: an ``hf:`` file cannot be fetched (offline, unknown repo).
    """
    return (pool if pool is not None else thread_pool()).load(spec, **options)


__all__ = [
    "Completion",
    "Generation",
    "Message",
    "Model",
    "ModelPool",
    "ModelSpec",
    "Prompt",
    "load_model",
    "parse_spec",
]

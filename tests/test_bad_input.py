"""Bad input: each case is a one-line error of the right type that names the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from smallagents import SmallAgentsError, load_model
from smallagents.errors import DownloadError, ModelFileError, ModelSpecError, SchemaError


def _assert_one_line_with_fix(error: SmallAgentsError) -> None:
    message = str(error)
    assert "\n" not in message
    assert "Fix:" in message
    assert error.fix


def test_missing_model_file(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="does not exist") as caught:
        load_model(str(tmp_path / "missing.gguf"))
    _assert_one_line_with_fix(caught.value)


def test_file_that_is_not_gguf(tmp_path: Path) -> None:
    fake = tmp_path / "weights.gguf"
    fake.write_bytes(b"PK\x03\x04 definitely a zip file")
    with pytest.raises(ModelFileError, match="not a GGUF file") as caught:
        load_model(str(fake))
    _assert_one_line_with_fix(caught.value)


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="not a file"):
        load_model(str(tmp_path) + "/")


@pytest.mark.parametrize("spec", ["ollama:llama3", "s3://bucket/model.gguf", "gpt-4o", ""])
def test_unknown_spec(spec: str) -> None:
    with pytest.raises(ModelSpecError) as caught:
        load_model(spec)
    _assert_one_line_with_fix(caught.value)
    assert "openai:BASE_URL#MODEL" in str(caught.value)


@pytest.mark.parametrize("spec", ["hf:just-a-repo", "hf:owner/repo", "hf:owner/repo/weights.bin"])
def test_malformed_hf_spec(spec: str) -> None:
    with pytest.raises(ModelSpecError, match=r"hf:OWNER/REPO/FILE\.gguf"):
        load_model(spec)


def test_hf_download_offline_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))  # an empty cache: nothing to fall back on
    with pytest.raises(DownloadError, match="no network connection") as caught:
        load_model("hf:someone/some-model-GGUF/model-Q4_K_M.gguf")
    _assert_one_line_with_fix(caught.value)


def test_hf_download_with_the_hub_unreachable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A refused local port stands in for "no network": no traffic leaves the machine.
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    with pytest.raises(DownloadError) as caught:
        load_model("hf:someone/some-model-GGUF/model-Q4_K_M.gguf")
    _assert_one_line_with_fix(caught.value)


def test_invalid_schema_at_generate_time_is_a_schema_error() -> None:
    model = load_model("default")
    with pytest.raises(SchemaError, match="not a valid JSON Schema") as caught:
        model.generate("hi", schema={"type": "object", "properties": {"a": {"type": 5}}})
    _assert_one_line_with_fix(caught.value)

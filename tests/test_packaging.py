"""The wheel carries roles/, graphs/ and schemas/, and both install kinds find them."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import smallagents
from smallagents.content import content_dir

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("roles", "graphs", "schemas")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(ROOT),
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            "-q",
        ],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("smallagents-*.whl")
    return built


def test_wheel_contains_the_content_folders_and_type_marker(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    for kind in KINDS:
        assert any(name.startswith(f"smallagents/_content/{kind}/") for name in names), kind
    assert "smallagents/_content/schemas/person.json" in names
    assert "smallagents/py.typed" in names
    assert not any(name.startswith(("roles/", "graphs/", "schemas/")) for name in names)


def test_installed_wheel_finds_its_content(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    probe = (
        "import json, smallagents; from smallagents.content import content_dir;"
        "print(json.dumps([smallagents.__file__] + "
        "[str(content_dir(k)) for k in ('roles', 'graphs', 'schemas')]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
    )
    import json

    package_file, *folders = json.loads(result.stdout)
    assert package_file.startswith(str(target))
    for kind, folder in zip(KINDS, folders, strict=True):
        assert folder == str(target / "smallagents" / "_content" / kind)


def test_editable_install_falls_back_to_the_source_folders() -> None:
    assert Path(smallagents.__file__).resolve().parent == ROOT / "smallagents"
    for kind in KINDS:
        assert content_dir(kind) == ROOT / kind


def test_runtime_never_imports_the_content_packages() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "smallagents").rglob("*.py")
        for line in path.read_text().splitlines()
        if line.strip().startswith(
            (
                "import roles",
                "import graphs",
                "import schemas",
                "from roles",
                "from graphs",
                "from schemas",
            )
        )
    ]
    assert offenders == []

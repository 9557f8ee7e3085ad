"""The built wheel ships what an installed harness needs at run time: report templates and the
curated synonym dictionaries (an installed package has no checkout to find them in)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_ships_synonyms_and_templates(tmp_path: Path) -> None:
    # build from a copy: setuptools writes build/ and *.egg-info into the source folder
    src = tmp_path / "src"
    skip = shutil.ignore_patterns("__pycache__", "*.egg-info")
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    for name in ("harness", "synonyms"):
        shutil.copytree(ROOT / name, src / name, symlinks=True, ignore=skip)
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
    subprocess.run([*pip_wheel, "-w", str(tmp_path), str(src)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("harness-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    want = {f"harness/data/synonyms/{p.name}" for p in (ROOT / "synonyms").glob("*.yaml")}
    assert len(want) >= 10 and want <= names
    assert "harness/reporting/templates/report.html.j2" in names


def test_package_finds_the_shipped_synonyms(monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.scoring.synonyms import ENV_VAR, default_synonym_dirs, load_synonyms

    monkeypatch.delenv(ENV_VAR, raising=False)
    (found,) = default_synonym_dirs()
    assert found == Path(__file__).resolve().parents[1] / "harness" / "data" / "synonyms"
    assert len(load_synonyms()) >= 150

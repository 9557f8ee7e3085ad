"""`harness rescore`: score a run's stored predictions again, with today's scoring settings.

Nothing here loads a model: the run folder holds the test records and every system's raw
generations, so a synonym edit costs one scoring pass (seconds), never a new generation.
Those inputs must still be the files the run wrote (their sha256 is in manifest.json), and
scores.json is rebuilt from the manifest's copy of its header, so a damaged or deleted
scores.json never decides which systems are scored.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from harness.errors import HarnessError
from harness.records import read_records
from harness.runs import RunDir, read_manifest, verify_run


def current_scoring(run: RunDir, manifest: dict[str, Any]) -> Any:
    """The scoring block of the suite as it is now: the original suite file, else the run's copy
    (whose relative synonym paths still mean the original file's folder)."""
    from harness.suite import SuiteError, load_scoring_block

    original = manifest.get("suite_path")
    original = Path(original) if isinstance(original, str) and original else None
    for candidate in (original, run.suite_copy):
        if candidate is not None and candidate.is_file():
            try:
                return load_scoring_block(candidate, original.parent if original else None)
            except SuiteError as e:
                raise HarnessError(f"cannot read the run's scoring settings: {e}") from None
    raise HarnessError(
        f"{run.root}: neither the suite file ({original}) nor the run's suite.yaml is there: "
        "nothing says how to score; rerun the suite"
    )


def rescore_run(
    run: RunDir,
    *,
    synonyms: list[Path] | None = None,
    console: Console | None = None,
    warn: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Re-score every system of the run; rewrites scores.json, traces, counts and index.html.

    Refuses a folder whose test records or predictions no longer match its manifest.
    """
    from harness.runner import score_and_report

    verify_run(run, strict=True)
    manifest = read_manifest(run)
    header = manifest.get("scores_header")
    if not isinstance(header, dict) or not isinstance(header.get("order"), list):
        raise HarnessError(
            f"{run.manifest} records no scores header (a run from an older harness); "
            "rerun the suite (`harness run SUITE`)"
        )
    if not run.scores.exists() and warn is not None:
        warn(f"{run.scores} is missing: rebuilding it from manifest.json and the stored predictions")
    missing = [s for s in header["order"] if f"predictions/{s}.jsonl" not in manifest["inputs"]]
    if missing:
        raise HarnessError(f"{run.manifest}: no stored predictions recorded for {', '.join(missing)}")
    scoring = current_scoring(run, manifest)
    if synonyms:
        scoring = scoring.model_copy(update={"synonyms": [Path(s) for s in synonyms]})
    test = read_records(run.test_records).records
    return score_and_report(run, dict(header), scoring, test, console)


def branch_run(run: RunDir, name: str) -> RunDir:
    """A new run folder `name` beside `run` holding its inputs (test records, predictions, losses,
    suite copy) and a manifest that names `run` as its parent; rescoring it leaves `run` as it was.
    """
    import shutil
    import time

    from harness.runs import SAFE_NAME, write_doc

    if not SAFE_NAME.match(name):
        raise HarnessError(
            f"--as {name!r}: expected a run name of 1-64 letters, digits, '_', '.' or '-', starting with a "
            "letter or digit (it names a folder beside the run)"
        )
    new = RunDir(run.root.parent / name)
    if new.root.exists() or new.root.is_symlink():
        raise HarnessError(
            f"--as {name}: {new.root} already exists; choose another name or remove that folder"
        )
    verify_run(run, strict=True)
    manifest = read_manifest(run)
    staging = run.root.parent / f".{name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    for sub in ("data", "predictions", "losses"):
        if (run.root / sub).is_dir():
            shutil.copytree(run.root / sub, staging / sub)
    if run.suite_copy.is_file():
        shutil.copy2(run.suite_copy, staging / run.suite_copy.name)
    parent = {"run_id": run.root.name, "path": str(run.root.resolve())}
    header = {**manifest.get("scores_header", {}), "run_id": name, "parent": parent}
    created = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    write_doc(
        staging / "manifest.json",
        {**manifest, "run_id": name, "parent": parent, "created": created, "scores_header": header},
    )
    staging.rename(new.root)  # whole or not at all: a half-copied run never looks like a run
    return new


def score_changes(
    old: RunDir, new: RunDir, metrics: list[str], *, resamples: int, seed: int
) -> list[dict[str, Any]]:
    """Per system of both runs and per metric: old and new values, Δ and the paired bootstrap's
    95% CI and p-value over their per-sample counts (harness.gate.paired)."""
    from harness.gate import load_counts, paired, run_systems

    rows = []
    before = run_systems(old)
    for system in run_systems(new):
        if system not in before:
            continue
        a, b = load_counts(old, system), load_counts(new, system)
        for metric in metrics:
            rows.append(
                {"system": system, **paired(a, b, metric, "paired_bootstrap", resamples=resamples, seed=seed)}
            )
    return rows

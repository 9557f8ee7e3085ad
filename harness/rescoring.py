"""`harness rescore`: score a run's stored predictions again, with today's scoring settings.

Nothing here loads a model: the run folder holds the test records and every system's raw
generations, so a synonym edit costs one scoring pass (seconds), never a new generation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console

from harness.errors import HarnessError
from harness.records import read_records
from harness.runs import RunDir, read_json


def current_scoring(run: RunDir) -> Any:
    """The scoring block of the suite as it is now: the original suite file, else the run's copy."""
    from harness.suite import SuiteError, load_suite

    manifest = read_json(run.manifest) if run.manifest.is_file() else {}
    for candidate in (manifest.get("suite_path"), run.suite_copy):
        if candidate and Path(candidate).is_file():
            try:
                return load_suite(candidate).scoring
            except SuiteError as e:
                raise HarnessError(f"cannot read the run's scoring settings: {e}") from None
    from harness.scoring.pipeline import ScoringConfig

    stored = (read_json(run.scores).get("scoring") if run.scores.is_file() else None) or {}
    return ScoringConfig.model_validate(stored)


def rescore_run(
    run: RunDir, *, synonyms: list[Path] | None = None, console: Console | None = None
) -> dict[str, Any]:
    """Re-score every system of the run; rewrites scores.json, traces, counts and index.html."""
    from harness.runner import score_and_report

    if not run.test_records.is_file():
        raise HarnessError(f"{run.root}: no data/test.jsonl; this run cannot be rescored")
    scoring = current_scoring(run)
    if synonyms:
        scoring = scoring.model_copy(update={"synonyms": [Path(s) for s in synonyms]})
    test = read_records(run.test_records).records
    scores = read_json(run.scores) if run.scores.is_file() else {"suite": run.root.parent.name}
    scores["order"] = scores.get("order") or run.systems()
    missing = [s for s in scores["order"] if not run.predictions(s).is_file()]
    if missing:
        raise HarnessError(f"{run.root}: no stored predictions for {', '.join(missing)}")
    return score_and_report(run, scores, scoring, test, console)

"""`harness compare`: two systems (of one run or of two runs) on their shared samples.

A system is named `RUN_DIR:SYSTEM`, or `RUN_DIR` alone when the run has one system.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.gate import Counts, load_counts, paired, per_task_rows, run_systems
from harness.runs import RunDir, open_run
from harness.scoring.catalogue import HEADLINE, STAT_METRICS


def parse_ref(ref: str) -> tuple[RunDir, str]:
    """`reports/demo/abc:round3` → (run, "round3"); a bare run folder with one system names it."""
    form = "expected RUN_DIR:SYSTEM, or RUN_DIR when the run has one system"
    if not ref:
        raise HarnessError(f"an empty system reference; {form}")
    path, sep, system = ref.rpartition(":")
    if sep and path and Path(path).is_dir() and not Path(ref).is_dir():
        run = open_run(path)
        systems = run_systems(run)
        if system not in systems:
            named = f"no system {system!r}" if system else "no system named after the ':'"
            raise HarnessError(f"{path} has {named}; systems: {', '.join(systems) or '(none)'}")
        return run, system
    if Path(ref).is_dir():
        run = open_run(ref)
        systems = run_systems(run)
        if len(systems) != 1:
            listed = f" ({', '.join(systems)})" if systems else ""
            raise HarnessError(f"{ref} has {len(systems)} systems{listed}; name one as {ref}:SYSTEM")
        return run, systems[0]
    folder = Path(path if sep and path else ref)
    if folder.exists():
        raise HarnessError(f"{ref!r}: {folder} is a file, not a run folder; {form}")
    raise HarnessError(f"{ref!r}: run folder not found: {folder}; {form}")


def compare_systems(
    a_ref: str, b_ref: str, *, metrics: list[str] | None = None, resamples: int = 2000, seed: int = 0
) -> dict[str, Any]:
    """Paired bootstrap per metric, McNemar on per-sample correctness, fixed and broken samples."""

    wanted = metrics or [p for p, _ in HEADLINE if p in STAT_METRICS]
    unknown = [m for m in wanted if m not in STAT_METRICS]
    if unknown:
        raise HarnessError(f"unknown metric(s) {', '.join(unknown)}; valid: {', '.join(STAT_METRICS)}")
    (run_a, sys_a), (run_b, sys_b) = parse_ref(a_ref), parse_ref(b_ref)
    ca, cb = load_counts(run_a, sys_a), load_counts(run_b, sys_b)
    if not set(ca.sample_ids) & set(cb.sample_ids):
        raise HarnessError(
            f"{a_ref} and {b_ref} share no sample ids ({a_ref}: {len(ca.sample_ids)}, e.g. "
            f"{ca.sample_ids[0]!r}; {b_ref}: {len(cb.sample_ids)}, e.g. {cb.sample_ids[0]!r}): they were "
            "scored on different test sets, so there is nothing to pair"
        )
    label_a, label_b = side_labels(run_a, sys_a, run_b, sys_b)
    return {
        "a": {"run": str(run_a.root), "system": sys_a, "label": label_a, "samples": len(ca.sample_ids)},
        "b": {"run": str(run_b.root), "system": sys_b, "label": label_b, "samples": len(cb.sample_ids)},
        **compare_counts(ca, cb, wanted, resamples=resamples, seed=seed),
    }


def compare_counts(
    ca: Counts, cb: Counts, metrics: list[str], *, resamples: int, seed: int
) -> dict[str, Any]:
    """b against a on their shared samples: paired bootstrap per metric, McNemar, fixed and broken."""
    from harness.scoring.stats import mcnemar

    # a run of several tasks: the micro metrics on all samples, then each task's (`by_task.TASK.…`)
    tests = []
    for name, stat, _, a, b in per_task_rows([{"metric": m, "tolerance": 0.0} for m in metrics], ca, cb):
        tests.append(
            {**paired(a, b, stat, "paired_bootstrap", resamples=resamples, seed=seed), "metric": name}
        )
    fixed, broken, shared = outcome_changes(ca, cb)
    pos = {s: i for i, s in enumerate(cb.sample_ids)}
    pairs = [(i, pos[s]) for i, s in enumerate(ca.sample_ids) if s in pos]
    ok_a, ok_b = ca.correct(), cb.correct()
    mc = mcnemar([bool(ok_a[i]) for i, _ in pairs], [bool(ok_b[j]) for _, j in pairs])
    return {
        "shared_samples": shared,
        "metrics": tests,
        "mcnemar": {**mc, "unit": "sample (all gold entities right, nothing extra)"},
        "fixed": fixed,
        "broken": broken,
    }


def side_labels(run_a: RunDir, sys_a: str, run_b: RunDir, sys_b: str) -> tuple[str, str]:
    """What names each side in the table: its system, or `run:system` when both sides are systems
    of one name (before/after a rescore) in two runs; the full folder when the run names clash too."""
    if sys_a != sys_b or run_a.root.resolve() == run_b.root.resolve():
        return sys_a, sys_b
    if run_a.root.name != run_b.root.name:
        return f"{run_a.root.name}:{sys_a}", f"{run_b.root.name}:{sys_b}"
    return f"{run_a.root}:{sys_a}", f"{run_b.root}:{sys_b}"


def outcome_changes(a: Counts, b: Counts) -> tuple[list[str], list[str], int]:
    """Sample ids b fixed (a wrong, b right) and broke (a right, b wrong), and the shared count."""
    ok_b = dict(zip(b.sample_ids, b.correct().tolist(), strict=True))
    fixed, broken, shared = [], [], 0
    for sid, ok in zip(a.sample_ids, a.correct().tolist(), strict=True):
        if sid not in ok_b:
            continue
        shared += 1
        if not ok and ok_b[sid]:
            fixed.append(sid)
        elif ok and not ok_b[sid]:
            broken.append(sid)
    return fixed, broken, shared

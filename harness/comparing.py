"""`harness compare`: two systems (of one run or of two runs) on their shared samples.

A system is named `RUN_DIR:SYSTEM`, or `RUN_DIR` alone when the run has one system.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from harness.errors import HarnessError
from harness.gate import Counts, fmt_p, load_counts, paired, run_systems
from harness.reporting.data import HEADLINE, STAT_METRICS
from harness.runs import RunDir, open_run


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
    from harness.scoring.stats import mcnemar

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
    tests = [paired(ca, cb, m, "paired_bootstrap", resamples=resamples, seed=seed) for m in wanted]
    fixed, broken, shared = outcome_changes(ca, cb)
    pos = {s: i for i, s in enumerate(cb.sample_ids)}
    pairs = [(i, pos[s]) for i, s in enumerate(ca.sample_ids) if s in pos]
    ok_a, ok_b = ca.correct(), cb.correct()
    mc = mcnemar([bool(ok_a[i]) for i, _ in pairs], [bool(ok_b[j]) for _, j in pairs])
    return {
        "a": {"run": str(run_a.root), "system": sys_a, "samples": len(ca.sample_ids)},
        "b": {"run": str(run_b.root), "system": sys_b, "samples": len(cb.sample_ids)},
        "shared_samples": shared,
        "metrics": tests,
        "mcnemar": {**mc, "unit": "sample (all gold entities right, nothing extra)"},
        "fixed": fixed,
        "broken": broken,
    }


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


def print_comparison(result: dict[str, Any], console: Console, *, max_list: int = 20) -> None:
    from harness.reporting.terminal import packed_tables

    a, b = result["a"]["system"], result["b"]["system"]
    title = f"{b} vs {a}: paired on {result['shared_samples']} shared samples (Δ = {b} − {a})"
    headers = (a, b, "Δ", "95% CI of Δ", "p (paired bootstrap)")
    rows = []
    for t in result["metrics"]:
        style = "green" if t["diff"] > 0 else "red" if t["diff"] < 0 else ""
        diff = f"{t['diff']:+.4f}"
        cells = (
            f"{t['a']:.4f}",
            f"{t['b']:.4f}",
            f"[{style}]{diff}[/]" if style else diff,
            f"[{t['ci'][0]:+.4f}, {t['ci'][1]:+.4f}]",
            fmt_p(t["p_value"], t.get("resamples")),
        )
        rows.append((t["metric"], cells))

    def make(group: list[int], first: bool) -> Table:
        # the metric names every row, so columns that do not fit go to a second table
        table = Table(title=title if first else f"{title} (continued)", title_justify="left")
        table.add_column("metric", no_wrap=True)
        for i in group:
            table.add_column(headers[i], justify="right", no_wrap=True)
        for metric, cells in rows:
            table.add_row(metric, *(cells[i] for i in group))
        return table

    tables = packed_tables(console, len(headers), make)
    if tables is not None:
        for table in tables:
            console.print(table)
    else:
        console.print(title, highlight=False)
        for metric, cells in rows:
            console.print(f"{metric}: " + "; ".join(f"{h} {c}" for h, c in zip(headers, cells, strict=True)))
    mc = result["mcnemar"]
    console.print(
        f"McNemar (per sample): {mc['b01']} fixed, {mc['b10']} broken, p = {mc['p_value']:.4g}"
        f"{' (exact)' if mc.get('exact') else ''}"
    )
    for name in ("fixed", "broken"):
        ids = result[name]
        more = f" and {len(ids) - max_list} more" if len(ids) > max_list else ""
        # wrapped between ids, never inside one
        console.print(f"{name} ({len(ids)}): {', '.join(ids[:max_list]) or '–'}{more}", highlight=False)

"""`harness run`: data → train → generate → score → report → gate, one content-addressed step at a time.

The run folder is named by the suite's content (every setting, resolved paths included), so
running the same suite again reuses it: training skips finished adapters (train_lora's own
content address), generation reads the SQLite cache, scoring is cheap and always redone.
A crash anywhere resumes from the last finished step (and, inside training, the last checkpoint).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from harness.hashing import sha256_json
from harness.records import Record, write_records
from harness.runs import RunDir, write_doc, write_rows
from harness.steps import (
    Data,
    base_model_path,
    generate_all,
    load_run_predictions,
    score_system,
    write_manifest,
)
from harness.suite import Suite
from harness.systems import PROVIDERS, Context


@dataclass
class RunOutcome:
    run: RunDir
    scores: dict[str, Any]
    gate: dict[str, Any] | None
    generated: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    gate_skipped: str | None = None  # why a run with a baseline was not gated (a --limit or --systems run)


def run_id(suite: Suite, limit: int | None = None) -> str:
    """The suite's content address; a --limit run gets its own folder, never the full run's."""
    settings = suite.model_dump(mode="json")
    return sha256_json(settings if limit is None else {**settings, "limit": limit})[:12]


def work_dir(out_root: Path) -> Path:
    """Artifacts shared by every run and suite under out_root: tiny models, adapters, the generation
    cache. All are content-addressed, so sharing is safe, and a suite reuses what another built."""
    return out_root / "_work"


# ---- data ---------------------------------------------------------------------------------


def rel(path: str | Path) -> str:
    """A path relative to the working directory when it is below it (shorter logs), else absolute."""
    p = Path(path).resolve()
    try:
        return str(p.relative_to(Path.cwd()))
    except ValueError:
        return str(p)


def elapsed(t0: float) -> float:
    return round(time.perf_counter() - t0, 3)


@contextmanager
def _progress(label: str, total: int) -> Iterator[Callable[[], None]]:
    """A bar with time left on stderr (stdout may hold --json), shown on a terminal only: scoring
    many systems with bootstrap CIs over thousands of samples takes minutes."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from harness.progress import stderr_console

    stderr = stderr_console()  # shared: the bootstrap's bar shows under this one
    with Progress(
        TextColumn(f"  {label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=stderr,
        disable=not stderr.is_terminal,
    ) as bar:
        task = bar.add_task(label, total=total)
        yield lambda: bar.advance(task)


def score_and_report(
    run: RunDir, scores: dict[str, Any], scoring: Any, test: list[Record], console: Console | None
) -> dict[str, Any]:
    """Score every system's stored predictions, write scores.json and index.html, print the table."""
    from harness.scoring.contract import SCORES_VERSION
    from harness.scoring.pipeline import Scorer

    scorer = Scorer(scoring)  # built after any synonym edit: rescoring gets fresh caches
    scores["systems"] = {}
    with _progress("scoring", len(scores["order"])) as advance:
        for s in scores["order"]:
            scores["systems"][s] = score_system(run, scorer, test, s, load_run_predictions(run, s))
            advance()
    scores["scoring"] = scoring.model_dump(mode="json")
    scores["paired"] = paired_against_base(run, scores, scoring)
    write_doc(run.scores, {"version": SCORES_VERSION, **scores})
    render_reports(run, console)
    return scores


# What the report tests every system on against the base (paired on the same samples).
PAIRED_METRICS = ("official.f1", "classification.accuracy")


def paired_against_base(run: RunDir, scores: dict[str, Any], scoring: Any) -> dict[str, Any] | None:
    """Each system against the report's base system: Δ, its 95% CI and p (paired bootstrap) for
    PAIRED_METRICS, and McNemar on per-sample correctness. None when there is nothing to pair."""
    from harness.comparing import compare_counts
    from harness.gate import load_counts

    base = (scores.get("report") or {}).get("base")
    others = [s for s in scores["order"] if s != base]
    if base not in scores["order"] or not others or scoring.bootstrap_resamples == 0:
        return None
    results = {}
    base_counts = load_counts(run, base)  # this run's counts files, just written
    for s in others:
        res = compare_counts(
            base_counts,
            load_counts(run, s),
            list(PAIRED_METRICS),
            resamples=scoring.bootstrap_resamples,
            seed=scoring.seed,
        )
        results[s] = {k: res[k] for k in ("metrics", "mcnemar", "shared_samples")}
    return {
        "base": base,
        "test": "paired_bootstrap",
        "resamples": scoring.bootstrap_resamples,
        "systems": results,
    }


def render_reports(run: RunDir, console: Console | None) -> None:
    from harness.reporting.data import load_report_data
    from harness.reporting.html import write_html
    from harness.reporting.terminal import render_terminal

    data = load_report_data(run)
    write_html(data)
    if console is not None:
        render_terminal(data, console)


def record_gate(run: RunDir, result: Any) -> dict[str, Any]:
    """Store a gate verdict in scores.json (`gate_result`) and re-render index.html to show it.

    A rescore rebuilds scores.json without it: a verdict on other scores would mislead.
    """
    from harness.gate import gate_settings
    from harness.runs import read_scores

    scores = read_scores(run)
    settings = gate_settings(run, scores)
    verdict = {**result.to_json(), "alpha": settings["alpha"], "resamples": settings["resamples"]}
    scores["gate_result"] = verdict
    write_doc(run.scores, scores)
    render_reports(run, None)
    return verdict


def run_suite(suite: Suite, out_root: Path, console: Console, limit: int | None = None) -> RunOutcome:
    """Every step of a suite; see the module docstring. `limit`: score the first N test records only."""
    started = time.perf_counter()
    run = RunDir(out_root / suite.name / run_id(suite, limit))
    work = work_dir(out_root)
    run.root.mkdir(parents=True, exist_ok=True)
    if suite.path:
        (run.suite_copy).write_text(Path(suite.path).read_text(encoding="utf-8"), encoding="utf-8")
    steps: dict[str, float] = {}

    console.rule(f"[bold]{suite.name}[/]")
    # on its own line and never cut: a rule would shorten a long path to '…'
    console.print(f"run folder: {run.root}", highlight=False, soft_wrap=True)
    console.print("[bold]1/5 data[/]")
    t0 = time.perf_counter()
    data = Data(suite)
    test = data.test()
    if limit is not None and limit < len(test):
        console.print(f"  --limit {limit}: keeping the first {limit} of {len(test)} test records")
        test = test[:limit]
    write_records(run.test_records, test)
    console.print(f"  test: {len(test)} records from {', '.join(suite.data.test)}")
    # Rules, stored predictions and merged checkpoints need no base model: build or look up none.
    needs_model = any(PROVIDERS[s.kind].needs_base_model for s in suite.systems)
    base = base_model_path(suite, data, work, console) if needs_model else None
    steps["data"] = elapsed(t0)

    console.print("[bold]2/5 train[/]")
    t0 = time.perf_counter()
    context = Context(suite, data, test, base, work, run, console)
    plans = {s.name: PROVIDERS[s.kind].plan(context, s) for s in suite.systems}
    adapters = {name: p.adapter for name, p in plans.items() if p.on_base}
    merged = {name: p.model for name, p in plans.items() if p.model is not None}
    contamination_found = {name: p.contamination for name, p in plans.items() if p.contamination is not None}
    provenance = {name: p.provenance for name, p in plans.items() if p.provenance is not None}
    if not any(s.kind == "trained" for s in suite.systems):
        console.print("  nothing to train")
    # every source is loaded by now (test, tiny corpus, training rounds)
    for name, problems in data.skipped.items():
        console.print(
            f"  [bold yellow]warning:[/] {name}: skipped {len(problems)} bad line(s) (on_error: skip), "
            f"first {problems[0]}; all are listed in manifest.json",
            highlight=False,
            soft_wrap=True,
        )
    steps["train"] = elapsed(t0)

    console.print("[bold]3/5 generate[/]")
    t0 = time.perf_counter()
    gen_stats: dict[str, Any] = {"generated": 0, "cache_hits": 0}
    if adapters or merged:
        # base is None only when no system uses it (then `adapters` is empty and it goes unread)
        rows, gen_stats = generate_all(suite, base or "", adapters, merged, test, work, console)
        # the largest of the calls' own peaks (each call resets the high-water mark)
        for key in ("peak_rss_mib", "cuda_max_allocated_mib", "cuda_max_reserved_mib"):
            peaks = [c[key] for c in gen_stats["calls"] if c.get(key) is not None]
            gen_stats[key] = max(peaks) if peaks else None
        for name, sys_rows in rows.items():
            write_rows(run.predictions(name), sys_rows)
        console.print(f"  generated {gen_stats['generated']}, cache hits {gen_stats['cache_hits']}")
    for name, plan in plans.items():
        if plan.rows is not None:
            write_rows(run.predictions(name), plan.rows())
    steps["generate"] = elapsed(t0)

    console.print("[bold]4/5 score and report[/]")
    t0 = time.perf_counter()
    header = {
        "suite": suite.name,
        "run_id": run.root.name,
        "order": [s.name for s in suite.systems],
        "contamination": contamination_found,
        "report": {
            **suite.report.model_dump(mode="json"),
            "base": suite.base_system,
            "reference": suite.reference_system,
        },
        "gate": {**suite.gate.model_dump(mode="json")},
        # totals, the resolved dtype per model, peak RSS, and each engine call's time and tokens/s
        "generation": gen_stats,
        "limit": limit,
    }
    write_manifest(run, suite, data, base, provenance, steps, header)
    scores = score_and_report(run, dict(header), suite.scoring, test, console)
    steps["score_report"] = elapsed(t0)

    console.print("[bold]5/5 gate[/]")
    gate = None
    baseline = suite.gate.baseline
    skipped = (
        gate_skip_reason(suite, baseline, test, limit) if baseline and Path(baseline).is_file() else None
    )
    if skipped:
        console.print(f"  [bold yellow]not gated:[/] {skipped}", highlight=False)
    elif baseline and Path(baseline).is_file():
        from harness.gate import run_gate

        result = run_gate(run, baseline)
        for c in result.checks:
            console.print(("  [red]✗[/] " if c.regression else "  [green]✓[/] ") + c.message, highlight=False)
        gate = record_gate(run, result)
        console.print(f"  verdict stored in {rel(run.scores)} and shown in {rel(run.html)}", highlight=False)
    elif baseline:
        console.print(
            f"  no baseline at {rel(baseline)}; accept this run with "
            f"`harness gate {rel(run.root)} --update-baseline`"
        )
    else:
        console.print("  the suite names no gate.baseline: nothing to gate")
    steps["total"] = elapsed(started)
    write_manifest(run, suite, data, base, provenance, steps, header)
    return RunOutcome(
        run=run,
        scores=scores,
        gate=gate,
        generated=int(gen_stats.get("generated", 0)),
        seconds=steps,
        gate_skipped=skipped,
    )


def gate_skip_reason(suite: Suite, baseline: Path, test: list[Record], limit: int | None) -> str | None:
    """Why a run must not be gated against `baseline`, or None: a --systems run that keeps no
    gated system, or a --limit run on samples other than the baseline's (a subset can hide a
    regression, and the gate would refuse it as a changed test set)."""
    if suite.gate.systems == []:
        return "none of the systems run is gated (gate.systems); run them all to gate"
    if limit is None:
        return None
    from harness.gate import read_baseline

    accepted = {tuple(s["sample_ids"]) for s in read_baseline(baseline)["systems"].values()}
    ids = tuple(r.sample_id for r in test)
    if all(set(a) == set(ids) for a in accepted):
        return None
    sizes = ", ".join(sorted({str(len(a)) for a in accepted}))
    return (
        f"--limit {limit} scored {len(ids)} test samples, the baseline {rel(baseline)} was accepted on "
        f"{sizes} samples; a subset can hide a regression, so this run is not judged (run without --limit to gate)"
    )

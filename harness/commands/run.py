"""`harness run`, `report`, `rescore`, `compare`, `gate`.

Imports stay light here: a verb loads the scorer, the trainer or a backend only when it runs.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import click

from harness.commands._common import console_for, emit_json, json_option
from harness.errors import HarnessError
from harness.gate import MAX_RESAMPLES, MIN_RESAMPLES
from harness.reporting.data import STAT_METRICS

CTX = {"help_option_names": ["-h", "--help"]}


def _headline(scores: dict[str, Any]) -> dict[str, Any]:
    from harness.reporting.data import HEADLINE, metric_ci, metric_value

    out = {}
    for name, summary in scores.get("systems", {}).items():
        out[name] = {
            path: {"value": metric_value(summary, path), "ci": metric_ci(summary, path)}
            for path, _ in HEADLINE
        }
        out[name]["samples"] = summary.get("samples")
    return out


def _check_out(out: Path) -> None:
    """--out must be a folder harness can create or write into; say which part is wrong."""
    import os

    probe = out
    while not probe.exists() and probe != probe.parent:
        if probe.is_symlink():
            raise HarnessError(f"--out {out}: {probe} is a broken symbolic link")
        probe = probe.parent
    if not probe.is_dir():
        what = "is" if probe == out else f"is inside {probe}, which is"
        raise HarnessError(f"--out {out} {what} a file, expected a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise HarnessError(f"--out {out}: cannot write into {probe} (permission denied)")


@click.command("run", context_settings=CTX)
@click.argument("suite_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path),
    default=Path("reports"),
    show_default=True,
    help="Root of the run folders: OUT/<suite>/<run-id>/ (shared artifacts in OUT/_work/).",
)
@json_option
def run(suite_file: Path, out: Path, as_json: bool) -> None:
    """Run a whole suite: data → train → generate → score → report → gate.

    Every step whose content address exists is skipped (trained adapters, cached generations),
    so a second run, or a run after a crash, only does what is missing. Prints the terminal
    report and where the HTML report is. Exit 1 when the gate finds a regression.
    """
    from harness.runner import run_suite
    from harness.suite import load_suite

    console = console_for(as_json)
    _check_out(out)
    suite = load_suite(suite_file)
    outcome = run_suite(suite, out, console)
    html = outcome.run.html.resolve()
    if as_json:
        emit_json(
            {
                "run_dir": str(outcome.run.root.resolve()),
                "report": str(html),
                "baseline": suite.gate.baseline,
                "scores": _headline(outcome.scores),
                "gate": outcome.gate,
                "generated": outcome.generated,
                "seconds": outcome.seconds,
            }
        )
    else:
        console.print(f"\nHTML report: [bold]{html}[/]", highlight=False, soft_wrap=True)
    if outcome.gate is not None and not outcome.gate["passed"]:
        sys.exit(1)


def _warn(message: str) -> None:
    click.echo(f"warning: {message}", err=True)


def _open(run_dir: Path, strict: bool = False) -> Any:
    """The run folder, its inputs checked against its manifest (see harness.runs.open_run)."""
    from harness.runs import open_run

    return open_run(run_dir, strict=strict, warn=_warn)


def _run_files(run_: Any) -> list[Path]:
    """What a run folder holds that a verb writing elsewhere must never overwrite."""
    sub = ("data", "predictions", "traces", "counts", "losses")
    return [run_.scores, run_.manifest, run_.suite_copy, run_.html, *(run_.root / d for d in sub)]


@click.command("report", context_settings=CTX)
@click.argument("run_dir", type=click.Path(path_type=Path))
@json_option
def report(run_dir: Path, as_json: bool) -> None:
    """Re-render a run's terminal and HTML reports from its stored scores (no scoring, no model).

    Refuses a run folder whose test records or predictions changed since the run (manifest.json).
    """
    from harness.runner import render_reports

    run_ = _open(run_dir, strict=True)
    render_reports(run_, None if as_json else console_for(as_json))
    if as_json:
        emit_json({"run_dir": str(run_.root.resolve()), "report": str(run_.html.resolve())})
    else:
        console_for(as_json).print(f"\nHTML report: [bold]{run_.html.resolve()}[/]")


@click.command("rescore", context_settings=CTX)
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option(
    "--synonyms",
    "synonyms",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    multiple=True,
    help="Synonym folder(s) to use instead of the suite's (repeatable).",
)
@json_option
def rescore(run_dir: Path, synonyms: tuple[Path, ...], as_json: bool) -> None:
    """Re-score a run's stored predictions with the current scoring settings and synonym files.

    Reads the suite's scoring block as it is now (the suite file the run came from, else the
    run's copy), rewrites scores.json, traces and index.html. Loads no model, generates nothing.
    Refuses a run folder whose test records or predictions changed since the run (manifest.json).
    """
    from harness.rescoring import rescore_run

    started = time.perf_counter()
    console = console_for(as_json)
    run_ = _open(run_dir, strict=True)
    scores = rescore_run(
        run_, synonyms=list(synonyms) or None, console=None if as_json else console, warn=_warn
    )
    seconds = round(time.perf_counter() - started, 3)
    if as_json:
        emit_json(
            {
                "run_dir": str(run_.root.resolve()),
                "report": str(run_.html.resolve()),
                "generated": 0,
                "seconds": seconds,
                "scores": _headline(scores),
            }
        )
    else:
        console.print(
            f"\nrescored in {seconds:.2f}s, generated 0 · HTML report: [bold]{run_.html.resolve()}[/]"
        )


@click.command("compare", context_settings=CTX)
@click.argument("a")
@click.argument("b")
@click.option(
    "--metric",
    "metrics",
    type=click.Choice(list(STAT_METRICS)),
    multiple=True,
    help="Metric(s) to test (default: the headline metrics).",
)
@click.option(
    "--resamples",
    type=click.IntRange(MIN_RESAMPLES, MAX_RESAMPLES),
    default=2000,
    show_default=True,
    help="Bootstrap resamples.",
)
@click.option(
    "--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Bootstrap seed (0 or more)."
)
@click.option(
    "--max-list",
    type=click.IntRange(min=0),
    default=20,
    show_default=True,
    help="How many fixed/broken sample ids to print.",
)
@json_option
def compare(
    a: str, b: str, metrics: tuple[str, ...], resamples: int, seed: int, max_list: int, as_json: bool
) -> None:
    """Paired comparison of system B against system A on their shared samples.

    A and B are `RUN_DIR:SYSTEM` (a system of a run folder), or `RUN_DIR` alone when that run
    has exactly one system. Prints each metric's difference (B − A) with its paired bootstrap
    95% CI and p-value, McNemar's test on per-sample correctness (a sample is right when every
    gold entity has its gold label and nothing extra is predicted; the test counts samples, not
    gold items), and the samples B fixed (A wrong, B right) and broke (A right, B wrong).
    """
    from harness.comparing import compare_systems, print_comparison

    result = compare_systems(a, b, metrics=list(metrics) or None, resamples=resamples, seed=seed)
    if as_json:
        emit_json(result)
    else:
        print_comparison(result, console_for(as_json), max_list=max_list)


@click.command("gate", context_settings=CTX)
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--baseline",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Baseline JSON (default: the suite's gate.baseline).",
)
@click.option("--update-baseline", is_flag=True, help="Accept this run: write its scores as the baseline.")
@click.option(
    "--junit", type=click.Path(dir_okay=False, path_type=Path), help="Also write a JUnit XML report."
)
@json_option
def gate(
    run_dir: Path, baseline: Path | None, update_baseline: bool, junit: Path | None, as_json: bool
) -> None:
    """Regression gate: exit 0 when no gated metric falls below the baseline by more than its
    tolerance with significance; exit 1 on a regression (metric, drop, p-value); exit 2 on
    usage errors and on a baseline or run that cannot be trusted (a malformed or non-finite
    count, a sample set that differs from the baseline's), each named by file and field.
    `--update-baseline` writes the run's scores and per-sample counts as the new baseline
    instead (exit 0). A verdict is stored in the run's scores.json and shown in its index.html.
    """
    from harness.gate import default_baseline, run_gate, write_baseline, write_junit
    from harness.runner import record_gate, rel
    from harness.safeio import check_output_path

    console = console_for(as_json)
    run_ = _open(run_dir)
    if not run_.scores.is_file():
        raise HarnessError(f"{run_dir}: no scores.json (run `harness rescore {run_dir}` first)")
    if baseline is None:
        baseline = default_baseline(run_)
        if baseline is None:
            raise HarnessError("no --baseline given and the run's suite names no gate.baseline")
    # a baseline or JUnit file written over the run's own files would damage the run it judges
    kept = _run_files(run_)
    if update_baseline:
        check_output_path(baseline, "--baseline", kept)
    if junit:
        check_output_path(junit, "--junit", [*kept, baseline])
    if update_baseline:
        doc = write_baseline(run_, baseline)
        if as_json:
            emit_json(
                {"baseline": str(baseline), "updated": True, "systems": list(doc["systems"]), "passed": True}
            )
        else:
            console.print(f"baseline written: {rel(baseline)} ({', '.join(doc['systems'])})", soft_wrap=True)
        return
    result = run_gate(run_, baseline)
    if as_json:
        emit_json(result.to_json())
    else:
        for c in result.checks:
            # word-wrapped: a narrow terminal breaks the line between words, never inside a number
            console.print(("[red]✗[/] " if c.regression else "[green]✓[/] ") + c.message, highlight=False)
        console.print(
            "[bold green]gate passed[/]" if result.passed else "[bold red]gate failed: regression[/]"
        )
    try:  # the verdict is given; a report that cannot be updated only warns
        record_gate(run_, result)
    except (HarnessError, OSError) as e:
        _warn(f"the verdict was not stored in {run_.scores} and {run_.html}: {e}")
    if junit:  # after the verdict is shown: a report that cannot be written is exit 2, not a lost result
        write_junit(result, junit)
    if not result.passed:
        sys.exit(1)

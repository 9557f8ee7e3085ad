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
from harness.scoring.catalogue import STAT_METRICS

CTX = {"help_option_names": ["-h", "--help"]}


def _headline(scores: dict[str, Any]) -> dict[str, Any]:
    from harness.reporting.data import metric_ci
    from harness.scoring.catalogue import HEADLINE, metric_value

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
@click.option(
    "--systems",
    "systems",
    metavar="A,B",
    default=None,
    help="Run only these systems (comma-separated names); the report and the gate cover only them.",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=None,
    help="Score only the first N test records (a run folder of its own; never gated against a "
    "baseline accepted on other samples).",
)
@click.option(
    "--junit",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the gate's checks as JUnit XML (one test case per system × metric).",
)
@json_option
def run(
    suite_file: Path, out: Path, systems: str | None, limit: int | None, junit: Path | None, as_json: bool
) -> None:
    """Run a whole suite: data → train → generate → score → report → gate.

    Every step whose content address exists is skipped (trained adapters, cached generations),
    so a second run, or a run after a crash, only does what is missing. Prints the terminal
    report and where the HTML report is. Exit 1 when the gate finds a regression.

    `--systems a,b` and `--limit N` make a run of their own (its own run id): the gate judges
    only the systems run, and a --limit run is gated only when the baseline was accepted on
    the same samples (else it says why it is not gated).
    """
    from harness.runner import run_suite
    from harness.safeio import check_output_path
    from harness.suite import load_suite

    console = console_for(as_json)
    _check_out(out)
    suite = load_suite(suite_file)
    if systems is not None:
        names = list(dict.fromkeys(n.strip() for n in systems.split(",") if n.strip()))
        if not names:
            raise HarnessError(f"--systems {systems!r}: expected system names separated by commas")
        suite = suite.select(names)
    if junit:
        check_output_path(junit, "--junit", [suite_file, suite.gate.baseline])
        # found now, not after a run of minutes
        blocker = next((p for p in junit.absolute().parents if p.exists()), None)
        if blocker is not None and not blocker.is_dir():
            raise HarnessError(f"--junit {junit}: {blocker} is a file, not a folder")
    outcome = run_suite(suite, out, console, limit=limit)
    html = outcome.run.html.resolve()
    if junit:
        _write_run_junit(outcome, suite, junit)
    if as_json:
        emit_json(
            {
                "run_dir": str(outcome.run.root.resolve()),
                "report": str(html),
                "baseline": suite.gate.baseline,
                "scores": _headline(outcome.scores),
                "gate": outcome.gate,
                "gate_skipped": outcome.gate_skipped,
                "junit": str(junit) if junit else None,
                "generated": outcome.generated,
                "seconds": outcome.seconds,
            }
        )
    else:
        console.print(f"\nHTML report: [bold]{html}[/]", highlight=False, soft_wrap=True)
        if junit:
            console.print(f"JUnit report: {junit}", highlight=False, soft_wrap=True)
    if outcome.gate is not None and not outcome.gate["passed"]:
        sys.exit(1)


def _write_run_junit(outcome: Any, suite: Any, path: Path) -> None:
    """The gate's checks as JUnit XML; a run that was not gated is one skipped case saying why."""
    from harness.gate import Check, GateResult, write_junit
    from harness.runner import rel

    if outcome.gate is not None:
        checks = [Check(**c) for c in outcome.gate["checks"]]
        result = GateResult(baseline=outcome.gate["baseline"], checks=checks)
    else:
        baseline = suite.gate.baseline
        why = outcome.gate_skipped or (
            f"no baseline at {rel(baseline)}" if baseline else "the suite names no gate.baseline"
        )
        result = GateResult(
            baseline=str(baseline or ""),
            checks=[
                Check("gate", "*", None, None, None, 0.0, None, suite.gate.test, False, f"not gated: {why}")
            ],
        )
    write_junit(result, path)


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
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["md", "csv", "json"]),
    default=None,
    help="Print the systems × metrics table in this format instead of re-rendering the reports.",
)
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="With --format: write the table to this file instead of stdout.",
)
@click.option(
    "--open",
    "open_",
    is_flag=True,
    help="Print the HTML report's file:// URL, and open it when a display is there (never in CI).",
)
@json_option
def report(run_dir: Path, fmt: str | None, out: Path | None, open_: bool, as_json: bool) -> None:
    """Re-render a run's terminal and HTML reports from its stored scores (no scoring, no model).

    Refuses a run folder whose test records or predictions changed since the run (manifest.json).
    `--format md|csv|json` prints the systems × metrics table (values, 95% CIs, Δ vs the base
    system) for a pull request, a spreadsheet or a script, from scores.json alone.
    """
    if out is not None and fmt is None:
        raise HarnessError("--out writes the table of --format: give --format md, csv or json")
    if fmt is not None and as_json and out is None:
        raise HarnessError("--json and --format both print on stdout: use --format json, or --out FILE")
    if fmt is not None:
        _export(run_dir, fmt, out, open_, as_json)
        return
    from harness.runner import render_reports

    run_ = _open(run_dir, strict=True)
    render_reports(run_, None if as_json else console_for(as_json))
    opened = _open_report(run_.html) if open_ else False
    if as_json:
        doc = {"run_dir": str(run_.root.resolve()), "report": str(run_.html.resolve())}
        emit_json({**doc, "url": run_.html.resolve().as_uri(), "opened": opened} if open_ else doc)
    else:
        console_for(as_json).print(f"\nHTML report: [bold]{run_.html.resolve()}[/]", soft_wrap=True)
        if open_:
            _say_opened(run_.html, opened, console_for(as_json))


def _export(run_dir: Path, fmt: str, out: Path | None, open_: bool, as_json: bool) -> None:
    """`report --format`: the table from scores.json (the HTML report is left as it is)."""
    from harness.reporting.data import load_report_data
    from harness.reporting.terminal import export_table
    from harness.safeio import check_output_path

    run_ = _open(run_dir)
    text = export_table(load_report_data(run_, with_examples=False), fmt)
    if out is None:
        click.echo(text, nl=False)
    else:
        check_output_path(out, "--out", _run_files(run_))
        from harness.jsonl import atomic_write_text

        atomic_write_text(out, text)
    # the table owns stdout unless it went to a file
    console = console_for(as_json or out is None)
    opened = _open_report(run_.html) if open_ else False
    if as_json:
        doc = {"run_dir": str(run_.root.resolve()), "format": fmt, "out": str(out)}
        emit_json({**doc, "url": run_.html.resolve().as_uri(), "opened": opened} if open_ else doc)
    elif out is not None:
        console.print(f"{fmt} table written to {out}", highlight=False, soft_wrap=True)
    if open_ and not as_json:
        _say_opened(run_.html, opened, console)


def _open_report(html: Path) -> bool:
    """Hand the report to the platform's opener, without waiting for it, when a display is there.

    Never in CI ($CI set) nor on a machine without a display: a browser that waits for input
    would hang a job. Returns whether it was handed over.
    """
    import os
    import shutil
    import subprocess

    if not html.is_file():
        raise HarnessError(f"{html}: no HTML report yet (render it with `harness report {html.parent}`)")
    if os.environ.get("CI"):
        return False
    if sys.platform == "win32":
        os.startfile(html)  # type: ignore[attr-defined]  # Windows only
        return True
    if sys.platform == "darwin":
        opener = "open"
    elif os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        opener = "xdg-open"
    else:
        return False
    found = shutil.which(opener)
    if found is None:
        return False
    devnull = subprocess.DEVNULL
    subprocess.Popen(
        [found, str(html.resolve())], stdin=devnull, stdout=devnull, stderr=devnull, start_new_session=True
    )
    return True


def _say_opened(html: Path, opened: bool, console: Any) -> None:
    url = html.resolve().as_uri()
    if opened:
        console.print(f"opened {url}", highlight=False, soft_wrap=True)
    else:
        console.print(
            f"{url}\n(no display here to open it on: open that URL in a browser)",
            highlight=False,
            soft_wrap=True,
        )


@click.command("rescore", context_settings=CTX)
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option(
    "--synonyms",
    "synonyms",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    multiple=True,
    help="Synonym folder(s) to use instead of the suite's (repeatable).",
)
@click.option(
    "--as",
    "as_name",
    metavar="NAME",
    default=None,
    help="Write a new run NAME beside RUN_DIR (its parent) and print old → new with paired tests; "
    "RUN_DIR is left as it is.",
)
@json_option
def rescore(run_dir: Path, synonyms: tuple[str, ...], as_name: str | None, as_json: bool) -> None:
    """Re-score a run's stored predictions with the current scoring settings and synonym files.

    Reads the suite's scoring block as it is now (the suite file the run came from, else the
    run's copy), rewrites scores.json, traces and index.html. Loads no model, generates nothing.
    Refuses a run folder whose test records or predictions changed since the run (manifest.json).

    With `--as NAME` the run is left untouched: a new run folder NAME beside it gets its inputs,
    records it as its parent (manifest.json, scores.json) and is scored; then every metric's
    old → new value, Δ, the paired bootstrap's 95% CI and p-value are printed per system.
    """
    from harness.rescoring import branch_run, rescore_run

    started = time.perf_counter()
    console = console_for(as_json)
    run_ = _open(run_dir, strict=True)
    parent = run_
    if as_name is not None:
        run_ = branch_run(parent, as_name)
    # a new run has no scores.json yet: nothing to warn about
    scores = rescore_run(
        run_,
        synonyms=list(synonyms) or None,
        console=None if as_json else console,
        warn=_warn if as_name is None else None,
    )
    seconds = round(time.perf_counter() - started, 3)
    changes = _changes(parent, run_) if as_name is not None else None
    if as_json:
        doc = {
            "run_dir": str(run_.root.resolve()),
            "report": str(run_.html.resolve()),
            "generated": 0,
            "seconds": seconds,
            "scores": _headline(scores),
        }
        if as_name is not None:
            doc.update(parent=str(parent.root.resolve()), changes=changes)
        emit_json(doc)
        return
    if changes is not None:
        _print_changes(changes, parent, run_, console)
    console.print(
        f"\nrescored in {seconds:.2f}s, generated 0 · HTML report: [bold]{run_.html.resolve()}[/]",
        soft_wrap=True,
    )


def _changes(old: Any, new: Any) -> list[dict[str, Any]] | None:
    """old → new per system and headline metric, with the paired test (the run's gate settings)."""
    from harness.gate import gate_settings
    from harness.rescoring import score_changes
    from harness.scoring.catalogue import HEADLINE

    settings = gate_settings(new)
    metrics = [p for p, _ in HEADLINE if p in STAT_METRICS]
    try:
        return score_changes(old, new, metrics, resamples=settings["resamples"], seed=settings["seed"])
    except HarnessError as e:  # the new run is written; only the comparison is lost
        _warn(f"no old → new comparison: {e}")
        return None


def _print_changes(changes: list[dict[str, Any]], old: Any, new: Any, console: Any) -> None:
    from rich.table import Table

    from harness.gate import fmt_p
    from harness.reporting.terminal import packed_tables

    title = f"{old.root.name} → {new.root.name} (Δ = new − old; paired bootstrap)"
    headers = ("old", "new", "Δ", "95% CI of Δ", "p")

    def cells(c: dict[str, Any]) -> tuple[str, ...]:
        style = "green" if c["diff"] > 0 else "red" if c["diff"] < 0 else ""
        diff = f"{c['diff']:+.4f}"
        return (
            f"{c['a']:.4f}",
            f"{c['b']:.4f}",
            f"[{style}]{diff}[/]" if style else diff,
            f"[{c['ci'][0]:+.4f}, {c['ci'][1]:+.4f}]",
            fmt_p(c["p_value"], c.get("resamples")),
        )

    def make(group: list[int], first: bool) -> Table:
        table = Table(title=title if first else f"{title} (continued)", title_justify="left")
        table.add_column("system", style="bold", no_wrap=True)
        table.add_column("metric", no_wrap=True)
        for i in group:
            table.add_column(headers[i], justify="right", no_wrap=True)
        for c in changes:
            row = cells(c)
            table.add_row(c["system"], c["metric"], *(row[i] for i in group))
        return table

    console.print(f"parent: {old.root}\nnew run: {new.root}", highlight=False, soft_wrap=True)
    tables = packed_tables(console, len(headers), make)
    if tables is None:  # narrower than one column: a line per value
        for c in changes:
            console.print(
                f"{c['system']} {c['metric']}: "
                + "; ".join(f"{h} {v}" for h, v in zip(headers, cells(c), strict=True))
            )
        return
    for table in tables:
        console.print(table)


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
    from harness.comparing import compare_systems
    from harness.reporting.terminal import print_comparison

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

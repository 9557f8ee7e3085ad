"""Terminal output fits 80, 100 and 180 columns: every row keeps its name, every number is whole.

A table too wide for the terminal is split into several (each repeating the row names) or, below
the width of one column group, printed as lines; rich never gets to squeeze a cell to '…'.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from unittest.mock import patch

import pytest
from click.testing import CliRunner, Result
from rich.console import Console

from harness.cli import cli
from harness.commands import _common
from harness.datasets.synthetic import synth_rows
from harness.reporting.data import load_report_data
from harness.reporting.terminal import fmt_metric, render_terminal
from harness.runs import RunDir, read_json, write_doc
from harness.scoring.catalogue import HEADLINE, STAT_METRICS

WIDTHS = [80, 100, 180]
LONG = "round3_clean_attr_cls"  # a system name as long as real ones get
NUMBER = re.compile(r"[+-]?\d+\.\d+|<\d\S*")


def invoke(width: int, *args: str) -> Result:
    """The CLI on a terminal `width` columns wide. Rich reads COLUMNS when a console is made (once
    per process, at import), so the verbs' consoles are swapped for ones of that width."""
    consoles = {"stdout_console": Console(width=width), "stderr_console": Console(stderr=True, width=width)}
    with patch.multiple(_common, **consoles):
        return CliRunner(env={"COLUMNS": str(width)}).invoke(cli, list(args), catch_exceptions=False)


def rename_system(run: RunDir, old: str, new: str) -> None:
    for path in (run.predictions(old), run.traces(old), run.losses(old), run.root / "counts" / f"{old}.json"):
        if path.is_file():
            path.rename(path.with_name(new + path.suffix))
    scores = read_json(run.scores)
    scores["systems"] = {(new if k == old else k): v for k, v in scores["systems"].items()}
    scores["order"] = list(scores["systems"])
    write_doc(run.scores, scores)


@pytest.fixture
def long_run(fake_run: RunDir) -> RunDir:
    """The fake run with a long system name and a CI on every headline metric."""
    rename_system(fake_run, "round3", LONG)
    scores = read_json(fake_run.scores)
    for summary in scores["systems"].values():
        summary["ci"] = {
            STAT_METRICS[path]: [round(v - 0.1234, 4), round(v + 0.1234, 4)]
            for path, _ in HEADLINE
            if isinstance(v := summary[path.split(".")[0]][path.split(".")[1]], float | int)
        }
    write_doc(fake_run.scores, scores)
    return fake_run


def check_fits(text: str, width: int) -> list[str]:
    lines = text.splitlines()
    assert "…" not in text
    too_wide = [line for line in lines if len(line.rstrip()) > width]
    assert not too_wide, too_wide
    return lines


def table_rows(lines: list[str], name: str) -> int:
    """How many table rows start with `name` (its first cell)."""
    return sum(1 for line in lines if line.startswith(f"│ {name} "))


@pytest.mark.parametrize("width", WIDTHS)
def test_report_tables_fit_the_width(long_run: RunDir, width: int) -> None:
    data = load_report_data(long_run)
    console = Console(width=width, record=True, file=io.StringIO())
    render_terminal(data, console)
    lines = check_fits(console.export_text(), width)
    text = "\n".join(lines)
    tables = sum(1 for line in lines if line.startswith("┏"))
    metric_tables = sum(1 for line in lines if "systems × metrics" in line)
    assert metric_tables > 1 if width < 180 else metric_tables == 2  # 194 columns at one table
    for s in data.systems:
        assert table_rows(lines, s) == tables, s  # every table has a row named by the system
        for path, _ in HEADLINE:
            assert fmt_metric(data.summary(s), path) in text


def test_a_table_that_fits_stays_one(fake_run: RunDir) -> None:
    console = Console(width=180, record=True, file=io.StringIO())
    render_terminal(load_report_data(fake_run), console)
    lines = check_fits(console.export_text(), 180)
    assert sum(1 for line in lines if "systems × metrics" in line) == 1


def test_report_below_one_column_group_prints_lines(long_run: RunDir) -> None:
    data = load_report_data(long_run)
    console = Console(width=44, record=True, file=io.StringIO())
    render_terminal(data, console)
    lines = check_fits(console.export_text(), 44)
    words = set(" ".join(lines).replace("[", " ").replace("]", " ").replace(",", " ").split())
    for s in data.systems:
        for path, label in HEADLINE:
            assert any(line.startswith(f"{s} (n=20) · {label}") for line in lines), (s, label)
            shown = fmt_metric(data.summary(s), path).replace("[", " ").replace("]", " ").replace(",", " ")
            assert set(shown.split()) <= words


@pytest.mark.parametrize("width", WIDTHS)
def test_compare_fits_the_width(long_run: RunDir, width: int) -> None:
    a, b = f"{long_run.root}:base", f"{long_run.root}:{LONG}"
    result = json.loads(invoke(width, "compare", a, b, "--json", "--resamples", "200").stdout)
    res = invoke(width, "compare", a, b, "--resamples", "200")
    assert res.exit_code == 0, res.output
    lines = check_fits(res.output, width)
    tables = sum(1 for line in lines if line.startswith("┏"))
    assert tables == 1 if width == 180 else tables >= 1
    for t in result["metrics"]:
        assert table_rows(lines, t["metric"]) == tables, t["metric"]
        for shown in (
            f"{t['a']:.4f}",
            f"{t['b']:.4f}",
            f"{t['diff']:+.4f}",
            f"{t['ci'][0]:+.4f}, {t['ci'][1]:+.4f}",
        ):
            assert shown in res.output, shown
    assert f"{result['mcnemar']['b01']} fixed" in res.output
    assert all(f" {sid}" in res.output for sid in result["fixed"])


@pytest.mark.parametrize("width", [80, 100])
def test_gate_lines_wrap_between_words(long_run: RunDir, tmp_path: Path, width: int) -> None:
    baseline = tmp_path / "baseline.json"
    invoke(width, "gate", str(long_run.root), "--baseline", str(baseline), "--update-baseline")
    verdict = json.loads(
        invoke(width, "gate", str(long_run.root), "--baseline", str(baseline), "--json").stdout
    )
    res = invoke(width, "gate", str(long_run.root), "--baseline", str(baseline))
    assert res.exit_code == 0, res.output
    lines = check_fits(res.stdout, width)
    for c in verdict["checks"]:
        assert any(line.startswith(f"✓ {c['system']} {c['metric']}:") for line in lines)
        for number in NUMBER.findall(c["message"]):
            assert re.search(rf"(?<![\d.]){re.escape(number)}(?![\d])", res.stdout), number


RUN_SUITE = """\
name: narrow
data:
  sources:
    te: {kind: synthetic, n: 6, seed: 2}
  test: [te]
base_model: {tiny: {corpus: [te]}}
systems:
  - {name: keyword_rules_floor_system, kind: rules}
  - {name: gold_copy_of_every_target, kind: predictions, path: gold.jsonl}
scoring: {bootstrap_resamples: 100}
"""


def test_run_and_report_fit_80_columns(tmp_path: Path) -> None:
    gold = [{"sample_id": r["sample_id"], "text": r["target"]} for r in synth_rows(6, 2, ("attr_cls",))]
    (tmp_path / "gold.jsonl").write_text("".join(json.dumps(g, ensure_ascii=False) + "\n" for g in gold))
    (tmp_path / "suite.yaml").write_text(RUN_SUITE, encoding="utf-8")
    res = invoke(80, "run", str(tmp_path / "suite.yaml"), "--out", str(tmp_path / "reports"))
    assert res.exit_code == 0, res.output
    (run_dir,) = (tmp_path / "reports" / "narrow").iterdir()
    scores = read_json(run_dir / "scores.json")["systems"]
    report = invoke(80, "report", str(run_dir))
    assert report.exit_code == 0, report.output
    for out in (res.stdout, report.stdout):
        # paths stay whole to be copied, whatever their length
        paths = ("HTML report:", "run folder:")
        lines = check_fits("\n".join(x for x in out.splitlines() if not x.startswith(paths)), 80)
        tables = sum(1 for line in lines if line.startswith("┏"))
        for name, summary in scores.items():
            assert table_rows(lines, name) == tables, name
            for path, _ in HEADLINE:
                assert fmt_metric(summary, path) in out

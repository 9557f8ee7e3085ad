"""The report of a run over several tasks: per-label F1, confusion matrices and failure modes show
one block per task, titled with the task's name, in the HTML and in the terminal; each task's
`report` picks the sections it appears in."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from pathlib import Path

import pytest
from rich.console import Console

from harness.datasets.synthetic import synth_predictions, synth_records
from harness.records import write_records
from harness.reporting.data import load_report_data
from harness.reporting.html import render_html
from harness.reporting.terminal import export_table, render_terminal
from harness.runner import score_and_report
from harness.runs import RunDir, write_rows
from harness.scoring.pipeline import ScoringConfig
from harness.scoring.tasks import REPORT_SECTIONS, TASKS

NAMES = ["CHIP-MDCFNPC", "IMCS-V2-SR", "CMeEE-V2"]  # synthetic attr_cls, imcs_sr, ner, round-robin
# section -> the heading of its part of the HTML page
HEADINGS = {
    "metrics": "Comparison",
    "per_label": "Per-label F1",
    "confusion": "Confusion matrices",
    "failures": "Failure modes",
    "examples": "Examples",
}


@pytest.fixture
def mixed_run(tmp_path: Path) -> RunDir:
    """A scored run of 30 synthetic records of the three tasks, one system right on every sample."""
    records = list(synth_records(30, seed=3, tasks=("attr_cls", "imcs_sr", "ner")))
    run = RunDir(tmp_path / "reports" / "mix" / "run1")
    write_records(run.test_records, records)
    preds = {"gold": {r.sample_id: r.target for r in records}, "noisy": synth_predictions(records, seed=1)}
    for system, texts in preds.items():
        write_rows(run.predictions(system), [{"sample_id": k, "text": v} for k, v in texts.items()])
    header = {"suite": "mix", "order": list(preds), "report": {"base": "gold"}}
    score_and_report(run, header, ScoringConfig(bootstrap_resamples=0), records, None)
    return run


def html_sections(html: str) -> dict[str, str]:
    """Each <h2> part of the page by its heading."""
    return {part.split("</h2>", 1)[0]: part for part in html.split("<h2>")[1:]}


def task_titles(part: str) -> list[str]:
    return re.findall(r"<h3>([^<]*)</h3>", part)


def test_html_shows_each_task_block_titled_with_its_name(mixed_run: RunDir) -> None:
    parts = html_sections(render_html(load_report_data(mixed_run)))
    for section in ("per_label", "confusion", "failures"):
        assert task_titles(parts[HEADINGS[section]]) == NAMES, section
    per_task = {
        name: block for name, block in zip(NAMES, parts["Failure modes"].split("<h3>")[1:], strict=True)
    }
    # each block holds its own task's numbers: the ner taggers under CMeEE-V2 only
    assert "wrong_type" in per_task["CMeEE-V2"] and "conflict" not in per_task["CMeEE-V2"]
    assert "conflict" in per_task["IMCS-V2-SR"] and "wrong_type" not in per_task["IMCS-V2-SR"]
    labels = parts["Per-label F1"].split("<h3>")[1:]
    assert "<th>positive</th>" in labels[0] and "<th>positive</th>" not in labels[2]


def test_terminal_shows_each_task_failures_and_fits_80_columns(mixed_run: RunDir) -> None:
    out = io.StringIO()
    render_terminal(load_report_data(mixed_run), Console(file=out, width=80))
    text = out.getvalue()
    # a table too wide for 80 columns goes on under the same title, "(continued)"
    titles = re.findall(r"^(\S+): failure modes", text, flags=re.M)
    assert list(dict.fromkeys(titles)) == NAMES
    assert "wrong_type" in text.split("CMeEE-V2: failure modes")[1]
    assert "…" not in text and max(len(line.rstrip()) for line in text.splitlines()) <= 80


@pytest.mark.parametrize("dropped", REPORT_SECTIONS)
def test_a_task_report_picks_its_sections(
    mixed_run: RunDir, monkeypatch: pytest.MonkeyPatch, dropped: str
) -> None:
    ner = TASKS["CMeEE-V2"]
    kept = tuple(s for s in REPORT_SECTIONS if s != dropped)
    monkeypatch.setitem(TASKS, ner.name, replace(ner, report=kept))
    data = load_report_data(mixed_run)
    parts = html_sections(render_html(data))
    ner_ids = [str(r["sample_id"]) for r in data.records if r["task_dataset"] == ner.name]
    shown = {
        "metrics": "CMeEE-V2 official F1" in parts["Comparison"],
        "examples": any(f"<b>{sid}</b>" in parts["Examples"] for sid in ner_ids),
        **{s: ner.name in task_titles(parts[HEADINGS[s]]) for s in ("per_label", "confusion", "failures")},
    }
    assert shown == {s: s != dropped for s in REPORT_SECTIONS}
    hidden = "the 10 samples of tasks whose report leaves out examples are not shown"
    assert (hidden in parts["Examples"]) == (dropped == "examples")
    # the other tasks keep every section
    assert task_titles(parts["Failure modes"])[:2] == NAMES[:2]
    assert ("by_task.CMeEE-V2.official.f1" in export_table(data, "csv")) == (dropped != "metrics")


@pytest.mark.parametrize("dropped", ["per_label", "failures"])
def test_a_run_of_one_task_shows_the_sections_its_task_lists(
    fake_run: RunDir, monkeypatch: pytest.MonkeyPatch, dropped: str
) -> None:
    chip = TASKS["CHIP-MDCFNPC"]
    monkeypatch.setitem(
        TASKS, chip.name, replace(chip, report=tuple(s for s in REPORT_SECTIONS if s != dropped))
    )
    data = load_report_data(fake_run)
    parts = html_sections(render_html(data))
    assert set(HEADINGS.values()) - set(parts) == {HEADINGS[dropped]}
    assert all(not task_titles(p) for p in parts.values())  # one task: blocks carry no task title
    out = io.StringIO()
    render_terminal(data, Console(file=out, width=100))
    assert ("failure modes" in out.getvalue()) == (dropped != "failures")

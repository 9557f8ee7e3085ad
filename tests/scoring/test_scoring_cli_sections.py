"""`harness score`'s tables show the sections a task's `report` lists, as `harness report` does."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.jsonl import write_jsonl
from harness.records import ATTR_CLS_CHOICES, ATTR_CLS_HEADER, Record, write_records
from harness.scoring.tasks import TASKS

IMCS_CHOICES = ["没有患有该症状", "患有该症状", "无法根据上下文确定病人是否患有该症状"]
RECORDS = {
    "CHIP-MDCFNPC": Record(
        "c0",
        "对话",
        f"{ATTR_CLS_HEADER}\n发热：{ATTR_CLS_CHOICES[0]}",
        list(ATTR_CLS_CHOICES),
        "attr_cls",
        "CHIP-MDCFNPC",
    ),
    "IMCS-V2-SR": Record("i0", "对话", "头\n发热：患有该症状", IMCS_CHOICES, "attr_cls", "IMCS-V2-SR"),
    "CMeEE-V2": Record("n0", "患者肺炎", "头\n疾病实体：肺炎", ["疾病"], "ner", "CMeEE-V2"),
}
TITLES = {"metrics": "scores (", "per_label": "per label", "failures": "failure tags"}


def _score(tmp_path: Path, tasks: list[str]) -> str:
    records = [RECORDS[t] for t in tasks]
    gold = write_records(tmp_path / "gold.jsonl", records)
    pred = write_jsonl(
        tmp_path / "pred.jsonl", [{"sample_id": r.sample_id, "text": r.target} for r in records]
    )
    result = CliRunner().invoke(cli, ["score", "--gold", str(gold), "--pred", str(pred), "--resamples", "0"])
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.parametrize("task", list(RECORDS))
@pytest.mark.parametrize("report", [("metrics", "per_label", "failures"), ("metrics",), ("failures",), ()])
def test_a_task_shows_the_sections_of_its_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, task: str, report: tuple[str, ...]
) -> None:
    monkeypatch.setitem(TASKS, task, replace(TASKS[task], report=report))
    out = _score(tmp_path, [task])
    assert {s for s, title in TITLES.items() if title in out} == set(report)


def test_in_a_file_of_several_tasks_each_block_follows_its_own_task(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(TASKS, "CMeEE-V2", replace(TASKS["CMeEE-V2"], report=("failures",)))
    out = _score(tmp_path, list(RECORDS))
    assert "micro average over 3 tasks" in out
    for task in ("CHIP-MDCFNPC", "IMCS-V2-SR"):
        assert all(f"{task}: {title}" in out for title in TITLES.values()), task
    assert "CMeEE-V2: failure tags" in out
    assert "CMeEE-V2: scores" not in out and "CMeEE-V2: per label" not in out

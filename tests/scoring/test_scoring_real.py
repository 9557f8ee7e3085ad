"""On real data (../shared/data): every gold target scores 1.0 against itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.records import read_records
from harness.scoring.pipeline import ScoringConfig, score

pytestmark = pytest.mark.shared_data


def _assert_perfect(summary: dict) -> None:
    for block in ("official", "canonical"):
        assert summary[block]["precision"] == summary[block]["recall"] == summary[block]["f1"] == 1.0
        assert summary[block]["fp"] == summary[block]["fn"] == 0
    cls = summary["classification"]
    assert cls["accuracy"] == cls["macro_f1"] == cls["micro_f1"] == 1.0
    assert all(lo == hi == 1.0 for lo, hi in summary["ci"].values())
    assert (
        summary["failures"]["missing"]
        == summary["failures"]["hallucination"]
        == summary["failures"]["drift"]
        == 0
    )
    assert summary["failures"]["header"] == 0


def test_promptcblue_toy_dev_against_itself(shared_data: Path) -> None:
    records = read_records(shared_data / "promptcblue-toy" / "dev.json").records
    result = score(records, {r.sample_id: r.target for r in records}, ScoringConfig(bootstrap_resamples=200))
    summary = result.summary
    assert summary["samples"] == 15  # 5 records each of CHIP-MDCFNPC, IMCS-V2-SR and CMeEE-V2
    assert sorted(summary["by_task"]) == ["CHIP-MDCFNPC", "CMeEE-V2", "IMCS-V2-SR"]
    assert summary["official"]["f1"] == summary["canonical"]["f1"] == 1.0
    for name in ("CHIP-MDCFNPC", "IMCS-V2-SR"):
        _assert_perfect(summary["by_task"][name])
    ner = summary["by_task"]["CMeEE-V2"]
    assert ner["official"]["f1"] == ner["canonical"]["f1"] == ner["classification"]["accuracy"] == 1.0
    assert not any(ner["failures"].values())


def test_chip2021_600_converted_dialogs_against_themselves(shared_data: Path) -> None:
    chip2021 = pytest.importorskip("harness.datasets.chip2021")
    converted = chip2021.convert_chip2021(shared_data / "chip2021-mdcfnpc" / "dialogs-val600.jsonl")
    result = score(
        converted.records,
        {r.sample_id: r.target for r in converted.records},
        ScoringConfig(bootstrap_resamples=200),
    )
    assert result.summary["samples"] == 600
    assert result.summary["official"]["tp"] == converted.stats["mentions"]
    _assert_perfect(result.summary)


def test_testa_inputs_list_their_entities(shared_data: Path) -> None:
    from harness.scoring.failures import listed_entities

    records = read_records(shared_data / "promptcblue-testA" / "chip-mdcfnpc-testA-inputs.jsonl").records
    for r in records:
        line = [x for x in r.input.split("\n") if x.startswith("临床发现实体：")][-1]
        names = [x for x in line.removeprefix("临床发现实体：").split("，") if x.strip()]
        assert listed_entities(r.input) == [x.strip() for x in names]
    assert (
        sum(len(listed_entities(r.input)) for r in records) >= 3700
    )  # the README counts 3,733 (one is blank)

"""Recipes: what each round trains and evaluates on, and that round2 trips the detector while round3 is clean."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.datasets.contamination import detect_contamination
from harness.errors import HarnessError
from harness.records import Record, write_records
from harness.training.recipes import RECIPES, custom, get_recipe, load_source, round1, round2, round3

TASKS = ("attr_cls", "imcs_sr", "ner")


@pytest.fixture(scope="module")
def pools() -> dict[str, list[Record]]:
    from harness.datasets.synthetic import synth_records

    return {
        "train": list(synth_records(240, seed=11, tasks=TASKS)),
        "dev": list(synth_records(60, seed=12, tasks=TASKS)),
        "test": list(synth_records(60, seed=13, tasks=("attr_cls",))),
    }


def _tasks(records: list[Record]) -> set[tuple[str, str]]:
    return {(r.task_type, r.task_dataset) for r in records}


def test_registry_names() -> None:
    assert set(RECIPES) == {"round1", "round2", "round3", "custom"}
    with pytest.raises(HarnessError, match="valid: round1"):
        get_recipe("round4")


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_every_recipe_takes_the_runner_call(pools, name: str) -> None:
    train, dev = RECIPES[name](pools["train"], pools["dev"], exclude=pools["test"], seed=0)
    assert train and all(isinstance(r, Record) for r in [*train, *dev])


def test_round1_keeps_every_task(pools) -> None:
    train, dev = round1(pools["train"], pools["dev"])
    assert train == pools["train"] and dev == pools["dev"]
    assert len(_tasks(train)) == 3


def test_round2_trains_chip_and_evaluates_on_imcs_sr(pools) -> None:
    train, dev = round2(pools["train"], pools["dev"])
    assert _tasks(train) == {("attr_cls", "CHIP-MDCFNPC")}
    assert _tasks(dev) == {("attr_cls", "IMCS-V2-SR")}
    findings = detect_contamination(train, dev, pools["test"])
    assert [f.kind for f in findings] == ["task_mismatch"]
    assert findings[0].splits == ("train", "dev") and findings[0].count == len(dev)
    assert "IMCS-V2-SR" in findings[0].detail


def test_round3_is_clean_and_disjoint(pools) -> None:
    # A dev source holding copies of training records must not leak into train.
    leaked = [*pools["dev"], *pools["train"][:9]]
    train, dev = round3(pools["train"], leaked, exclude=pools["test"])
    assert _tasks(train) == _tasks(dev) == {("attr_cls", "CHIP-MDCFNPC")}
    assert not {r.sample_id for r in train} & {r.sample_id for r in dev}
    assert detect_contamination(train, dev, pools["test"]) == []


def test_round3_without_dev_source_splits_train_by_seed(pools) -> None:
    a = round3(pools["train"], None, seed=1)
    b = round3(pools["train"], None, seed=1)
    c = round3(pools["train"], None, seed=2)
    assert a == b and a[1] != c[1]
    assert len(a[1]) >= 1 and detect_contamination(a[0], a[1], None) == []


def test_custom_filters_and_limits(pools) -> None:
    train, dev = custom(pools["train"], pools["dev"], task_type="ner", max_train=5, max_dev=2)
    assert len(train) == 5 and len(dev) == 2 and _tasks(train) == _tasks(dev) == {("ner", "CMeEE-V2")}
    # The suite runner passes the test set as `exclude` to every recipe.
    kept, _ = custom(pools["train"], None, task_type="ner", exclude=pools["train"][2:12])
    assert kept == [r for r in pools["train"] if r.task_type == "ner" and r not in pools["train"][2:12]]
    with pytest.raises(HarnessError, match="unknown option"):
        custom(pools["train"], bogus=1)
    with pytest.raises(HarnessError, match="no matching training"):
        custom(pools["train"], task_dataset="nope")


def test_sources_may_be_files(pools, tmp_path: Path) -> None:
    a = write_records(tmp_path / "a.jsonl", pools["train"][:10])
    b = write_records(tmp_path / "b.jsonl", pools["dev"][:10])
    assert load_source([a, b]) == pools["train"][:10] + pools["dev"][:10]
    assert load_source(str(a)) == pools["train"][:10]


@pytest.mark.shared_data
def test_rounds_on_the_real_toy_files(shared_data: Path) -> None:
    toy = shared_data / "promptcblue-toy"
    test = [r for r in load_source(toy / "test.json") if r.task_dataset == "CHIP-MDCFNPC"]
    r1 = round1(toy / "train.json", toy / "dev.json")
    assert len(_tasks(r1[0])) == 16
    r2 = round2(toy / "train.json", toy / "dev.json")
    assert any(f.kind == "task_mismatch" for f in detect_contamination(*r2, test))
    r3 = round3(toy / "train.json", toy / "dev.json", exclude=test)
    assert r3[0] and r3[1] and detect_contamination(*r3, test) == []

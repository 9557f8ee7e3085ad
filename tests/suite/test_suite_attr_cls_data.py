"""The study's suite on the real PromptCBLUE toy files: test split, the three rounds' data, contamination."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.steps import Data, contamination, recipe_splits
from harness.suite import TrainedSystem, load_suite

SUITE = Path(__file__).resolve().parents[2] / "suites" / "attr_cls.yaml"


@pytest.mark.shared_data
def test_attr_cls_suite_data_steps_on_the_toy_files(
    shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROMPTCBLUE_DIR", str(shared_data / "promptcblue-toy"))
    suite = load_suite(SUITE)
    data = Data(suite)
    test = data.test()
    assert test and {(r.task_type, r.task_dataset) for r in test} == {("attr_cls", "CHIP-MDCFNPC")}
    kinds = {}
    for system in suite.systems:
        if not isinstance(system, TrainedSystem):
            continue
        train, dev = recipe_splits(suite, system, data, test)
        found = contamination(train, dev, test, suite.data.test_task_type, suite.data.test_task_dataset)
        kinds[system.name] = {(f["kind"], tuple(f["splits"])) for f in found}
        if system.name == "round3":
            assert {r.task_dataset for r in train + dev} == {"CHIP-MDCFNPC"}
            assert not {r.sample_id for r in train + dev} & {r.sample_id for r in test}
    assert kinds["round3"] == set()  # the clean round
    assert ("task_mismatch", ("train", "dev")) in kinds["round2"]  # the study's mistake, flagged
    assert (
        len({r.task_dataset for r in recipe_splits(suite, suite.systems[1], data, test)[0]}) > 1
    )  # round1: all tasks

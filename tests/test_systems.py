"""The system providers `harness run` uses: one per kind, each saying how its system is answered."""

from __future__ import annotations

import json
import typing
from pathlib import Path

import pytest
from pydantic import TypeAdapter
from rich.console import Console

from harness.hashing import sha256_file, sha256_model_dir
from harness.records import ATTR_CLS_CHOICES, ATTR_CLS_HEADER, LONG_LABELS, Record
from harness.suite import MODEL_SYSTEMS, System
from harness.systems import PROVIDERS, Context, Plan

TEST = [
    Record(
        f"s{i}",
        "患者：头痛\n临床发现实体：头痛\n答：",
        f"{ATTR_CLS_HEADER}\n头痛：{LONG_LABELS['阳性']}",
        list(ATTR_CLS_CHOICES),
        "attr_cls",
        "CHIP-MDCFNPC",
    )
    for i in range(2)
]


def kind_of(cls: type) -> str:
    return typing.get_args(cls.model_fields["kind"].annotation)[0]


def test_every_system_kind_has_one_provider() -> None:
    union = typing.get_args(typing.get_args(System)[0])
    assert set(PROVIDERS) == {kind_of(cls) for cls in union}
    # the suite refuses a missing base_model for exactly the kinds whose provider needs one
    assert {k for k, p in PROVIDERS.items() if p.needs_base_model} == {kind_of(c) for c in MODEL_SYSTEMS}


class WholeSplit:
    """The suite's data as far as providers read it: the whole test split."""

    def test(self) -> list[Record]:
        return TEST


def plan_for(tmp_path: Path, system: dict, test: list[Record] = TEST) -> Plan:
    parsed = TypeAdapter(System).validate_python({"name": "s", **system}, context={"base_dir": tmp_path})
    ctx = Context(None, WholeSplit(), test, None, tmp_path, None, Console(file=None))  # type: ignore[arg-type]
    return PROVIDERS[parsed.kind].plan(ctx, parsed)


def test_zero_shot_is_the_base_model_itself(tmp_path: Path) -> None:
    assert plan_for(tmp_path, {"kind": "zero_shot"}) == Plan(on_base=True)


@pytest.mark.parametrize(("kind", "on_base"), [("adapter", True), ("checkpoint", False)])
def test_a_folder_is_served_on_the_base_or_alone(tmp_path: Path, kind: str, on_base: bool) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "adapter_config.json").write_text("{}", encoding="utf-8")
    plan = plan_for(tmp_path, {"kind": kind, "path": "m"})
    assert (plan.on_base, plan.adapter, plan.model) == (
        (True, folder, None) if on_base else (False, None, folder)
    )
    assert plan.provenance == {"dir": str(folder), "sha256": sha256_model_dir(folder)}
    assert plan.rows is None and plan.contamination is None


def test_rules_and_predictions_bring_their_own_rows(tmp_path: Path) -> None:
    rules = plan_for(tmp_path, {"kind": "rules"})
    assert [r["sample_id"] for r in rules.rows()] == ["s0", "s1"]  # type: ignore[misc]
    assert not rules.on_base and rules.model is None
    preds = tmp_path / "p.jsonl"
    preds.write_text("".join(json.dumps({"sample_id": r.sample_id, "text": "x"}) + "\n" for r in TEST))
    stored = plan_for(tmp_path, {"kind": "predictions", "path": "p.jsonl"})
    assert stored.provenance == {"file": str(preds), "sha256": sha256_file(preds)}
    assert stored.rows() == [  # type: ignore[misc]
        {"sample_id": r.sample_id, "text": "x", "system": "s", "source": str(preds)} for r in TEST
    ]
    # a --limit run scores the first records only; the file still has to cover the whole split
    limited = plan_for(tmp_path, {"kind": "predictions", "path": "p.jsonl"}, TEST[:1])
    assert [r["sample_id"] for r in limited.rows()] == ["s0"]  # type: ignore[misc]

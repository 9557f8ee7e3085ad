"""The keyword-rule system: the labels its rules give, and its place in a suite."""

from __future__ import annotations

import pytest

from harness.records import ATTR_CLS_CHOICES, ATTR_CLS_HEADER, LONG_LABELS, Record
from harness.rules import rule_answer, rule_predictions
from harness.scoring.official import official_pairs


def record(dialogue: str, entities: list[str]) -> Record:
    text = f"{dialogue}\n临床发现实体：{'，'.join(entities)}\n阴阳性选项：{'，'.join(ATTR_CLS_CHOICES)}\n答："
    return Record("x1", text, "", ATTR_CLS_CHOICES, "attr_cls", "CHIP-MDCFNPC")


@pytest.mark.parametrize(
    "dialogue,label",
    [
        ("患者：这两天头痛，挺难受的", "阳性"),
        ("患者：现在不头痛了", "阴性"),
        ("医生：有头痛吗？\n患者：没有", "阴性"),
        ("医生：有头痛吗？\n患者：有，好几天了", "阳性"),
        ("患者：不清楚算不算头痛", "其他"),
        ("患者：我妈以前也头痛", "不标注"),
    ],
)
def test_rule_labels(dialogue: str, label: str) -> None:
    answer = rule_answer(record(dialogue, ["头痛"]))
    assert answer.startswith(ATTR_CLS_HEADER + "\n")
    assert official_pairs(answer, ATTR_CLS_CHOICES) == {("头痛", LONG_LABELS[label])}


def test_rule_predictions_rows() -> None:
    rows = rule_predictions([record("患者：发烧", ["发烧", "咳嗽"])], "rules")
    assert rows[0]["sample_id"] == "x1" and rows[0]["system"] == "rules" and rows[0]["backend"] == "rules"
    # an entity the dialogue never mentions defaults to positive, as listed entities usually are
    assert official_pairs(str(rows[0]["text"]), ATTR_CLS_CHOICES) == {
        ("发烧", LONG_LABELS["阳性"]),
        ("咳嗽", LONG_LABELS["阳性"]),
    }

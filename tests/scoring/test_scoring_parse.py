"""Parsers and labels: one case table for every quirk models show, and the official rule to the letter."""

from __future__ import annotations

import pytest

from harness.records import ATTR_CLS_CHOICES, ATTR_CLS_HEADER, LONG_LABELS
from harness.scoring.labels import canonical_label
from harness.scoring.official import official_pairs
from harness.scoring.parse import (
    BLANK,
    EMPTY_LABEL,
    HEADER,
    KEPT,
    NO_SEPARATOR,
    parse_lenient,
    parse_strict,
)
from harness.scoring.tasks import TASKS

CHIP = TASKS["CHIP-MDCFNPC"]

H = ATTR_CLS_HEADER
POS, NEG, UNC, NA = (LONG_LABELS[k] for k in ("阳性", "阴性", "其他", "不标注"))

# (case id, text, expected lenient pairs [(entity, canonical label)], expected header line or None)
LENIENT_CASES = [
    ("well formed", f"{H}\n腹泻：{POS}\n发热：{NEG}", [("腹泻", "positive"), ("发热", "negative")], 0),
    ("half-width colon", f"{H}\n腹泻:{POS}", [("腹泻", "positive")], 0),
    ("missing header", f"腹泻：{POS}\n发热：{UNC}", [("腹泻", "positive"), ("发热", "uncertain")], None),
    (
        "numbering dot",
        f"{H}\n1. 腹泻：{POS}\n2. 发热：{NA}",
        [("腹泻", "positive"), ("发热", "not_annotated")],
        0,
    ),
    (
        "numbering 、 and ()",
        f"{H}\n1、腹泻：阳性\n(2) 发热：阴性",
        [("腹泻", "positive"), ("发热", "negative")],
        0,
    ),
    (
        "bullets",
        f"{H}\n- 腹泻：阳性\n* 发热：阴性\n• 咳嗽：其他",
        [("腹泻", "positive"), ("发热", "negative"), ("咳嗽", "uncertain")],
        0,
    ),
    ("extra spaces", f"{H}\n  腹泻 ：  {POS}  ", [("腹泻", "positive")], 0),
    ("crlf", f"{H}\r\n腹泻：{POS}\r\n发热：{NEG}\r\n", [("腹泻", "positive"), ("发热", "negative")], 0),
    ("lone cr", f"{H}\r腹泻：{POS}\r发热：{NEG}", [("腹泻", "positive"), ("发热", "negative")], 0),
    (
        "short labels",
        f"{H}\n腹泻：阳性\n发热：阴性\n咳嗽：其他\n鼻塞：不标注",
        [("腹泻", "positive"), ("发热", "negative"), ("咳嗽", "uncertain"), ("鼻塞", "not_annotated")],
        0,
    ),
    (
        "english labels",
        f"{H}\n腹泻: positive\n发热: Negative\n咳嗽: uncertain\n鼻塞: not annotated",
        [("腹泻", "positive"), ("发热", "negative"), ("咳嗽", "uncertain"), ("鼻塞", "not_annotated")],
        0,
    ),
    (
        "trailing words",
        f"{H}\n腹泻：阳性（患者自述）\n发热：negative, denied by the patient",
        [("腹泻", "positive"), ("发热", "negative")],
        0,
    ),
    (
        "imcs labels",
        "当前对话中的症状及其阴阳性判断为：\n咳嗽：没有患有该症状\n发热：患有该症状\n流涕：无法根据上下文确定病人是否患有该症状",
        [("咳嗽", "negative"), ("发热", "positive"), ("流涕", "uncertain")],
        0,
    ),
    ("unknown label kept as not_annotated", f"{H}\n腹泻：大概吧", [("腹泻", "not_annotated")], 0),
    (
        "two pairs on one line",
        f"{H}\n腹泻：阳性；发热：阴性",
        [("腹泻", "positive"), ("发热", "negative")],
        0,
    ),
    ("prose after the pairs", f"{H}\n腹泻：{POS}\n以上判断仅供参考", [("腹泻", "positive")], 0),
    ("blank lines", f"\n{H}\n\n腹泻：{POS}\n\n", [("腹泻", "positive")], 1),
    ("header without colon", "结果如下\n腹泻：阳性", [("腹泻", "positive")], 0),
    (
        "numeric entity is not numbering",
        f"{H}\n38.1：{POS}\n1.5度发热：{POS}",
        [("38.1", "positive"), ("1.5度发热", "positive")],
        0,
    ),
    ("empty text", "", [], None),
    ("prose only", "我觉得患者可能有腹泻", [], 0),
]


@pytest.mark.parametrize(
    ("text", "pairs", "header"), [c[1:] for c in LENIENT_CASES], ids=[c[0] for c in LENIENT_CASES]
)
def test_lenient_parser(text: str, pairs: list[tuple[str, str]], header: int | None) -> None:
    parsed = parse_lenient(text, ATTR_CLS_CHOICES, CHIP)
    assert [(p.entity, p.label) for p in parsed.pairs] == pairs
    assert parsed.header_line == header
    # every line gets exactly one diagnostic
    assert sorted(i for i, _, _ in parsed.diags) == list(range(len(parsed.lines)))


@pytest.mark.parametrize(
    ("text", "statuses"),
    [
        (f"{H}\n腹泻：{POS}", [HEADER, KEPT]),
        (f"{H}\n\n腹泻：{POS}\n仅供参考", [HEADER, BLANK, KEPT, NO_SEPARATOR]),
        (f"{H}\n腹泻：", [HEADER, EMPTY_LABEL]),
    ],
)
def test_lenient_diagnostics(text: str, statuses: list[str]) -> None:
    assert [s for _, s, _ in parse_lenient(text, ATTR_CLS_CHOICES, CHIP).diags] == statuses


# (case id, text, expected official pairs) — the official rule's quirks are kept, never fixed
STRICT_CASES = [
    ("header dropped", f"{H}\n腹泻：{POS}", {("腹泻", POS)}),
    ("missing header loses the first entity", f"腹泻：{POS}\n发热：{NEG}", {("发热", NEG)}),
    ("trailing space flips the label", f"{H}\n腹泻：{POS} ", {("腹泻", "不标注")}),
    ("entity stripped, label not", f"{H}\n 腹泻 ：{POS}", {("腹泻", POS)}),
    ("half-width colon skipped", f"{H}\n腹泻:{POS}", set()),
    ("three parts skipped", f"{H}\n腹泻：{POS}：x", set()),
    ("short label becomes 不标注", f"{H}\n腹泻：阳性", {("腹泻", "不标注")}),
    (
        "crlf leaves \\r in the label",
        f"{H}\r\n腹泻：{POS}\r\n发热：{NEG}",
        {("腹泻", "不标注"), ("发热", NEG)},
    ),
    ("duplicates collapse", f"{H}\n腹泻：{POS}\n腹泻：{POS}", {("腹泻", POS)}),
    ("conflict keeps both", f"{H}\n腹泻：{POS}\n腹泻：{NEG}", {("腹泻", POS), ("腹泻", NEG)}),
]


@pytest.mark.parametrize(
    ("text", "expected"), [c[1:] for c in STRICT_CASES], ids=[c[0] for c in STRICT_CASES]
)
def test_official_rule_and_strict_parser(text: str, expected: set[tuple[str, str]]) -> None:
    assert official_pairs(text, ATTR_CLS_CHOICES) == expected
    strict = parse_strict(text, ATTR_CLS_CHOICES, CHIP)
    assert {p.entity for p in strict.pairs} == {e for e, _ in expected}
    assert strict.diags[0][1] == HEADER


LABEL_CASES = [
    *[
        (long, {"阳性": "positive", "阴性": "negative", "其他": "uncertain", "不标注": "not_annotated"}[s])
        for s, long in LONG_LABELS.items()
    ],
    ("阳性", "positive"),
    ("阴性", "negative"),
    ("其他", "uncertain"),
    ("不标注", "not_annotated"),
    ("患有该症状", "positive"),
    ("没有患有该症状", "negative"),
    ("无法根据上下文确定病人是否患有该症状", "uncertain"),
    ("Positive", "positive"),
    ("NEGATIVE.", "negative"),
    ("not_annotated", "not_annotated"),
    ("阳性。", "positive"),
    ("阴性（否认）", "negative"),
    ("「阳性」", "positive"),
    ("positive because the patient says so", "positive"),
    ("noisy", None),
    ("12", None),
    ("", None),
    ("胡说八道", None),
]


@pytest.mark.parametrize(("raw", "expected"), LABEL_CASES)
def test_canonical_label(raw: str, expected: str | None) -> None:
    assert canonical_label(raw) == expected

"""The contamination detector: ids, normalized inputs, near-duplicates, task mismatch."""

from __future__ import annotations

from dataclasses import replace

import pytest

from harness.datasets.contamination import detect_contamination, near_duplicate_pairs, normalize_text
from harness.records import Record


def _rec(sid: str, text: str, dataset: str = "CHIP-MDCFNPC", task: str = "attr_cls") -> Record:
    return Record(sid, text, "", None, task, dataset)


DIALOG = (
    "医疗对话中临床发现实体的阴阳性判别：\n患者：我这两天一直头痛，晚上睡不好，还有点低烧，三十七度五。\n"
    "医生：有没有咳嗽或者流鼻涕？\n患者：没有咳嗽，也没有鼻涕，就是头痛得厉害，吃了布洛芬好一点。\n"
    "医生：建议先多休息，如果持续发热要去医院查血常规。\n临床发现实体：头痛，低烧，咳嗽\n答："
)
OTHER = (
    "医疗对话中临床发现实体的阴阳性判别：\n患者：孩子拉肚子三天了，一天五六次，水样便。\n"
    "医生：精神怎么样？有没有呕吐？\n患者：精神还可以，不吐，就是不太爱吃饭。\n临床发现实体：腹泻，呕吐\n答："
)


def test_normalize_text_ignores_space_case_punctuation_and_width() -> None:
    assert normalize_text("患者：头痛， ABC！\n") == normalize_text("患者:头痛,abc!") == "患者头痛abc"


@pytest.mark.parametrize(
    ("dev_record", "kind"),
    [
        (_rec("t1", OTHER), "id_overlap"),
        (_rec("d1", DIALOG.replace("，", ", ").replace("患者：", "患者 : ")), "exact_duplicate"),
        (
            _rec("d1", DIALOG.replace("三十七度五", "三十八度").replace("布洛芬", "对乙酰氨基酚")),
            "near_duplicate",
        ),
        (_rec("d1", OTHER, dataset="IMCS-V2-SR"), "task_mismatch"),
    ],
)
def test_each_kind_is_found(dev_record: Record, kind: str) -> None:
    train = [_rec("t0", DIALOG), _rec("t1", "完全不同的内容：" + OTHER[::-1])]
    findings = detect_contamination(train, [dev_record], None)
    assert [f.kind for f in findings] == [kind]
    assert findings[0].sample_ids == [dev_record.sample_id] and findings[0].severity == "warning"


def test_unrelated_records_are_clean() -> None:
    assert detect_contamination([_rec("a", DIALOG)], [_rec("b", OTHER)], None) == []


def test_test_split_findings_are_errors_and_dev_test_pairs_are_checked() -> None:
    findings = detect_contamination(
        [_rec("a", DIALOG)], [_rec("b", OTHER)], [_rec("c", DIALOG), _rec("b", OTHER)]
    )
    got = {(f.kind, f.splits, f.severity) for f in findings}
    assert ("exact_duplicate", ("train", "test"), "error") in got
    assert ("id_overlap", ("dev", "test"), "error") in got
    assert ("exact_duplicate", ("dev", "test"), "error") in got


def test_task_is_the_type_and_dataset_pair() -> None:
    # Same task_type (attr_cls), other dataset: the study's Round 2 mistake.
    findings = detect_contamination([_rec("a", DIALOG)], None, [_rec("b", OTHER, dataset="IMCS-V2-SR")])
    assert [(f.kind, f.severity) for f in findings] == [("task_mismatch", "error")]
    # An explicit system task overrides what the training data holds.
    explicit = detect_contamination([_rec("a", DIALOG)], [_rec("b", OTHER)], None, task_type="ner")
    assert explicit == []  # no training record is ner, so nothing to compare against


def test_near_duplicates_scale_and_find_planted_copies() -> None:
    from harness.datasets.synthetic import synth_records

    train = list(synth_records(2000, seed=21))
    planted = [
        replace(r, sample_id=f"copy-{i}", input=r.input.replace("患者", "病人", 1))
        for i, r in enumerate(train[:5])
    ]
    pairs = near_duplicate_pairs(train, planted, threshold=0.5)
    assert {q for _, q, _ in pairs} == {p.sample_id for p in planted}
    assert {(p, q) for p, q, _ in pairs} >= {(train[i].sample_id, f"copy-{i}") for i in range(5)}

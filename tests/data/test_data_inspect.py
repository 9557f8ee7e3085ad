import json
from pathlib import Path

import pytest

from harness.datasets.inspection import inspect_file, template_signature
from harness.datasets.synthetic import synth_records
from harness.datasets.templates import ATTR_CLS_TEMPLATES, IMCS_SR_CHOICES, IMCS_SR_HEADER
from harness.errors import DataError
from harness.records import ATTR_CLS_CHOICES, ATTR_CLS_HEADER, LONG_LABELS, Record

POS, NEG = LONG_LABELS["阳性"], LONG_LABELS["阴性"]


def rec(sid: str, target: str, mentions: str = "咳嗽，发热", **kw: object) -> dict:
    base = {
        "sample_id": sid,
        "input": f"判断：\n患者：咳嗽发热\n临床发现实体：{mentions}\n答：",
        "target": target,
        "answer_choices": ATTR_CLS_CHOICES,
        "task_type": "attr_cls",
        "task_dataset": "CHIP-MDCFNPC",
    }
    return {**base, **kw}


@pytest.mark.parametrize(
    ("target", "kind", "message"),
    [
        (f"咳嗽：{POS}\n发热：{NEG}", "header", "first line is not the header"),
        (f"{ATTR_CLS_HEADER}\n咳嗽：{POS}\n发热是{NEG}", "unparsable", "line 3: expected 'entity：label'"),
        (
            f"{ATTR_CLS_HEADER}\n咳嗽：阳性",
            "label_outside_choices",
            "line 2: label '阳性' is not one of answer_choices",
        ),
        (f"{ATTR_CLS_HEADER}\n咳嗽：{POS}\n咳嗽：{POS}", "duplicate_entity", "entity '咳嗽' appears 2 times"),
        (
            f"{ATTR_CLS_HEADER}\n头痛：{POS}",
            "unlisted_entity",
            "entity '头痛' is not in the input's entity list",
        ),
        (f"{ATTR_CLS_HEADER}\n随便说说", "no_pairs", "no line reads as"),
    ],
)
def test_content_findings_name_file_line_and_kind(
    tmp_path: Path, target: str, kind: str, message: str
) -> None:
    path = tmp_path / "r.jsonl"
    good = rec("a", f"{ATTR_CLS_HEADER}\n咳嗽：{POS}\n发热：{NEG}")
    path.write_text(
        json.dumps(good, ensure_ascii=False) + "\n" + json.dumps(rec("b", target), ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    out = inspect_file(path, on_error="fail").to_json()  # content findings are never fatal
    assert out["problem_counts"][kind] >= 1
    assert any(
        p.startswith(f"{path}:2: field target: ") and message in p and p.endswith(f"[{kind}]")
        for p in out["problems"]
    ), out["problems"]
    assert not any(f"{path}:1:" in p for p in out["problems"])


def test_bad_lines_are_listed_when_skipping_and_fatal_when_failing(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text(
        json.dumps(rec("a", ATTR_CLS_HEADER + f"\n咳嗽：{POS}"), ensure_ascii=False) + "\n{oops\n",
        encoding="utf-8",
    )
    out = inspect_file(path).to_json()
    assert out["records"] == 1 and out["problem_counts"]["bad_line"] == 1
    assert out["problems"][0].startswith(f"{path}:2: invalid JSON")
    with pytest.raises(DataError, match=r":2: invalid JSON"):
        inspect_file(path, on_error="fail")


def test_synthetic_file_summary(tmp_path: Path) -> None:
    from harness.datasets.synthetic import write_synth

    path = write_synth(tmp_path / "s.jsonl", n=300, seed=0, tasks=("attr_cls", "imcs_sr", "ner"))
    out = inspect_file(path).to_json()
    assert out["by_task_dataset"] == {"CHIP-MDCFNPC": 100, "IMCS-V2-SR": 100, "CMeEE-V2": 100}
    assert out["by_task_type"] == {"attr_cls": 200, "ner": 100}
    assert set(out["labels"]["CHIP-MDCFNPC"]) == set(ATTR_CLS_CHOICES)
    assert set(out["labels"]["IMCS-V2-SR"]) == set(IMCS_SR_CHOICES)
    assert len(out["templates"]["CHIP-MDCFNPC"]) == len(ATTR_CLS_TEMPLATES)
    assert out["ends_with_answer"]["CHIP-MDCFNPC"] == {"yes": 100, "no": 0}
    assert out["problem_counts"] == {"bad_line": 0}, out["problems"][:5]


def test_template_signature_distinguishes_templates_with_a_shared_first_line() -> None:
    a = Record("a", "找出指定的实体：\n句子。\n类型选项：疾病\n答：", "", ["疾病"], "ner", "CMeEE-V2")
    b = Record("b", "找出指定的实体：\n句子。\n实体类型选项：疾病", "", ["疾病"], "ner", "CMeEE-V2")
    c = Record("c", "句子。\n问题：句子中的疾病实体是什么？\n答：", "", ["疾病"], "ner", "CMeEE-V2")
    assert template_signature(a) != template_signature(b)
    assert template_signature(c) == "… 问题：句子中的[LIST_LABELS]实体是什么？"
    imcs = next(r for r in synth_records(4, 0, ("imcs_sr",)))
    assert imcs.target.startswith(IMCS_SR_HEADER)
    assert template_signature(imcs).endswith("可选")


def test_real_testA_inputs(shared_data: Path) -> None:
    out = inspect_file(
        shared_data / "promptcblue-testA" / "chip-mdcfnpc-testA-inputs.jsonl", on_error="fail"
    ).to_json()
    assert out["records"] == 600
    assert sorted(out["templates"]["CHIP-MDCFNPC"].values()) == [141, 147, 150, 162]  # data README
    assert out["ends_with_answer"]["CHIP-MDCFNPC"] == {"yes": 353, "no": 247}
    assert out["empty_targets"]["CHIP-MDCFNPC"] == 600


@pytest.mark.parametrize("name", ["train.json", "dev.json", "test.json"])
def test_real_toy_files(shared_data: Path, name: str) -> None:
    out = inspect_file(shared_data / "promptcblue-toy" / name, on_error="fail").to_json()
    assert out["records"] == 80 and out["by_task_dataset"]["CHIP-MDCFNPC"] == 5
    assert len(out["by_task_dataset"]) == 16
    if name != "test.json":
        assert sum(out["labels"]["CHIP-MDCFNPC"].values()) > 0
        assert set(out["labels"]["CHIP-MDCFNPC"]) <= set(ATTR_CLS_CHOICES)
        # the only real finding in the toy gold files: an entity listed twice in one target
        assert set(out["problem_counts"]) <= {"bad_line", "duplicate_entity"}

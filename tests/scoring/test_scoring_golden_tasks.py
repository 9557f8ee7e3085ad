"""Golden outputs of IMCS-V2-SR and CMeEE-V2, as test_scoring_golden.py keeps CHIP-MDCFNPC's: the
summary on seeded synthetic predictions and the traces of one prediction of every quirk.

After an intended change, rewrite the files and review their diff:
    HARNESS_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/scoring/test_scoring_golden_tasks.py
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from harness.datasets.synthetic import synth_predictions, synth_records
from harness.records import Record
from harness.scoring.pipeline import ScoringConfig, score
from tests.scoring.test_scoring_golden import GOLDEN, _check
from tests.scoring.test_scoring_official_reference import ref_answer, ref_counts

IMCS, CMEEE = "IMCS-V2-SR", "CMeEE-V2"

# ---- IMCS-V2-SR ---------------------------------------------------------------------------
IMCS_CHOICES = ["没有患有该症状", "患有该症状", "无法根据上下文确定病人是否患有该症状"]
YES, NO, UNSURE = "患有该症状", "没有患有该症状", "无法根据上下文确定病人是否患有该症状"
IH = "当前对话中的症状及其阴阳性判断为："
IMCS_GOLD = f"{IH}\n发热：{YES}\n咳嗽：{NO}\n头痛：{UNSURE}"
IMCS_INPUT = "对话历史：\n医生：哪里不舒服？\n当前对话：\n患者：发热，不咳嗽，头痛说不好\n答："
IMCS_QUIRKS = {
    "exact": IMCS_GOLD,
    "label_flipped": IMCS_GOLD.replace(f"咳嗽：{NO}", f"咳嗽：{YES}"),
    "colloquial_variant": IMCS_GOLD.replace("发热", "发烧"),
    "no_header": IMCS_GOLD.split("\n", 1)[1],
    "short_labels_numbered": "1. 发热: 阳性\n2. 咳嗽: 阴性\n3. 头痛: 不确定",
    "crlf": IMCS_GOLD.replace("\n", "\r\n"),
    "trailing_space": IMCS_GOLD.replace(f"发热：{YES}", f"发热：{YES} "),
    "duplicate_and_conflict": f"{IMCS_GOLD}\n发热：{YES}\n发热：{NO}",
    "line_dropped": IMCS_GOLD.replace(f"\n咳嗽：{NO}", ""),
    "shuffled_with_prose": f"{IH}\n头痛：{UNSURE}\n咳嗽：{NO}\n发热：{YES}\n以上判断仅供参考",
    "hallucination": f"{IMCS_GOLD}\n头顶发光：{YES}",
    # outside the choices: the official rule reads it as uncertain, which gold says
    "label_outside_choices": IMCS_GOLD.replace(f"头痛：{UNSURE}", "头痛：说不好"),
    "prose_only": "患者有发热，没有咳嗽。",
    "empty": "",
}

# ---- CMeEE-V2 -----------------------------------------------------------------------------
NER_CHOICES = ["疾病", "临床表现", "身体部位"]
NH = "上述句子中的实体包含："
NER_GOLD = f"{NH}\n疾病实体：肺炎，哮喘\n临床表现实体：咳嗽\n身体部位实体："
NER_INPUT = "找出句子中的疾病，临床表现，身体部位实体：\n患者肺炎合并哮喘，伴咳嗽。\n答："
NER_QUIRKS = {
    "exact": NER_GOLD,
    "no_header": NER_GOLD.split("\n", 1)[1],
    "crlf": NER_GOLD.replace("\n", "\r\n"),
    "wrong_type": f"{NH}\n疾病实体：肺炎\n临床表现实体：咳嗽，哮喘\n身体部位实体：",
    "type_outside_choices": f"{NH}\n疾病实体：肺炎，哮喘\n症状实体：咳嗽",
    "type_without_suffix": f"{NH}\n疾病：肺炎，哮喘\n临床表现：咳嗽",
    "half_width_colon": f"{NH}\n疾病实体:肺炎，哮喘\n临床表现实体：咳嗽",
    "other_separators": f"{NH}\n疾病实体：肺炎、哮喘\n临床表现实体：咳嗽",
    "numbered": f"{NH}\n1. 疾病实体：肺炎，哮喘\n2. 临床表现实体：咳嗽",
    "boundary": f"{NH}\n疾病实体：肺，哮喘\n临床表现实体：咳嗽",
    "hallucination": f"{NER_GOLD}头",
    "duplicate_line": f"{NER_GOLD}\n疾病实体：肺炎",
    "placeholder": NER_GOLD + "无",
    "prose_only": "句子里有肺炎和哮喘。",
    "empty": "",
}

TASKS = {
    # task: (synthetic task name, golden file prefix, choices, gold, input, quirks)
    IMCS: ("imcs_sr", "imcs_sr", IMCS_CHOICES, IMCS_GOLD, IMCS_INPUT, IMCS_QUIRKS),
    CMEEE: ("ner", "cmeee", NER_CHOICES, NER_GOLD, NER_INPUT, NER_QUIRKS),
}


def _records(task: str) -> list[Record]:
    _, _, choices, gold, text, quirks = TASKS[task]
    task_type = "ner" if task == CMEEE else "attr_cls"
    return [Record(name, text, gold, list(choices), task_type, task) for name in quirks]


@pytest.mark.parametrize("task", list(TASKS))
def test_summary_on_synthetic_predictions(task: str) -> None:
    synth, prefix = TASKS[task][:2]
    records = list(synth_records(300, seed=11, tasks=(synth,)))
    assert {r.task_dataset for r in records} == {task}
    summary = score(records, synth_predictions(records, seed=12), ScoringConfig()).summary
    if summary["protocol"]["synonyms"] is not None:
        del summary["protocol"]["synonyms"]  # the dictionaries' digest changes with any edit
    _check(f"{prefix}_synth300_summary.json", summary)


@pytest.mark.parametrize("task", list(TASKS))
def test_traces_of_every_quirk(task: str) -> None:
    prefix, quirks = TASKS[task][1], TASKS[task][5]
    result = score(_records(task), quirks, ScoringConfig(bootstrap_resamples=0))
    _check(f"{prefix}_quirk_traces.json", {t["sample_id"]: t for t in result.traces})


def _golden_traces(task: str) -> dict[str, Any]:
    return json.loads((GOLDEN / f"{TASKS[task][1]}_quirk_traces.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("task", list(TASKS))
def test_golden_traces_hold_the_official_counts(task: str) -> None:
    """Each stored trace's official counts are PromptCBLUE's (the reference of
    test_scoring_official_reference.py), so a golden file cannot store a wrong number."""
    _, _, choices, gold, _, quirks = TASKS[task]
    traces = _golden_traces(task)
    for name, pred in quirks.items():
        want = ref_counts(ref_answer(task, gold, choices), ref_answer(task, pred, choices))
        got = traces[name]["official"]
        assert (got["tp"], got["fp"], got["fn"]) == want, name


@pytest.mark.parametrize(
    ("task", "quirk", "tags"),
    [
        (IMCS, "exact", set()),
        (IMCS, "colloquial_variant", set()),
        (IMCS, "no_header", {"header"}),
        (IMCS, "duplicate_and_conflict", {"duplicate", "conflict"}),
        (IMCS, "line_dropped", {"missing"}),
        (IMCS, "hallucination", {"hallucination"}),
        (IMCS, "label_outside_choices", {"drift"}),
        (IMCS, "prose_only", {"drift", "missing"}),
        (CMEEE, "exact", set()),
        (CMEEE, "no_header", set()),
        (CMEEE, "crlf", set()),
        (CMEEE, "wrong_type", {"wrong_type"}),
        (CMEEE, "type_outside_choices", {"wrong_type", "drift"}),
        (CMEEE, "half_width_colon", {"drift"}),
        (CMEEE, "boundary", {"boundary", "missing"}),
        (CMEEE, "hallucination", {"hallucination"}),
        (CMEEE, "duplicate_line", {"duplicate"}),
        # one line of prose reads as a header with no mentions, as "上述句子没有指定类型实体" does
        (CMEEE, "prose_only", {"missing"}),
        (CMEEE, "empty", {"missing"}),
    ],
)
def test_golden_traces_carry_the_expected_tags(task: str, quirk: str, tags: set[str]) -> None:
    """The golden files themselves are checked against what each quirk must show."""
    assert {t["tag"] for t in _golden_traces(task)[quirk]["tags"]} == tags

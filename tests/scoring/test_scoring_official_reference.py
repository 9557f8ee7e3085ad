"""`harness score`'s official numbers against an independent reference of PromptCBLUE's evaluation.

The reference below is written from PromptCBLUE's own scripts (github.com/michael-wzhu/PromptCBLUE:
src/evaluation/post_generate_process.py at 208ea2f, `process_generated_results`, lines 50-80 for
CMeEE-V2, 417-444 for CHIP-MDCFNPC, 491-518 for IMCS-V2-SR; src/evaluation/evaluators.py at 57d32e7,
`calc_info_extract_task_scores`, lines 12-67; src/evaluation/evaluate.py `calc_scores`, which sends
all three tasks there) step by step, and uses nothing of harness:

- a prediction line's `target` is the text and its own `answer_choices` are the choices;
- CHIP-MDCFNPC and IMCS-V2-SR: the text split on "\\n", the first piece dropped; a piece counts
  only when splitting it on "：" gives exactly two parts; entity = part one stripped, label =
  part two as it is, replaced by 不标注 (CHIP-MDCFNPC) or 无法根据上下文确定病人是否患有该症状
  (IMCS-V2-SR) when it is not one of the choices;
- CMeEE-V2: for each choice in order, each "\\n"-piece that starts with `{choice}实体` (not
  stripped first), with every `{choice}实体：` removed, split on "，", each part stripped,
  empty ones dropped;
- each answer is a list of dicts; the evaluator keys a dict by the json.dumps of its values in
  sorted key order, makes a set per sample (duplicates count once), sums |G∩P|, |P−G|, |G−P|
  over the samples, and gives P = tp/(tp+fp), R = tp/(tp+fn), F1 = 2PR/(P+R), all 0 when tp is 0;
- gold is the same post-processing of the gold targets (the toy `dev_structured.json` is that:
  checked below when ../shared/data is present).

Hypothesis draws gold and predictions (well-formed texts mutated the ways models break them,
and free mixes of the characters the rules treat specially) and the scorer must give the
reference's per-sample counts, pairs and micro P/R/F1 exactly, through `score` and through the
`harness score` command on files.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.cli import cli
from harness.records import Record
from harness.scoring.pipeline import Scorer, ScoringConfig, score

# ---- the reference ------------------------------------------------------------------------

CHIP, IMCS, CMEEE = "CHIP-MDCFNPC", "IMCS-V2-SR", "CMeEE-V2"
# what each attr_cls rule writes for a label that is not one of the line's answer choices
OUTSIDE_LABEL = {CHIP: "不标注", IMCS: "无法根据上下文确定病人是否患有该症状"}


def ref_answer(task: str, text: str, choices: list[str]) -> list[dict[str, str]]:
    """The structured answer PromptCBLUE's post-processing makes of one text."""
    answer: list[dict[str, str]] = []
    if task == CMEEE:
        for choice in choices:
            for piece in text.split("\n"):
                if not piece.startswith(choice + "实体"):
                    continue
                for part in piece.replace(choice + "实体：", "").split("，"):
                    if len(part.strip()) > 0:
                        answer.append({"entity": part.strip(), "type": choice})
        return answer
    for piece in text.split("\n")[1:]:
        parts = piece.split("：")
        if len(parts) != 2:
            continue
        label = parts[1] if parts[1] in choices else OUTSIDE_LABEL[task]
        answer.append({"entity": parts[0].strip(), "attr": label})
    return answer


def _key(inst: dict[str, str]) -> tuple[str, ...]:
    return tuple(json.dumps(inst[k], ensure_ascii=False) for k in sorted(inst))


def ref_counts(gold: list[dict[str, str]], pred: list[dict[str, str]]) -> tuple[int, int, int]:
    g, p = {_key(x) for x in gold}, {_key(x) for x in pred}
    return len(g & p), len(p - g), len(g - p)


def ref_prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    if not tp:
        return 0, 0, 0
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    return precision, recall, 2 * precision * recall / (precision + recall)


def ref_pairs(answer: list[dict[str, str]]) -> set[tuple[str, str]]:
    """The answer as (entity, attr or type) pairs, to compare with a trace's official pairs."""
    return {(x["entity"], x.get("attr", x.get("type", ""))) for x in answer}


def ref_evaluate(samples: list[tuple[str, str, str, list[str]]]) -> dict[str, Any]:
    """(task, gold text, predicted text, choices) per sample, in order -> per-sample counts and
    pairs, and per task the micro counts and P/R/F1."""
    per_sample, totals = [], {}
    for task, gold, pred, choices in samples:
        g, p = ref_answer(task, gold, choices), ref_answer(task, pred, choices)
        c = ref_counts(g, p)
        per_sample.append({"counts": c, "gold": ref_pairs(g), "pred": ref_pairs(p)})
        t = totals.setdefault(task, [0, 0, 0])
        for i in range(3):
            t[i] += c[i]
    tasks = {t: {"counts": tuple(c), "prf": ref_prf(*c)} for t, c in totals.items()}
    return {"samples": per_sample, "tasks": tasks}


def ref_evaluate_files(gold_path: Path, pred_path: Path) -> dict[str, Any]:
    """The reference on a gold file and a prediction file of the submission form, read the way
    PromptCBLUE reads them: line by line, the text from `target`, the choices from the line."""
    with open(gold_path, encoding="utf-8") as f:
        gold = [json.loads(line) for line in f]
    with open(pred_path, encoding="utf-8") as f:
        preds = [json.loads(line) for line in f]
    assert [g["sample_id"] for g in gold] == [p["sample_id"] for p in preds]
    return ref_evaluate(
        [
            (p["task_dataset"], g["target"], p["target"], p["answer_choices"])
            for g, p in zip(gold, preds, strict=True)
        ]
    )


# ---- the strategies -----------------------------------------------------------------------

CHIP_CHOICES = [
    "已有症状疾病或者假设未来可能发生的疾病等",
    "未患有症状疾病",
    "没有回答、不知道、回答不明确或者模棱两可不好推断",
    "不标注",
]
IMCS_CHOICES = ["没有患有该症状", "患有该症状", "无法根据上下文确定病人是否患有该症状"]
# types whose names are prefixes of one another (身体/身体部位, 药物/药物实体) or of the suffix
NER_TYPES = ["疾病", "身体", "身体部位", "临床表现", "药物", "药物实体", "实体"]
ENTITIES = ["发热", "咳嗽", "头痛", "肺炎", "拉肚子", "右下腹疼痛", "发热 ", " 咳嗽", "a"]
SPACES = [" ", "\u3000", "\xa0", "\t", "\u2028", "\x85", "\u200b"]
SEPARATORS = ["\n", "\n", "\n", "\r\n", "\r", "\n\n"]
HEADERS = {
    CHIP: "上述对话中临床发现实体以及其阴阳性判别如下：",
    IMCS: "当前对话中的症状及其阴阳性判断为：",
    CMEEE: "上述句子中的实体包含：",
}


@st.composite
def choices_of(draw: st.DrawFn, task: str) -> list[str]:
    """The task's usual choices, or a shuffled subset (IMCS-V2-SR then may lack its fallback label),
    with now and then a choice that is a prefix of another."""
    if task == CMEEE:
        return draw(st.lists(st.sampled_from(NER_TYPES), min_size=1, max_size=4))
    usual = CHIP_CHOICES if task == CHIP else IMCS_CHOICES
    if draw(st.booleans()):
        return list(usual)
    extra = draw(st.lists(st.sampled_from(["患有", "阳性", "不标注 "]), max_size=1))
    return draw(st.permutations(usual))[: draw(st.integers(1, len(usual)))] + extra


@st.composite
def well_formed(draw: st.DrawFn, task: str, choices: list[str]) -> str:
    """An answer in the task's own format."""
    lines = [HEADERS[task]]
    if task == CMEEE:
        for choice in draw(st.lists(st.sampled_from(choices), min_size=1, max_size=4)):
            mentions = draw(st.lists(st.sampled_from(ENTITIES), max_size=3))
            lines.append(f"{choice}实体：{'，'.join(mentions)}")
    else:
        for _ in range(draw(st.integers(1, 4))):
            lines.append(f"{draw(st.sampled_from(ENTITIES))}：{draw(st.sampled_from(choices))}")
    return "\n".join(lines)


def _fragments(task: str, choices: list[str]) -> list[str]:
    typed = [f"{c}实体{colon}" for c in choices for colon in ("", "：", ":")]
    return [
        *ENTITIES,
        *SPACES,
        *choices,
        "阳性",
        "不确定",
        "患有该症状 ",
        "",
        *typed,
        "：",
        ":",
        "，",
        ",",
        "、",
        "无",
        "1. ",
        "- ",
        HEADERS[task],
    ]


@st.composite
def free_text(draw: st.DrawFn, task: str, choices: list[str]) -> str:
    """Lines of fragments the rules treat specially, joined by any line break."""
    frag = st.sampled_from(_fragments(task, choices))
    lines = draw(st.lists(st.lists(frag, max_size=5).map("".join), max_size=6))
    seps = draw(st.lists(st.sampled_from(SEPARATORS), min_size=len(lines), max_size=len(lines)))
    return "".join(line + sep for line, sep in zip(lines, seps, strict=True)).removesuffix("\n")


MUTATIONS = [
    "crlf", "lone_cr", "repeat_line", "drop_header", "half_width", "pad", "pad_inside",
    "empty_mention", "relabel", "no_colon", "two_colons", "shuffle", "prose", "empty",
]  # fmt: skip


@st.composite
def mutated(draw: st.DrawFn, task: str, text: str, choices: list[str]) -> str:
    """`text` broken the ways models break answers, one to four times."""
    for _ in range(draw(st.integers(1, 4))):
        lines = text.split("\n")
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(MUTATIONS))
        if op == "crlf":
            text = text.replace("\n", "\r\n")
        elif op == "lone_cr":
            text = "\n".join(lines[: i + 1]) + "\r" + "\n".join(lines[i + 1 :])
        elif op == "repeat_line":
            text = "\n".join([*lines, lines[i]])
        elif op == "drop_header":
            text = "\n".join(lines[1:])
        elif op == "half_width":
            lines[i] = lines[i].replace("：", ":", 1).replace("，", ",", 1)
            text = "\n".join(lines)
        elif op == "pad":
            space = draw(st.sampled_from(SPACES))
            lines[i] = draw(st.sampled_from([space + lines[i], lines[i] + space]))
            text = "\n".join(lines)
        elif op == "pad_inside":
            lines[i] = (
                lines[i].replace("：", draw(st.sampled_from(["： ", " ："])), 1).replace("，", "， ", 1)
            )
            text = "\n".join(lines)
        elif op == "empty_mention":
            lines[i] = lines[i].replace("，", "，，", 1) + draw(st.sampled_from(["，", "， ", ""]))
            text = "\n".join(lines)
        elif op == "relabel":
            head = lines[i].split("：")[0]
            lines[i] = f"{head}：{draw(st.sampled_from([*choices, '阳性', '可能有']))}"
            text = "\n".join(lines)
        elif op == "no_colon":
            lines[i] = lines[i].replace("：", "", 1)
            text = "\n".join(lines)
        elif op == "two_colons":
            lines[i] = lines[i] + "：是"
            text = "\n".join(lines)
        elif op == "shuffle":
            text = "\n".join([lines[0], *draw(st.permutations(lines[1:]))])
        elif op == "prose":
            text = "\n".join([*lines, "以上判断仅供参考", ""])
        else:  # "empty"
            text = ""
    return text


@st.composite
def samples(draw: st.DrawFn, tasks: list[str], n: int) -> list[tuple[str, str, str, list[str]]]:
    """`n` samples (task, gold, prediction, choices); the gold never blank (gold files need a target)."""
    out = []
    for _ in range(n):
        task = draw(st.sampled_from(tasks))
        choices = draw(choices_of(task))
        gold = draw(st.one_of(well_formed(task, choices), free_text(task, choices)))
        if not gold.strip():
            gold = HEADERS[task]
        pred = draw(
            st.one_of(
                st.just(gold),
                mutated(task, gold, choices),
                well_formed(task, choices),
                free_text(task, choices),
                st.just(""),
            )
        )
        out.append((task, gold, pred, choices))
    return out


def _records(drawn: list[tuple[str, str, str, list[str]]]) -> list[Record]:
    task_type = {CHIP: "attr_cls", IMCS: "attr_cls", CMEEE: "ner"}
    return [
        Record(f"s{i}", "输入", gold, choices, task_type[task], task)
        for i, (task, gold, _, choices) in enumerate(drawn)
    ]


def _task_blocks(summary: dict[str, Any], records: list[Record]) -> dict[str, dict[str, Any]]:
    if "by_task" in summary:
        return summary["by_task"]
    return {records[0].task_dataset: summary}


def _check(
    ref: dict[str, Any], sample_ids: list[str], counts: dict[str, tuple], traces: list, blocks: dict
) -> None:
    """The scorer's per-sample counts and pairs, and each task's micro block, equal the reference's."""
    by_id = {t["sample_id"]: t for t in traces}
    for sid, want in zip(sample_ids, ref["samples"], strict=True):
        assert counts[sid] == want["counts"], sid
        trace = by_id[sid]
        assert (trace["official"]["tp"], trace["official"]["fp"], trace["official"]["fn"]) == want[
            "counts"
        ], sid
        assert {tuple(p) for p in trace["gold_pairs"]["official"]} == want["gold"], sid
        assert {tuple(p) for p in trace["pred_pairs"]["official"]} == want["pred"], sid
    assert set(blocks) == set(ref["tasks"])
    for task, want in ref["tasks"].items():
        got = blocks[task]["official"]
        assert (got["tp"], got["fp"], got["fn"]) == want["counts"], task
        # the same arithmetic in the same order: equal to the last bit
        assert (got["precision"], got["recall"], got["f1"]) == want["prf"], task


# one Scorer for every example: its line and text caches must never carry one sample into another
SCORER = Scorer(ScoringConfig(bootstrap_resamples=0))
TASK_SETS = st.sampled_from([[CHIP], [IMCS], [CMEEE], [IMCS, CMEEE], [CHIP, IMCS, CMEEE]])


def _score_and_check(drawn: list[tuple[str, str, str, list[str]]]) -> None:
    records = _records(drawn)
    preds = {r.sample_id: pred for r, (_, _, pred, _) in zip(records, drawn, strict=True)}
    result = score(records, preds, scorer=SCORER)
    counts = {
        sid: tuple(int(x) for x in row[:3]) for sid, row in zip(result.sample_ids, result.counts, strict=True)
    }
    blocks = _task_blocks(result.summary, records)
    _check(ref_evaluate(drawn), [r.sample_id for r in records], counts, result.traces, blocks)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_score_gives_the_official_counts_of_every_sample_and_task(data: st.DataObject) -> None:
    tasks = data.draw(TASK_SETS)
    _score_and_check(data.draw(samples(tasks, data.draw(st.integers(1, 6)))))


U = OUTSIDE_LABEL[IMCS]
# (task, gold, prediction, choices): the adversarial cases by name, checked on every run
CASES = {
    "imcs_crlf_keeps_cr_in_labels": (IMCS, f"头\n发热：患有该症状\n咳嗽：{U}", "头\r\n发热：患有该症状\r\n咳嗽：没有患有该症状", IMCS_CHOICES),
    "imcs_lone_cr_joins_lines": (IMCS, "头\n发热：患有该症状\n咳嗽：患有该症状", "头\n发热：患有该症状\r咳嗽：患有该症状", IMCS_CHOICES),
    "imcs_outside_label_is_uncertain": (IMCS, f"头\n发热：{U}", "头\n发热：阳性", IMCS_CHOICES),
    "imcs_uncertain_though_not_a_choice": (IMCS, "头\n发热：阳性", "头\n发热：大概", ["患有该症状"]),
    "imcs_label_not_stripped": (IMCS, "头\n发热：患有该症状", "头\n 发热 ：患有该症状 ", IMCS_CHOICES),
    "imcs_half_width_colon": (IMCS, "头\n发热：患有该症状", "头\n发热:患有该症状", IMCS_CHOICES),
    "imcs_two_colons": (IMCS, "头\n发热：患有该症状", "头\n发热：患有该症状：是", IMCS_CHOICES),
    "imcs_first_line_dropped": (IMCS, "头\n发热：患有该症状", "发热：患有该症状", IMCS_CHOICES),
    "imcs_repeats_count_once": (IMCS, "头\n发热：患有该症状\n发热：患有该症状", "头\n发热：患有该症状\n发热：患有该症状\n发热：患有该症状", IMCS_CHOICES),
    "imcs_empty_prediction": (IMCS, "头\n发热：患有该症状\n咳嗽：患有该症状", "", IMCS_CHOICES),
    "imcs_empty_entity": (IMCS, "头\n：患有该症状", "头\n　：患有该症状", IMCS_CHOICES),
    "imcs_unicode_line_separator": (IMCS, "头\n发热：患有该症状\n咳嗽：患有该症状", "头\n发热：患有该症状\u2028咳嗽：患有该症状", IMCS_CHOICES),
    "chip_outside_label_is_not_annotated": (CHIP, "头\n发热：不标注", "头\n发热：阳性", CHIP_CHOICES),
    "ner_crlf": (CMEEE, "疾病实体：肺炎，哮喘\n身体实体：", "疾病实体：肺炎，哮喘\r\n身体实体：\r\n", ["疾病", "身体"]),
    "ner_lone_cr": (CMEEE, "疾病实体：肺炎\n身体实体：头", "疾病实体：肺炎\r身体实体：头", ["疾病", "身体"]),
    "ner_half_width_colon_and_comma": (CMEEE, "疾病实体：肺炎，哮喘", "疾病实体:肺炎,哮喘", ["疾病"]),
    "ner_no_colon": (CMEEE, "疾病实体：肺炎", "疾病实体肺炎", ["疾病"]),
    "ner_leading_space_unread": (CMEEE, "疾病实体：肺炎", " 疾病实体：肺炎", ["疾病"]),
    "ner_unicode_spaces_stripped": (CMEEE, "疾病实体：肺炎", "疾病实体：\u3000肺炎\xa0，\u2028", ["疾病"]),
    "ner_zero_width_space_kept": (CMEEE, "疾病实体：肺炎", "疾病实体：肺炎\u200b", ["疾病"]),
    "ner_empty_mentions": (CMEEE, "疾病实体：肺炎", "疾病实体：，，肺炎，， ，", ["疾病"]),
    "ner_prefix_choices": (CMEEE, "身体部位实体：手\n身体实体：头", "身体部位实体：手\n身体实体：头", ["身体", "身体部位"]),
    "ner_choice_ending_in_suffix": (CMEEE, "药物实体实体：x", "药物实体实体：x\n药物实体：y", ["药物", "药物实体"]),
    "ner_choice_is_suffix": (CMEEE, "实体实体：x", "实体实体：x，实体：y", ["实体"]),
    "ner_prefix_removed_everywhere": (CMEEE, "疾病实体：肺炎，哮喘", "疾病实体：肺炎，疾病实体：哮喘", ["疾病"]),
    "ner_type_outside_choices": (CMEEE, "疾病实体：肺炎", "疾病实体：肺炎\n症状实体：咳嗽", ["疾病"]),
    "ner_repeated_choice": (CMEEE, "疾病实体：肺炎", "疾病实体：肺炎，哮喘", ["疾病", "疾病"]),
    "ner_repeated_lines": (CMEEE, "疾病实体：肺炎", "疾病实体：肺炎\n疾病实体：肺炎，肺炎", ["疾病"]),
    "ner_empty_prediction": (CMEEE, "疾病实体：肺炎", "", ["疾病"]),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CASES))
def test_named_adversarial_cases(case: str) -> None:
    _score_and_check([CASES[case]])


def test_all_named_cases_together() -> None:
    """One file of every case: each task's micro numbers sum its samples."""
    _score_and_check(list(CASES.values()))


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def _run_cli(drawn: list[tuple[str, str, str, list[str]]]) -> None:
    """Gold and a submission-form prediction file on disk, `harness score --json --trace`, the
    reference on the same files."""
    records = _records(drawn)
    gold_rows = [r.to_json() for r in records]
    pred_rows = [{**row, "target": pred} for row, (_, _, pred, _) in zip(gold_rows, drawn, strict=True)]
    with tempfile.TemporaryDirectory() as tmp:
        gold, pred, trace = Path(tmp, "gold.jsonl"), Path(tmp, "pred.jsonl"), Path(tmp, "trace.jsonl")
        _write_jsonl(gold, gold_rows)
        _write_jsonl(pred, pred_rows)
        args = [
            "score",
            "--gold",
            str(gold),
            "--pred",
            str(pred),
            "--json",
            "--trace",
            str(trace),
            "--resamples",
            "0",
        ]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
        summary = json.loads(result.stdout)
        traces = [json.loads(line) for line in trace.read_text(encoding="utf-8").split("\n") if line]
        ref = ref_evaluate_files(gold, pred)
    counts = {t["sample_id"]: (t["official"]["tp"], t["official"]["fp"], t["official"]["fn"]) for t in traces}
    _check(ref, [r.sample_id for r in records], counts, traces, _task_blocks(summary, records))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_the_score_command_gives_the_official_numbers_on_files(data: st.DataObject) -> None:
    tasks = data.draw(TASK_SETS)
    _run_cli(data.draw(samples(tasks, data.draw(st.integers(1, 5)))))


def test_the_score_command_on_every_named_case() -> None:
    _run_cli(list(CASES.values()))


def test_the_reference_reproduces_promptcblues_structured_gold(shared_data: Path) -> None:
    """On the toy dev set, the reference's post-processing of the gold targets is PromptCBLUE's
    own structured gold (dev_structured.json), sample by sample: the reference is the rule."""
    toy = shared_data / "promptcblue-toy"
    with open(toy / "dev.json", encoding="utf-8") as f:
        rows = {r["sample_id"]: r for r in map(json.loads, f)}
    structured = json.loads((toy / "dev_structured.json").read_text(encoding="utf-8"))
    checked = 0
    for task in (CHIP, IMCS, CMEEE):
        for sample in structured[task]:
            row = rows[sample["sample_id"]]
            got = ref_answer(task, row["target"], row["answer_choices"])
            assert {_key(x) for x in got} == {_key(x) for x in sample["answer"]}, sample["sample_id"]
            checked += 1
    assert checked >= 15

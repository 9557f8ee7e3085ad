"""The tasks beside CHIP-MDCFNPC: IMCS-V2-SR and CMeEE-V2, scored exactly by PromptCBLUE's rules.

Each row is a hand-written prediction with the official counts worked out by hand from the rule
(src/evaluation/post_generate_process.py and evaluators.py of PromptCBLUE): IMCS-V2-SR reads a
label outside the choices as 无法根据上下文确定病人是否患有该症状; CMeEE-V2 takes, per choice,
the lines that start with `{choice}实体`, removes `{choice}实体：`, splits on `，`, strips, drops
empty mentions. Sets per sample, micro P/R/F1 over samples.
"""

from __future__ import annotations

import ast
import re
from dataclasses import replace
from pathlib import Path

import pytest

from harness.records import ATTR_CLS_CHOICES, ATTR_CLS_HEADER, Record
from harness.scoring.ner import official_mentions
from harness.scoring.official import IMCS_UNCERTAIN, official_pairs
from harness.scoring.pipeline import ScoringConfig, score
from harness.scoring.tasks import TASKS, task_of

NO_CI = ScoringConfig(bootstrap_resamples=0)

# ---- IMCS-V2-SR ---------------------------------------------------------------------------
IMCS_CHOICES = ["没有患有该症状", "患有该症状", IMCS_UNCERTAIN]
IH = "当前对话中的症状及其阴阳性判断为："
U = IMCS_UNCERTAIN
IMCS_GOLD = f"{IH}\n发热：患有该症状\n咳嗽：没有患有该症状\n头痛：{U}"


def imcs(target: str, sid: str = "i0") -> Record:
    return Record(sid, "患者：发热，不咳嗽，头痛不好说", target, IMCS_CHOICES, "attr_cls", "IMCS-V2-SR")


IMCS_CASES = [
    # (name, prediction, official tp/fp/fn, classification accuracy, tags that must fire)
    ("exact", IMCS_GOLD, (3, 0, 0), 1.0, set()),
    # a short label is outside the choices: the rule reads it as uncertain, not 不标注
    (
        "short_label_reads_uncertain",
        IMCS_GOLD.replace("发热：患有该症状", "发热：阳性"),
        (2, 1, 1),
        1.0,
        {"drift"},
    ),
    # ... so an off-format label matches a gold uncertain one
    (
        "outside_label_matches_gold_uncertain",
        IMCS_GOLD.replace(f"头痛：{U}", "头痛：不确定"),
        (3, 0, 0),
        1.0,
        {"drift"},
    ),
    ("trailing_space", IMCS_GOLD.replace("发热：患有该症状", "发热：患有该症状 "), (2, 1, 1), 1.0, {"drift"}),
    # every label but the last keeps its "\r": two read as uncertain
    ("crlf", IMCS_GOLD.replace("\n", "\r\n"), (1, 2, 2), 1.0, {"drift"}),
    ("no_header_loses_first", IMCS_GOLD.split("\n", 1)[1], (2, 0, 1), 1.0, {"header"}),
    ("duplicate_line", IMCS_GOLD + "\n发热：患有该症状", (3, 0, 0), 1.0, {"duplicate"}),
    ("half_width_colon_skipped", IMCS_GOLD.replace("咳嗽：", "咳嗽:"), (2, 0, 1), 1.0, set()),
    (
        "two_colons_skipped",
        IMCS_GOLD.replace("发热：患有该症状", "发热：患有该症状：是"),
        (2, 0, 1),
        1.0,  # the lenient reading takes 患有该症状 from 患有该症状：是
        set(),
    ),
    # an unknown label reads uncertain in the lenient reading too (gold says positive)
    ("unknown_label", IMCS_GOLD.replace("发热：患有该症状", "发热：大概吧"), (2, 1, 1), 2 / 3, {"drift"}),
    ("empty", "", (0, 0, 3), 0.0, {"missing"}),
]


@pytest.mark.parametrize(
    ("name", "pred", "official", "accuracy", "tags"), IMCS_CASES, ids=[c[0] for c in IMCS_CASES]
)
def test_imcs_sr_official_rule(name: str, pred: str, official: tuple, accuracy: float, tags: set) -> None:
    rec = imcs(IMCS_GOLD)
    s = score([rec], {rec.sample_id: pred}, NO_CI).summary
    got = s["official"]
    assert (got["tp"], got["fp"], got["fn"]) == official
    # the rule itself, on its own, gives the same sets
    g, p = official_pairs(IMCS_GOLD, IMCS_CHOICES, U), official_pairs(pred, IMCS_CHOICES, U)
    assert (len(g & p), len(p - g), len(g - p)) == official
    assert s["classification"]["accuracy"] == pytest.approx(accuracy)
    assert tags <= {t for t, n in s["failures"].items() if n}


# (task, gold record, a prediction with the unknown label 大概吧 for 发热, its canonical reading,
# the official rule's label for it)
CHIP_GOLD = f"{ATTR_CLS_HEADER}\n发热：{ATTR_CLS_CHOICES[0]}"
UNKNOWN_LABEL_CASES = [
    (
        "CHIP-MDCFNPC",
        Record("c0", "患者：发热", CHIP_GOLD, ATTR_CLS_CHOICES, "attr_cls", "CHIP-MDCFNPC"),
        CHIP_GOLD.replace(ATTR_CLS_CHOICES[0], "大概吧"),
        "not_annotated",
        "不标注",
    ),
    ("IMCS-V2-SR", imcs(IMCS_GOLD), IMCS_GOLD.replace("发热：患有该症状", "发热：大概吧"), "uncertain", U),
]


@pytest.mark.parametrize(
    ("task", "rec", "pred", "canonical", "official"),
    UNKNOWN_LABEL_CASES,
    ids=[c[0] for c in UNKNOWN_LABEL_CASES],
)
def test_a_trace_says_how_its_task_reads_an_unknown_label(
    task: str, rec: Record, pred: str, canonical: str, official: str
) -> None:
    trace = score([rec], {rec.sample_id: pred}, NO_CI).traces[0]
    line = next(d for d in trace["parse"]["pred"] if "大概吧" in d["text"])
    assert line["note"] == f"unknown label '大概吧': read as {canonical}"
    # ... which is how it is scored
    row = next(r for r in trace["alignment"] if r["gold_entity"] == "发热")
    assert row["pred_label"] == canonical
    strict = next(d for d in trace["parse"]["official"] if "大概吧" in d["text"])
    assert strict["note"] == f"label '大概吧' not in the choices: read as {official}"
    assert ["发热", official] in trace["pred_pairs"]["official"]


def test_imcs_sr_labels_map_onto_the_revised_protocol() -> None:
    rec = imcs(IMCS_GOLD)
    cls = score([rec], {rec.sample_id: IMCS_GOLD}, NO_CI).summary["classification"]
    support = {label: v["support"] for label, v in cls["per_label"].items()}
    assert support == {"positive": 1, "negative": 1, "uncertain": 1, "not_annotated": 0}


# ---- CMeEE-V2 -----------------------------------------------------------------------------
NER_CHOICES = ["疾病", "临床表现", "身体部位"]
NH = "上述句子中的实体包含："
NER_GOLD = f"{NH}\n疾病实体：肺炎，哮喘\n临床表现实体：咳嗽\n身体部位实体："
BODY = NER_GOLD.split("\n", 1)[1]


def ner(target: str, sid: str = "n0", choices: list[str] | None = None) -> Record:
    text = "找出句子中的疾病，临床表现，身体部位实体：\n患者肺炎合并哮喘，伴咳嗽。"
    return Record(sid, text, target, choices or NER_CHOICES, "ner", "CMeEE-V2")


NER_CASES = [
    # (name, prediction, official tp/fp/fn, canonical tp/fp/fn, tags that must fire, tags that must not)
    ("exact", NER_GOLD, (3, 0, 0), (3, 0, 0), set(), {"missing", "drift"}),
    ("no_header_costs_nothing", BODY, (3, 0, 0), (3, 0, 0), set(), {"drift"}),
    ("crlf", NER_GOLD.replace("\n", "\r\n"), (3, 0, 0), (3, 0, 0), set(), {"drift"}),
    ("duplicate_line", NER_GOLD + "\n疾病实体：肺炎", (3, 0, 0), (3, 0, 0), {"duplicate"}, set()),
    (
        "empty_mentions_dropped",
        f"{NH}\n疾病实体：肺炎，，哮喘，\n临床表现实体：咳嗽",
        (3, 0, 0),
        (3, 0, 0),
        set(),
        {"drift"},
    ),
    # a line that starts with the choice but lacks "：" is one mention, the whole line
    (
        "half_width_colon",
        f"{NH}\n疾病实体:肺炎，哮喘\n临床表现实体：咳嗽",
        (2, 1, 1),
        (3, 0, 0),
        {"drift"},
        set(),
    ),
    ("no_colon", f"{NH}\n疾病实体 肺炎，哮喘\n临床表现实体：咳嗽", (2, 1, 1), (3, 0, 0), {"drift"}, set()),
    # a wrong type is a confusion between types, not a missing mention
    (
        "wrong_type",
        f"{NH}\n疾病实体：肺炎\n临床表现实体：咳嗽，哮喘",
        (2, 1, 1),
        (2, 1, 1),
        {"wrong_type"},
        {"missing"},
    ),
    (
        "type_outside_choices",
        f"{NH}\n疾病实体：肺炎，哮喘\n症状实体：咳嗽",
        (2, 0, 1),
        (2, 1, 1),
        {"wrong_type", "drift"},
        {"missing"},
    ),
    (
        "numbered_line_unread",
        f"{NH}\n1. 疾病实体：肺炎，哮喘\n临床表现实体：咳嗽",
        (1, 0, 2),
        (3, 0, 0),
        {"drift"},
        set(),
    ),
    ("placeholder_is_a_mention", NER_GOLD + "无", (3, 1, 0), (3, 0, 0), {"drift"}, set()),
    # replace() removes every "{choice}实体：", not only the first
    (
        "prefix_twice",
        f"{NH}\n疾病实体：肺炎，疾病实体：哮喘\n临床表现实体：咳嗽",
        (3, 0, 0),
        (2, 1, 1),
        {"drift"},
        set(),
    ),
    (
        "boundary",
        f"{NH}\n疾病实体：肺，哮喘\n临床表现实体：咳嗽",
        (2, 1, 1),
        (2, 1, 1),
        {"boundary", "missing"},
        {"hallucination"},
    ),
    ("hallucination", NER_GOLD + "头", (3, 1, 0), (3, 1, 0), {"hallucination"}, {"missing"}),
    (
        "other_commas",
        f"{NH}\n疾病实体：肺炎、哮喘\n临床表现实体：咳嗽",
        (1, 1, 2),
        (3, 0, 0),
        {"drift"},
        set(),
    ),
    ("empty", "", (0, 0, 3), (0, 0, 3), {"missing"}, {"drift"}),
]


@pytest.mark.parametrize(
    ("name", "pred", "official", "canonical", "must", "must_not"), NER_CASES, ids=[c[0] for c in NER_CASES]
)
def test_cmeee_official_rule(
    name: str, pred: str, official: tuple, canonical: tuple, must: set, must_not: set
) -> None:
    rec = ner(NER_GOLD)
    s = score([rec], {rec.sample_id: pred}, NO_CI).summary
    assert tuple(s["official"][k] for k in ("tp", "fp", "fn")) == official
    assert tuple(s["canonical"][k] for k in ("tp", "fp", "fn")) == canonical
    g, p = official_mentions(NER_GOLD, NER_CHOICES), official_mentions(pred, NER_CHOICES)
    assert (len(g & p), len(p - g), len(g - p)) == official
    fired = {t for t, n in s["failures"].items() if n}
    assert must <= fired and not (must_not & fired), fired


@pytest.mark.parametrize(
    ("choices", "text", "want"),
    [
        # 身体 and 身体部位: `身体部位实体` does not start with `身体实体`, so no line is read twice
        (["身体", "身体部位"], "身体部位实体：手\n身体实体：头", {("手", "身体部位"), ("头", "身体")}),
        # a choice that starts with another's `{name}实体` reads its lines under both
        (["药物", "药物实体"], "药物实体实体：x", {("药物实体实体：x", "药物"), ("x", "药物实体")}),
        (["疾病"], "疾病实体", {("疾病实体", "疾病")}),  # no colon, no mention: the line itself
        (["疾病"], "疾病实体：", set()),
        (["疾病"], " 疾病实体：肺炎", set()),  # a leading space: the line does not start with the choice
    ],
)
def test_cmeee_rule_edge_cases(choices: list[str], text: str, want: set) -> None:
    assert official_mentions(text, choices) == want


def test_cmeee_types_form_the_classification_labels() -> None:
    rec = ner(NER_GOLD)
    s = score([rec], {rec.sample_id: f"{NH}\n疾病实体：肺炎\n临床表现实体：咳嗽，哮喘"}, NO_CI).summary
    cls = s["classification"]
    assert cls["labels"] == [*NER_CHOICES, "none"]
    assert cls["confusion"][0] == [1, 1, 0, 0]  # 疾病: 肺炎 right, 哮喘 read as 临床表现
    assert cls["accuracy"] == pytest.approx(2 / 3)


def test_a_file_of_several_tasks_scores_each_under_by_task() -> None:
    recs = [imcs(IMCS_GOLD, "i0"), ner(NER_GOLD, "n0"), imcs(IMCS_GOLD, "i1")]
    preds = {"i0": IMCS_GOLD, "i1": "", "n0": BODY.replace("哮喘", "哮喘病")}
    result = score(recs, preds, NO_CI)
    s = result.summary
    assert list(s["by_task"]) == ["IMCS-V2-SR", "CMeEE-V2"]
    assert s["by_task"]["IMCS-V2-SR"]["samples"] == 2 and s["by_task"]["CMeEE-V2"]["samples"] == 1
    # the micro average sums every task's counts
    assert (s["official"]["tp"], s["official"]["fp"], s["official"]["fn"]) == (
        3 + 0 + 2,
        0 + 0 + 1,
        0 + 3 + 1,
    )
    assert result.tasks == ["IMCS-V2-SR", "IMCS-V2-SR", "CMeEE-V2"]
    assert [t["sample_id"] for t in result.traces] == ["i0", "i1", "n0"]
    assert {t["task_dataset"] for t in result.traces} == {"IMCS-V2-SR", "CMeEE-V2"}


def test_records_of_no_task_are_skipped() -> None:
    other = Record("x", "q", "a", None, "cls", "KUAKE-QIC")
    assert task_of(other) is None
    s = score([ner(NER_GOLD), other], {"n0": NER_GOLD}, NO_CI).summary
    assert s["skipped"] == {"KUAKE-QIC": 1} and "by_task" not in s


def _reads_nothing(text: str, choices: object) -> set[tuple[str, str]]:
    return set()


@pytest.mark.parametrize(
    ("rec", "pred"),
    [
        (imcs(IMCS_GOLD), IMCS_GOLD),
        (Record("c0", "患者：发热", CHIP_GOLD, ATTR_CLS_CHOICES, "attr_cls", "CHIP-MDCFNPC"), CHIP_GOLD),
        (ner(NER_GOLD), NER_GOLD),
    ],
    ids=lambda x: x.task_dataset if isinstance(x, Record) else "",
)
def test_the_engines_take_the_official_numbers_from_the_task(
    monkeypatch: pytest.MonkeyPatch, rec: Record, pred: str
) -> None:
    """A task's `official` rule is the only source of its official numbers, in both engines."""
    monkeypatch.setitem(TASKS, rec.task_dataset, replace(TASKS[rec.task_dataset], official=_reads_nothing))
    result = score([rec], {rec.sample_id: pred}, NO_CI)
    off, can = result.summary["official"], result.summary["canonical"]
    assert (off["tp"], off["fp"], off["fn"]) == (0, 0, 0)
    assert can["f1"] == 1.0  # the lenient reading is the task's own, untouched
    assert result.traces[0]["pred_pairs"]["official"] == []


def test_every_registered_task_is_complete() -> None:
    for name, task in TASKS.items():
        assert task.name == name and task.metrics and task.taggers and task.report
        assert task.headline, f"{name} shows no headline metric"


@pytest.mark.parametrize(
    ("task", "change", "message"),
    [
        ("CMeEE-V2", {"report": ("metrics", "charts")}, "unknown report section(s) charts"),
        ("IMCS-V2-SR", {"unknown_label": None}, "an attr_cls task needs unknown_label"),
        ("CHIP-MDCFNPC", {"unknown_label": "不标注"}, "an attr_cls task needs unknown_label"),
        ("CHIP-MDCFNPC", {"engine": "cls"}, "unknown engine 'cls'"),
    ],
)
def test_a_task_definition_is_checked(task: str, change: dict, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        replace(TASKS[task], **change)


HARNESS = Path(__file__).resolve().parents[2] / "harness"


@pytest.mark.parametrize(
    "module",
    [*sorted((HARNESS / "scoring").rglob("*.py")), HARNESS / "gate.py", HARNESS / "comparing.py"],
    ids=lambda p: str(p.relative_to(HARNESS)),
)
def test_scoring_gate_and_compare_never_import_reporting(module: Path) -> None:
    """Gate and compare test the scorer's metrics; presentation code must not be under them."""
    tree = ast.parse(module.read_text(encoding="utf-8"))
    imported = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.append(node.module)
    assert not [m for m in imported if m == "harness.reporting" or m.startswith("harness.reporting.")]


def test_a_run_of_several_tasks_reports_gates_and_compares_per_task(tmp_path: Path) -> None:
    import io

    from rich.console import Console

    from harness.comparing import compare_systems
    from harness.gate import run_gate, write_baseline
    from harness.records import write_records
    from harness.runner import score_and_report
    from harness.runs import RunDir, write_rows

    run = RunDir(tmp_path / "run")
    recs = [imcs(IMCS_GOLD, f"i{k}") for k in range(3)] + [ner(NER_GOLD, f"n{k}") for k in range(3)]
    write_records(run.test_records, recs)
    perfect = {r.sample_id: r.target for r in recs}
    worse = {**perfect, "n0": "", "i0": ""}
    for system, preds in (("a", perfect), ("b", worse)):
        write_rows(run.predictions(system), [{"sample_id": k, "text": v} for k, v in preds.items()])
    header = {
        "suite": "mix",
        "order": ["a", "b"],
        "report": {"base": "a"},
        "gate": {
            "metrics": [{"metric": "official.f1"}, {"metric": "classification.accuracy"}],
            "resamples": 200,
        },
    }
    out = io.StringIO()
    scores = score_and_report(run, header, NO_CI, recs, Console(file=out, width=400))
    assert sorted(scores["systems"]["b"]["by_task"]) == ["CMeEE-V2", "IMCS-V2-SR"]
    assert "CMeEE-V2 official F1" in out.getvalue() and "IMCS-V2-SR accuracy" in out.getvalue()
    assert "CMeEE-V2 type accuracy" in (run.root / "index.html").read_text(encoding="utf-8")

    write_baseline(run, tmp_path / "base.json")
    checks = {c.metric for c in run_gate(run, tmp_path / "base.json").checks}
    # accuracy is no micro metric: each task tests it on its own samples
    assert checks == {
        "official.f1",
        "by_task.IMCS-V2-SR.official.f1",
        "by_task.IMCS-V2-SR.classification.accuracy",
        "by_task.CMeEE-V2.official.f1",
        "by_task.CMeEE-V2.classification.accuracy",
    }
    result = compare_systems(f"{run.root}:a", f"{run.root}:b", metrics=["official.f1"], resamples=200)
    tested = {t["metric"]: t for t in result["metrics"]}
    assert set(tested) == {"official.f1", "by_task.IMCS-V2-SR.official.f1", "by_task.CMeEE-V2.official.f1"}
    assert tested["by_task.CMeEE-V2.official.f1"]["samples"] == 3

"""`harness score` on malformed gold, predictions, options and paths: the right number or a clear error."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.records import ATTR_CLS_CHOICES, ATTR_CLS_HEADER, LONG_LABELS
from tests.bad_input.cases import Case, check

POS, NEG = LONG_LABELS["阳性"], LONG_LABELS["阴性"]
TARGET = f"{ATTR_CLS_HEADER}\n腹泻：{POS}\n发热：{NEG}"  # two gold pairs per sample


def gold_row(sid: str, **over: Any) -> dict[str, Any]:
    row = {
        "sample_id": sid,
        "input": "对话\n临床发现实体：腹泻，发热",
        "target": TARGET,
        "answer_choices": ATTR_CLS_CHOICES,
        "task_type": "attr_cls",
        "task_dataset": "CHIP-MDCFNPC",
    }
    return {**row, **over}


GOLD2 = [gold_row("s0"), gold_row("s1")]
PERFECT = [{"sample_id": "s0", "text": TARGET}, {"sample_id": "s1", "text": TARGET}]


def lines(rows: list[Any]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def files(gold: str | list[Any] = GOLD2, pred: str | list[Any] = PERFECT, **extra: str | bytes) -> Callable:
    """A setup writing gold.jsonl and pred.jsonl (rows, or raw text) and any other named files."""

    def setup(tmp: Path) -> None:
        for name, content in (("gold.jsonl", gold), ("pred.jsonl", pred), *extra.items()):
            if isinstance(content, bytes):
                (tmp / name).write_bytes(content)
            else:
                text = content if isinstance(content, str) else lines(content)
                (tmp / name).write_text(text, encoding="utf-8")

    return setup


def with_fifo(name: str, **kw: Any) -> Callable:
    def setup(tmp: Path) -> None:
        files(**kw)(tmp)
        (tmp / name).unlink(missing_ok=True)
        os.mkfifo(tmp / name)

    return setup


def with_dir(name: str) -> Callable:
    def setup(tmp: Path) -> None:
        files()(tmp)
        (tmp / name).mkdir()

    return setup


DICT = "发热:\n  - 发烧\n"


def with_dictionary(text: str) -> Callable:
    """The default files and a one-file dictionary folder {tmp}/syn."""

    def setup(tmp: Path) -> None:
        files()(tmp)
        (tmp / "syn").mkdir()
        (tmp / "syn" / "a.yaml").write_text(text, encoding="utf-8")

    return setup


def summary(
    official: tuple[int, int, int] | None = None,
    recall: float | None = None,
    accuracy: float | None = None,
    unpredicted: int | None = None,
    samples: int | None = None,
    ci: dict | None = None,
) -> Callable[[Path, str], None]:
    """Assert numbers of the --json summary: official (tp, fp, fn), recall, accuracy, …"""

    def assert_numbers(_tmp: Path, out: str) -> None:
        s, _ = json.JSONDecoder().raw_decode(out[out.index("{") :])
        if official is not None:
            assert (s["official"]["tp"], s["official"]["fp"], s["official"]["fn"]) == official
            assert (s["canonical"]["tp"], s["canonical"]["fp"], s["canonical"]["fn"]) == official
        if recall is not None:
            assert s["official"]["recall"] == recall and s["canonical"]["recall"] == recall
        if accuracy is not None:
            assert s["classification"]["accuracy"] == accuracy
        if unpredicted is not None:
            assert s["unpredicted"] == unpredicted
        if samples is not None:
            assert s["samples"] == samples
        if ci is not None:
            assert s["ci"] == ci

    return assert_numbers


def not_blaming(name: str) -> Callable[[Path, str], None]:
    def check_blame(_tmp: Path, out: str) -> None:
        assert name not in out, out

    return check_blame


SCORE = ["score", "--gold", "{tmp}/gold.jsonl", "--pred", "{tmp}/pred.jsonl", "--resamples", "0"]
JSON = [*SCORE, "--json"]
CFG = [*JSON, "--config", "{tmp}/scoring.yaml"]
DEEP = "[" * 500 + "]" * 500

CASES: list[Case] = [
    # ---- predictions: the text must be a string, under text / target / --text-field
    Case("pred-text-null", files(pred=[{"sample_id": "s0", "text": None}, PERFECT[1]]), JSON, 2,
         ["{tmp}/pred.jsonl:1: field text: expected a string (the prediction text), got null"]),
    Case("pred-text-number", files(pred=[PERFECT[0], {"sample_id": "s1", "text": 5}]), JSON, 2,
         ["{tmp}/pred.jsonl:2: field text: expected a string", "got int 5"]),
    Case("pred-text-list", files(pred=[{"sample_id": "s0", "text": ["腹泻"]}, PERFECT[1]]), JSON, 2,
         ["pred.jsonl:1: field text:", "got list"]),
    Case("pred-text-object", files(pred=[{"sample_id": "s0", "text": {"a": 1}}, PERFECT[1]]), JSON, 2,
         ["pred.jsonl:1: field text:", "got dict"]),
    *(
        Case(f"pred-text-under-{name}", files(pred=[{"sample_id": f"s{i}", name: TARGET} for i in (0, 1)]),
             JSON, 2, ["pred.jsonl:1: field text: expected the prediction text in text",
                       f"this line has {name}: use --text-field"])
        for name in ("output", "prediction", "response")
    ),
    Case("pred-text-field-option", files(pred=[{"sample_id": f"s{i}", "output": TARGET} for i in (0, 1)]),
         [*JSON, "--text-field", "output"], 0, check=summary(official=(4, 0, 0), recall=1.0)),
    Case("pred-text-field-absent", files(pred=[{"sample_id": "s0", "text": TARGET}]),
         [*JSON, "--text-field", "output"], 2,
         ["pred.jsonl:1: field output: expected the prediction text (--text-field), got nothing"]),
    Case("pred-text-field-null", files(pred=[{"sample_id": "s0", "output": None}]),
         [*JSON, "--text-field", "output"], 2, ["pred.jsonl:1: field output: expected a string", "got null"]),
    Case("pred-submission-form", files(pred=[{**gold_row("s0")}, {**gold_row("s1"), "target": ""}]), JSON, 0,
         check=summary(official=(2, 0, 2), recall=0.5, accuracy=0.5, unpredicted=0)),
    Case("pred-submission-target-null", files(pred=[gold_row("s0"), gold_row("s1", target=None)]), JSON, 2,
         ["pred.jsonl:2: field target: expected a string (the prediction text), got null"]),
    Case("pred-empty-string-is-a-prediction", files(pred=[PERFECT[0], {"sample_id": "s1", "text": ""}]),
         JSON, 0, check=summary(official=(2, 0, 2), recall=0.5, accuracy=0.5, unpredicted=0)),
    Case("pred-system-not-string", files(pred=[{**PERFECT[0], "system": 3}, PERFECT[1]]), JSON, 2,
         ["pred.jsonl:1: field system: expected a string, got int 3"]),
    Case("pred-id-not-string", files(pred=[{"sample_id": 7, "text": ""}]), JSON, 2,
         ["pred.jsonl:1: field sample_id: expected a non-empty string, got int 7"]),
    Case("pred-line-not-object", files(pred=lines([PERFECT[0], ["s1", TARGET]])), JSON, 2,
         ["pred.jsonl:2: expected a JSON object, got list"]),
    Case("pred-duplicate-key", files(pred='{"sample_id": "s0", "text": "", "text": "x"}\n'), JSON, 2,
         ["bad prediction lines:", "pred.jsonl:1: duplicate key 'text' in one object"]),
    Case("pred-deep-nesting", files(pred=lines([PERFECT[0]]) + DEEP + "\n"), JSON, 2,
         ["pred.jsonl:2: JSON nested too deeply"]),
    Case("pred-json-array", files(pred=json.dumps(PERFECT, ensure_ascii=False)), JSON, 0,
         check=summary(official=(4, 0, 0), recall=1.0)),
    Case("pred-utf16", files(pred=lines(PERFECT).encode("utf-16")), JSON, 2,
         ["pred.jsonl:1: the file is UTF-16 text"]),
    Case("pred-gbk", files(pred=lines(PERFECT).encode("gbk")), JSON, 2,
         ["bad prediction lines: {tmp}/pred.jsonl:1: not UTF-8", "GBK"]),
    # ---- gold: a scorable record needs its answer; the gold file is the one blamed
    Case("gold-target-null", files(gold=[GOLD2[0], gold_row("s1", target=None)]), JSON, 2,
         ["bad gold lines: {tmp}/gold.jsonl:2: field target: expected the gold answer text, got null"],
         not_blaming("pred.jsonl")),
    Case("gold-target-empty", files(gold=[gold_row("s0", target=" "), GOLD2[1]]), JSON, 2,
         ["gold.jsonl:1: field target: expected the gold answer text, got ' '"]),
    Case("gold-target-missing", files(gold=[{k: v for k, v in GOLD2[0].items() if k != "target"}]), JSON, 2,
         ["bad gold lines: {tmp}/gold.jsonl:1: field target: expected a string, got nothing"]),
    Case("gold-target-number", files(gold=[GOLD2[0], gold_row("s1", target=3)]), JSON, 2,
         ["gold.jsonl:2: field target: expected a string, got int 3"], not_blaming("pred.jsonl")),
    Case("gold-null-target-of-skipped-task",
         files(gold=[*GOLD2, gold_row("n1", target=None, task_type="ner", answer_choices=None)]), JSON, 0,
         check=summary(official=(4, 0, 0), samples=2)),
    Case("gold-choices-string", files(gold=[gold_row("s0", answer_choices="阳性"), GOLD2[1]]), JSON, 2,
         ["gold.jsonl:1: field answer_choices: expected a list of strings or null, got str"]),
    Case("gold-choices-numbers", files(gold=[GOLD2[0], gold_row("s1", answer_choices=[1, 2])]), JSON, 2,
         ["gold.jsonl:2: field answer_choices: expected a list of strings or null, got list"]),
    Case("gold-duplicate-target-key",
         files(gold=lines([GOLD2[0]]) + lines([GOLD2[1]]).replace('"target"', '"target": "x", "target"')),
         JSON, 2, ["bad gold lines: {tmp}/gold.jsonl:2: duplicate key 'target' in one object"]),
    Case("gold-duplicate-id", files(gold=[GOLD2[0], GOLD2[0]]), JSON, 2,
         ["gold.jsonl:2: field sample_id: duplicate id 's0' (first on line 1)"]),
    Case("gold-is-predictions", files(gold=PERFECT, pred=PERFECT), JSON, 2,
         ["gold.jsonl:1: field input", "were --gold and --pred swapped?"]),
    Case("gold-empty", files(gold=""), JSON, 2, ["{tmp}/gold.jsonl: the gold file holds no records"]),
    Case("gold-empty-array", files(gold="[]"), JSON, 2, ["the gold file holds no records"]),
    Case("gold-nothing-scorable", files(gold=[gold_row("s0", task_type="ner", answer_choices=None)]),
         JSON, 2, ["no records to score: expected records of a registered task with answer_choices"]),
    Case("gold-json-array", files(gold=json.dumps(GOLD2, ensure_ascii=False)), JSON, 0,
         check=summary(official=(4, 0, 0))),
    Case("gold-utf16", files(gold=lines(GOLD2).encode("utf-16")), JSON, 2,
         ["bad gold lines: {tmp}/gold.jsonl:1: the file is UTF-16 text"]),
    Case("gold-gbk", files(gold=lines(GOLD2).encode("gbk")), JSON, 2,
         ["bad gold lines: {tmp}/gold.jsonl:1: not UTF-8", "GBK"], not_blaming("pred.jsonl")),
    Case("gold-deep-nesting", files(gold=DEEP), JSON, 2, ["gold.jsonl:1: invalid JSON array: JSON nested too deeply"]),
    # ---- missing predictions: an error naming a few, or counted and scored as misses
    Case("missing-is-an-error", files(pred=PERFECT[:1]), JSON, 2,
         ["{tmp}/pred.jsonl: 1 gold id(s) have no prediction: 's1' (--allow-missing"]),
    Case("missing-lists-a-few", files(gold=[gold_row(f"s{i}") for i in range(8)], pred=PERFECT[:1]), JSON, 2,
         ["7 gold id(s) have no prediction: 's1', 's2', 's3', 's4', 's5' (and 2 more)"]),
    Case("missing-allowed-counts", files(pred=PERFECT[:1]), [*JSON, "--allow-missing"], 0,
         check=summary(official=(2, 0, 2), recall=0.5, accuracy=0.5, unpredicted=1, samples=2)),
    Case("missing-allowed-table", files(pred=PERFECT[:1]), [*SCORE, "--allow-missing"], 0,
         ["scored as empty (no prediction): 1"]),
    Case("pred-empty-file", files(pred=""), JSON, 2,
         ["2 gold id(s) have no prediction (none of the scored samples has one): 's0', 's1'"]),
    Case("pred-empty-file-allowed", files(pred=""), [*JSON, "--allow-missing"], 0,
         check=summary(official=(0, 0, 4), recall=0.0, accuracy=0.0, unpredicted=2)),
    # ---- options
    Case("resamples-zero", files(), JSON, 0, check=summary(official=(4, 0, 0), ci={})),
    Case("resamples-negative", files(), [*JSON, "--resamples", "-1"], 2,
         ["Invalid value for '--resamples': -1 is not in the range x>=0"]),
    Case("resamples-huge", files(), [*JSON, "--resamples", "5000000"], 2,
         ["bad scoring option(s): bootstrap_resamples: Input should be less than or equal to 1000000"]),
    Case("seed-nonsense", files(), [*JSON, "--seed", "abc"], 2, ["Invalid value for '--seed'"]),
    Case("seed-negative", files(), [*JSON, "--seed", "-3"], 2, ["Invalid value for '--seed'"]),
    Case("config-bad-yaml", files(**{"scoring.yaml": "fuzzy: [1,\n"}), CFG, 2,
         ["{tmp}/scoring.yaml", "invalid YAML"]),
    Case("config-not-mapping", files(**{"scoring.yaml": "- fuzzy\n"}), CFG, 2,
         ["scoring.yaml: expected a mapping of scoring options", "got list"]),
    Case("config-scoring-not-mapping", files(**{"scoring.yaml": "scoring: 3\n"}), CFG, 2,
         ["scoring.yaml (scoring:): expected a mapping of scoring options"]),
    Case("config-unknown-key", files(**{"scoring.yaml": "fuzy: true\n1: x\n"}), CFG, 2,
         ["scoring.yaml: unknown scoring option(s) 1, fuzy; valid: synonyms"]),
    Case("config-duplicate-key", files(**{"scoring.yaml": "seed: 1\nseed: 2\n"}), CFG, 2,
         ["scoring.yaml", "duplicate key 'seed' (lines 1 and 2)"]),
    Case("config-bad-value", files(**{"scoring.yaml": "scoring:\n  fuzzy_threshold: 200\n"}), CFG, 2,
         ["scoring.yaml (scoring:): bad scoring option(s): fuzzy_threshold: Input should be less than or equal to 100"]),
    Case("config-negative-seed", files(**{"scoring.yaml": "seed: -1\n"}), CFG, 2,
         ["scoring.yaml: bad scoring option(s): seed: Input should be greater than or equal to 0"]),
    Case("config-empty-block", files(**{"scoring.yaml": "scoring:\n"}), CFG, 0, check=summary(official=(4, 0, 0))),
    Case("config-folder", with_dir("scoring.yaml"), CFG, 2, ["is a directory"]),
    Case("config-missing", files(), CFG, 2, ["scoring config not found: {tmp}/scoring.yaml"]),
    Case("config-fifo", with_fifo("scoring.yaml"), CFG, 2, ["scoring config is not a regular file"]),
    # ---- paths
    Case("gold-missing", files(), [*JSON, "--gold", "{tmp}/nope.jsonl"], 2, ["gold file not found: {tmp}/nope.jsonl"]),
    Case("gold-fifo", with_fifo("gold.jsonl"), JSON, 2, ["gold file is not a regular file: {tmp}/gold.jsonl"]),
    Case("pred-fifo", with_fifo("pred.jsonl"), JSON, 2, ["prediction file is not a regular file: {tmp}/pred.jsonl"]),
    Case("gold-dev-null", files(), [*JSON, "--gold", "/dev/null"], 2, ["gold file is not a regular file: /dev/null"]),
    Case("pred-dev-null", files(), [*JSON, "--pred", "/dev/null"], 2, ["prediction file is not a regular file"]),
    Case("pred-folder", files(), [*JSON, "--pred", "{tmp}"], 2, ["is a directory"]),
    Case("trace-over-gold", files(), [*JSON, "--trace", "{tmp}/gold.jsonl"], 2,
         ["--trace {tmp}/gold.jsonl is an input file"],
         lambda tmp, _out: (tmp / "gold.jsonl").read_text(encoding="utf-8") == lines(GOLD2) or pytest.fail("gold changed")),
    Case("trace-into-dictionary-folder", with_dictionary(DICT),
         [*JSON, "--synonyms", "{tmp}/syn", "--trace", "{tmp}/syn/a.yaml"], 2,
         ["--trace {tmp}/syn/a.yaml is inside the input folder {tmp}/syn"],
         lambda tmp, _out: (tmp / "syn/a.yaml").read_text(encoding="utf-8") == DICT or pytest.fail("dictionary changed")),
    # an attr_cls record without choices is not "another task": skipping it would score fewer samples
    *(
        Case(f"gold-attr-cls-choices-{name}", files(gold=[gold_row("s0", answer_choices=value), GOLD2[1]]), JSON, 2,
             ["gold.jsonl:1: field answer_choices: an attr_cls record needs its list of answer choices", f"got {got}"])
        for name, value, got in (("null", None, "null"), ("empty", [], "list []"))
    ),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_score_bad_input(case: Case, tmp_path: Path) -> None:
    check(case, tmp_path)

"""Regression against stored golden outputs: the scorer's summary on seeded synthetic data and its
per-sample traces on one prediction of every quirk. A change to any number shows up here.

After an intended change, rewrite the files and review their diff:
    HARNESS_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/scoring/test_scoring_golden.py
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pytest

from harness.datasets.synthetic import synth_predictions, synth_records
from harness.records import ATTR_CLS_CHOICES, ATTR_CLS_HEADER, LONG_LABELS, Record
from harness.scoring.pipeline import ScoringConfig, score

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("HARNESS_UPDATE_GOLDEN") == "1"

H = ATTR_CLS_HEADER
POS, NEG, OTHER, NA = (LONG_LABELS[k] for k in ("阳性", "阴性", "其他", "不标注"))
GOLD = f"{H}\n腹泻：{POS}\n发热：{NEG}\n咳嗽：{OTHER}\n右下腹疼痛：{NA}"
# one prediction per quirk the scorer must read, score and tag
QUIRKS = {
    "exact": GOLD,
    "label_flipped": GOLD.replace(f"发热：{NEG}", f"发热：{POS}"),
    "colloquial_variant": GOLD.replace("腹泻", "拉肚子"),
    "fuzzy_variant": GOLD.replace("右下腹疼痛", "右下腹部疼痛"),
    "no_header": GOLD.split("\n", 1)[1],
    "short_labels_numbered": "1. 腹泻: 阳性\n2. 发热: 阴性\n3. 咳嗽: 其他\n4. 右下腹疼痛: 不标注",
    "english_labels": f"{H}\n腹泻: positive\n发热: negative\n咳嗽: uncertain\n右下腹疼痛: not annotated",
    "crlf": GOLD.replace("\n", "\r\n"),
    "duplicate_and_conflict": f"{GOLD}\n腹泻：{POS}\n腹泻：{OTHER}",
    "line_dropped": GOLD.replace(f"\n发热：{NEG}", ""),
    "shuffled_with_prose": f"{H}\n咳嗽：{OTHER}\n右下腹疼痛：{NA}\n腹泻：{POS}\n发热：{NEG}\n以上判断仅供参考",
    "hallucination": f"{GOLD}\n头顶发光：{POS}",
    "label_outside_choices": GOLD.replace(f"腹泻：{POS}", "腹泻：阳性吧"),
    "prose_only": "对话中患者有腹泻，没有发热。",
    "empty": "",
}


def _close(got: Any, want: Any, where: str = "") -> None:
    """Equal, with floats compared to 1e-12 (their last bits may differ across platforms)."""
    if isinstance(want, float) or isinstance(got, float):
        assert isinstance(got, int | float) and math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-12), where
    elif isinstance(want, dict):
        assert isinstance(got, dict) and sorted(got) == sorted(want), (
            f"{where}: keys {sorted(got)} != {sorted(want)}"
        )
        for k in want:
            _close(got[k], want[k], f"{where}.{k}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), f"{where}: length {len(got)} != {len(want)}"
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            _close(g, w, f"{where}[{i}]")
    else:
        assert got == want, f"{where}: {got!r} != {want!r}"


def _check(name: str, got: Any) -> None:
    path = GOLDEN / name
    got = json.loads(json.dumps(got, ensure_ascii=False))  # the JSON form: tuples as lists
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_text(
            json.dumps(got, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8"
        )
    _close(got, json.loads(path.read_text(encoding="utf-8")), name)


def test_summary_on_synthetic_predictions() -> None:
    records = list(synth_records(300, seed=11))
    summary = score(records, synth_predictions(records, seed=12), ScoringConfig()).summary
    del summary["protocol"]["synonyms"]  # the dictionaries' digest changes with any edit
    _check("synth300_summary.json", summary)


def test_traces_of_every_quirk() -> None:
    records = [
        Record(
            name,
            "对话\n临床发现实体：腹泻，发热，咳嗽，右下腹疼痛\n答：",
            GOLD,
            list(ATTR_CLS_CHOICES),
            "attr_cls",
            "CHIP-MDCFNPC",
        )
        for name in QUIRKS
    ]
    result = score(records, QUIRKS, ScoringConfig(bootstrap_resamples=0))
    _check("quirk_traces.json", {t["sample_id"]: t for t in result.traces})


@pytest.mark.parametrize(
    ("quirk", "tags"),
    [
        ("exact", set()),
        ("colloquial_variant", set()),
        ("fuzzy_variant", set()),
        ("no_header", {"header"}),
        ("duplicate_and_conflict", {"duplicate", "conflict"}),
        ("line_dropped", {"missing"}),
        ("hallucination", {"hallucination"}),
        ("prose_only", {"drift", "missing"}),
    ],
)
def test_golden_traces_carry_the_expected_tags(quirk: str, tags: set[str]) -> None:
    """The golden file itself is checked against what each quirk must show."""
    traces = json.loads((GOLDEN / "quirk_traces.json").read_text(encoding="utf-8"))
    assert {t["tag"] for t in traces[quirk]["tags"]} == tags

"""IMCS-V2-SR (attr_cls): symptoms of one dialogue turn, labelled 患有该症状 / 没有患有该症状 /
无法根据上下文确定病人是否患有该症状 (positive / negative / uncertain in the revised protocol).

PromptCBLUE scores it with the CHIP-MDCFNPC rule except for one thing: a label outside the
answer choices is read as 无法根据上下文确定病人是否患有该症状, which is itself a choice, so an
off-format label can match a gold uncertain one. The lenient reading gives an unknown label the
same meaning (uncertain), flagged as drift.
"""

from __future__ import annotations

from functools import partial

from harness.scoring.labels import UNCERTAIN
from harness.scoring.official import IMCS_UNCERTAIN, official_pairs
from harness.scoring.tasks.base import REPORT_SECTIONS, Task
from harness.scoring.tasks.chip_mdcfnpc import ATTR_CLS_METRICS, ATTR_CLS_TAGGERS

TASK = Task(
    name="IMCS-V2-SR",
    task_type="attr_cls",
    engine="attr_cls",
    official=partial(official_pairs, fallback=IMCS_UNCERTAIN),
    lenient="lenient",
    aligner="greedy",
    metrics=ATTR_CLS_METRICS,
    taggers=ATTR_CLS_TAGGERS,
    report=REPORT_SECTIONS,
    unknown_label=UNCERTAIN,  # what the rule makes of a label outside the choices
)

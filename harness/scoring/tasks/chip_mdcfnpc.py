"""CHIP-MDCFNPC (attr_cls): symptom polarity in doctor–patient dialogues, the study's task."""

from __future__ import annotations

from harness.records import Record
from harness.scoring.catalogue import HEADLINE, STAT_METRICS
from harness.scoring.labels import NOT_ANNOTATED
from harness.scoring.official import official_pairs
from harness.scoring.tasks.base import REPORT_SECTIONS, Metric, Task


def _rules(record: Record) -> str:
    from harness.rules import rule_answer  # late: harness.rules imports the scorer

    return rule_answer(record)


_HEAD = dict(HEADLINE)
# every catalogue metric, in its order; the five headline ones marked
ATTR_CLS_METRICS: tuple[Metric, ...] = tuple(
    Metric(path, _HEAD.get(path, path), stat, headline=path in _HEAD) for path, stat in STAT_METRICS.items()
)
ATTR_CLS_TAGGERS = ("conflict", "duplicate", "drift", "hallucination", "missing", "header")

TASK = Task(
    name="CHIP-MDCFNPC",
    task_type="attr_cls",
    engine="attr_cls",
    official=official_pairs,
    lenient="lenient",
    aligner="greedy",
    metrics=ATTR_CLS_METRICS,
    taggers=ATTR_CLS_TAGGERS,
    report=REPORT_SECTIONS,
    unknown_label=NOT_ANNOTATED,  # what the rule makes of a label outside the choices (不标注)
    rules=_rules,
)

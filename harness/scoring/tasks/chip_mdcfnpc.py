"""CHIP-MDCFNPC (attr_cls): symptom polarity in doctor–patient dialogues, the study's task."""

from __future__ import annotations

from harness.records import Record
from harness.scoring.catalogue import HEADLINE, STAT_METRICS
from harness.scoring.official import NOT_ANNOTATED_LONG, official_pairs
from harness.scoring.tasks.base import Metric, Task


def _rules(record: Record) -> str:
    from harness.rules import rule_answer  # late: harness.rules imports the scorer

    return rule_answer(record)


_HEAD = dict(HEADLINE)
# every catalogue metric, in its order; the five headline ones marked
ATTR_CLS_METRICS: tuple[Metric, ...] = tuple(
    Metric(path, _HEAD.get(path, path), stat, headline=path in _HEAD) for path, stat in STAT_METRICS.items()
)
ATTR_CLS_TAGGERS = ("conflict", "duplicate", "drift", "hallucination", "missing", "header")
ATTR_CLS_REPORT = ("metrics", "per_label", "confusion", "failures", "examples")

TASK = Task(
    name="CHIP-MDCFNPC",
    task_type="attr_cls",
    engine="attr_cls",
    official=official_pairs,
    lenient="lenient",
    aligner="greedy",
    metrics=ATTR_CLS_METRICS,
    taggers=ATTR_CLS_TAGGERS,
    report=ATTR_CLS_REPORT,
    fallback_label=NOT_ANNOTATED_LONG,
    rules=_rules,
    recipes=("round1", "round2", "round3", "custom"),
)

"""CMeEE-V2 (ner): medical entities of a sentence, one line per asked type (`疾病实体：a，b`).

The official rule is harness.scoring.ner.official_mentions; the classification protocol is over
entity types (a mention found under another type is a confusion, not a missing mention).
"""

from __future__ import annotations

from harness.scoring.ner import official_mentions
from harness.scoring.tasks.base import REPORT_SECTIONS, Metric, Task

TASK = Task(
    name="CMeEE-V2",
    task_type="ner",
    engine="ner",
    official=official_mentions,
    lenient="ner_lenient",
    aligner="mention_then_type",
    metrics=(
        Metric("official.f1", "official F1", "official_f1", headline=True),
        Metric("official.precision", "official P", "official_precision"),
        Metric("official.recall", "official R", "official_recall"),
        Metric("canonical.f1", "canonical F1", "canonical_f1", headline=True),
        Metric("classification.accuracy", "type accuracy", "accuracy", headline=True),
        Metric("classification.macro_f1", "type macro-F1", headline=True),
        Metric("classification.micro_f1", "type micro-F1", headline=True),
    ),
    taggers=("missing", "wrong_type", "boundary", "hallucination", "duplicate", "drift"),
    report=REPORT_SECTIONS,
)

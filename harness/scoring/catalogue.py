"""The metric catalogue: which numbers of a score summary are headline metrics, which ones the
paired tests can resample, and how to read one out of a summary.

It lives with the scorer (not with the reports) because the gate and `harness compare` test
these metrics: they must not depend on presentation code. A task narrows the catalogue to the
metrics it reports (`harness.scoring.tasks.Task.metrics`).
"""

from __future__ import annotations

from typing import Any

# The headline metrics every table shows, as dotted paths into a score summary, with their labels.
HEADLINE: list[tuple[str, str]] = [
    ("official.f1", "official F1"),
    ("canonical.f1", "canonical F1"),
    ("classification.accuracy", "accuracy"),
    ("classification.macro_f1", "macro-F1"),
    ("classification.micro_f1", "micro-F1"),
]

# dotted summary path -> the scorer's metric name (harness.scoring.metrics.METRICS, the `ci` keys):
# the metrics the bootstrap and the paired tests recompute from per-sample counts
STAT_METRICS: dict[str, str] = {
    "official.f1": "official_f1",
    "official.precision": "official_precision",
    "official.recall": "official_recall",
    "canonical.f1": "canonical_f1",
    "classification.accuracy": "accuracy",
    "classification.macro_f1": "macro_f1",
    "classification.micro_f1": "micro_f1",
}


def metric_value(summary: dict[str, Any], path: str) -> float | None:
    """`official.f1` → summary["official"]["f1"]; None when absent."""
    node: Any = summary
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return float(node) if isinstance(node, int | float) and not isinstance(node, bool) else None

"""What a task is: the one place that says how harness scores, reports and trains for a dataset.

A `Task` is plain data plus functions; it holds no state. The scorer dispatches each gold record
on its `task_dataset` to the task registered under that name (`harness.scoring.tasks.TASKS`),
and the task's `engine` says which scoring loop reads it: `attr_cls` (entity–polarity pairs,
pipeline.py) or `ner` (mention–type pairs, ner.py). Both loops fill the same per-sample count
columns (metrics.py) and the same summary and trace shapes, so the bootstrap, the gate, compare
and the reports need to know nothing about a task but its metrics.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from harness.records import Record

# official rule: (text, answer choices) -> the set of (entity or mention, label or type) pairs
OfficialRule = Callable[[str, Iterable[str] | None], set[tuple[str, str]]]

ENGINES = ("attr_cls", "ner")


@dataclass(frozen=True)
class Metric:
    """One metric a task reports: a dotted path into its summary (harness.scoring.catalogue)."""

    path: str
    label: str
    stat: str | None = None  # the count-matrix metric (metrics.METRICS) behind it: CIs, gate, compare
    higher_is_better: bool = True
    headline: bool = False  # shown in every systems × metrics table


@dataclass(frozen=True)
class Task:
    """One scored dataset. Register it in harness/scoring/tasks/__init__.py (one line)."""

    name: str  # the records' task_dataset
    task_type: str  # the records' task_type
    engine: str  # one of ENGINES: the scoring loop
    official: OfficialRule  # PromptCBLUE's rule, to the letter: the `official` numbers
    lenient: str  # the lenient reading (a parser name of the engine) behind `canonical`/`classification`
    aligner: str  # how gold and predicted items pair up (an aligner name of the engine)
    metrics: tuple[Metric, ...]
    taggers: tuple[str, ...]  # failure taggers that apply, in report order
    report: tuple[str, ...]  # report sections: metrics, per_label, confusion, failures, examples
    fallback_label: str | None = None  # attr_cls: what the official rule reads a label outside the choices as
    rules: Callable[[Record], str] | None = None  # the keyword-rules floor's answer, if the task has one
    recipes: tuple[str, ...] = ()  # training recipes (harness.training.recipes) that train for it

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ValueError(f"task {self.name}: unknown engine {self.engine!r}; valid: {', '.join(ENGINES)}")

    def scores(self, record: Record) -> bool:
        """Whether the task scores this record: its task type, with the answer choices the rule needs."""
        return record.task_type == self.task_type and bool(record.answer_choices)

    @property
    def stat_metrics(self) -> dict[str, str]:
        """Summary path -> count-matrix metric, for the metrics the paired tests can resample."""
        return {m.path: m.stat for m in self.metrics if m.stat is not None}

    @property
    def headline(self) -> list[tuple[str, str]]:
        return [(m.path, m.label) for m in self.metrics if m.headline]

"""What a task is: the one place that says how harness scores and reports a dataset.

A `Task` is plain data plus functions; it holds no state. The scorer dispatches each gold record
on its `task_dataset` to the task registered under that name (`harness.scoring.tasks.TASKS`),
and the task's `engine` says which scoring loop reads it: `attr_cls` (entity–polarity pairs,
pipeline.py) or `ner` (mention–type pairs, ner.py). Both loops fill the same per-sample count
columns (metrics.py) and the same summary and trace shapes, so the bootstrap, the gate, compare
and the reports need to know nothing about a task but its metrics and its report sections.

Both engines take the `official` numbers from the task's `official` rule and nothing else, and
also call it on single lines (attr_cls caches each distinct line's pairs; ner explains each line
in the traces), so the rule must read every line on its own: the attr_cls rule drops the first
line and reads at most one pair on each other one (the engine calls it on `"\\n" + line`), the
ner rule reads each line alone (the engine calls it on `line`).

A task lists no training recipes: what a recipe trains on is its own filter
(harness.training.recipes: round1 every task, round2 and round3 CHIP-MDCFNPC, custom whatever
its options keep), so a list here could only repeat it; and scoring a checkpoint on a task it was
not trained for is a measurement the study wants (a round3 checkpoint on IMCS-V2-SR), so there
is no mismatch for a suite check to refuse.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from harness.records import Record
from harness.scoring.labels import CANONICAL_LABELS

# official rule: (text, answer choices) -> the set of (entity or mention, label or type) pairs
OfficialRule = Callable[[str, Iterable[str] | None], set[tuple[str, str]]]

ENGINES = ("attr_cls", "ner")
# the sections of `harness report` a task can appear in (harness.reporting), in page order
REPORT_SECTIONS = ("metrics", "per_label", "confusion", "failures", "examples")


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
    report: tuple[str, ...]  # the REPORT_SECTIONS that show this task's numbers and samples
    # attr_cls: the canonical label the lenient reading gives a label it does not recognise
    unknown_label: str | None = None
    rules: Callable[[Record], str] | None = None  # the keyword-rules floor's answer, if the task has one

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ValueError(f"task {self.name}: unknown engine {self.engine!r}; valid: {', '.join(ENGINES)}")
        unknown = [s for s in self.report if s not in REPORT_SECTIONS]
        if unknown:
            raise ValueError(
                f"task {self.name}: unknown report section(s) {', '.join(unknown)}; "
                f"valid: {', '.join(REPORT_SECTIONS)}"
            )
        if self.engine == "attr_cls" and self.unknown_label not in CANONICAL_LABELS:
            raise ValueError(
                f"task {self.name}: an attr_cls task needs unknown_label, one of {', '.join(CANONICAL_LABELS)}"
            )

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

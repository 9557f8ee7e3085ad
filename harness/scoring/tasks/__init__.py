"""The task registry: every dataset harness scores, by its records' `task_dataset`.

Adding a task: one module in this folder that builds a `Task` (base.py says what each field
means and what the engines, attr_cls and ner, need of its official rule), plus one
`register(...)` line below.
"""

from __future__ import annotations

from harness.records import Record
from harness.scoring.tasks import chip_mdcfnpc, cmeee, imcs_sr
from harness.scoring.tasks.base import REPORT_SECTIONS, Metric, Task

TASKS: dict[str, Task] = {}


def register(task: Task) -> Task:
    if task.name in TASKS:
        raise ValueError(f"task {task.name!r} is registered twice")
    TASKS[task.name] = task
    return task


register(chip_mdcfnpc.TASK)
register(imcs_sr.TASK)
register(cmeee.TASK)


def task_of(record: Record) -> Task | None:
    """The task that scores `record`, or None (an unknown dataset, or a record the rule cannot read)."""
    task = TASKS.get(record.task_dataset)
    return task if task is not None and task.scores(record) else None


__all__ = ["REPORT_SECTIONS", "TASKS", "Metric", "Task", "register", "task_of"]

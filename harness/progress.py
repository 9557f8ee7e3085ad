"""Progress on stderr for the steps that can take more than a few seconds.

`bar` counts work of a known size (items or bytes) and shows the time left; `stages` walks a
known number of named stages with a spinner and the time elapsed, for work whose parts cannot
be counted (a tokenizer trainer, an engine start). Both draw on a terminal only: stdout may
hold --json, and a log file or CI's output gets no bar frames.

Every bar draws on one shared console, so a bar started inside another (the bootstrap inside
the scoring bar, the copy drills inside the tiny-model stages) shows below it in one display;
bars on two consoles would overwrite each other's lines.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache

from rich.console import Console


@cache
def stderr_console() -> Console:
    """The console every progress display draws on."""
    return Console(stderr=True)


def _quiet(*_: object) -> None:
    return None


@contextmanager
def bar(label: str, total: float, *, unit: str = "items") -> Iterator[Callable[[float], None]]:
    """Yields `advance(n)`; `unit="bytes"` shows sizes. No display off a terminal or for total 0.

    Small advances are added up and drawn about 200 times over the whole bar, so a call per
    line of a big file costs next to nothing.
    """
    console = stderr_console()
    if total <= 0 or not console.is_terminal:
        yield _quiet
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    count = DownloadColumn() if unit == "bytes" else MofNCompleteColumn()
    with Progress(TextColumn(f"  {label}"), BarColumn(), count, TimeRemainingColumn(), console=console) as p:
        task = p.add_task(label, total=total)
        step, pending = total / 200, 0.0

        def advance(n: float = 1) -> None:
            nonlocal pending
            pending += n
            if pending >= step:
                p.advance(task, pending)
                pending = 0.0

        yield advance
        p.advance(task, pending)


@contextmanager
def stages(label: str, total: int) -> Iterator[Callable[[str], None]]:
    """Yields `stage(name)`, called as each of `total` stages starts: "label · name", k/total,
    a spinner and the time elapsed. No display off a terminal."""
    console = stderr_console()
    if not console.is_terminal:
        yield _quiet
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as p:
        task = p.add_task(label, total=total)
        started = 0

        def stage(name: str) -> None:
            nonlocal started
            p.update(task, completed=started, description=f"{label} · {name}")
            started += 1

        yield stage
        p.update(task, completed=total, description=label)

"""A rich progress bar on stderr for generation: prompts done, tokens/s, time left."""

from __future__ import annotations

import time
from types import TracebackType

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from harness.progress import stderr_console


class GenerationProgress:
    """`advance(prompts, tokens)` after each finished piece of work; a no-op when disabled."""

    def __init__(self, total: int, *, enabled: bool = True, description: str = "generating"):
        self.tokens = 0
        self._start = time.perf_counter()
        self._progress: Progress | None = None
        if enabled and total > 0:
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]} tok/s"),
                TimeRemainingColumn(),
                console=stderr_console(),  # shared: the vLLM engine start shows under it
                transient=False,
            )
            self._task = self._progress.add_task(description, total=total, rate="-")

    def advance(self, prompts: int, tokens: int) -> None:
        self.tokens += tokens
        if self._progress is not None:
            elapsed = time.perf_counter() - self._start
            rate = f"{self.tokens / elapsed:.1f}" if elapsed > 0 else "-"
            self._progress.update(self._task, advance=prompts, rate=rate)

    def __enter__(self) -> GenerationProgress:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

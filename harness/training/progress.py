"""A rich progress bar for the HF Trainer (on stderr, so --json keeps stdout clean)."""

from __future__ import annotations

from typing import Any

from transformers import TrainerCallback


class RichProgressCallback(TrainerCallback):
    """Steps done / total, with the latest train and eval loss in the description."""

    def __init__(self, label: str = "train") -> None:
        self.label = label
        self.progress: Any = None
        self.task: Any = None
        self.loss = ""

    def on_train_begin(self, args, state, control, **kwargs):  # type: ignore[override]
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self.progress.start()
        self.task = self.progress.add_task(self.label, total=state.max_steps, completed=state.global_step)

    def on_step_end(self, args, state, control, **kwargs):  # type: ignore[override]
        if self.progress is not None:
            self.progress.update(self.task, completed=state.global_step)

    def on_log(self, args, state, control, logs=None, **kwargs):  # type: ignore[override]
        if self.progress is None or not logs:
            return
        if "loss" in logs:
            self.loss = f"loss {logs['loss']:.3f}"
        if "eval_loss" in logs:
            self.loss += f" · eval {logs['eval_loss']:.3f}"
        self.progress.update(self.task, description=f"{self.label} {self.loss}")

    def on_train_end(self, args, state, control, **kwargs):  # type: ignore[override]
        if self.progress is not None:
            self.progress.stop()
            self.progress = None

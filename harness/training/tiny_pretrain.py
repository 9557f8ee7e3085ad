"""Copy drills: a short full fine-tuning that gives a tiny model the one base skill LoRA cannot add.

A real instruct model copies names from its prompt; a randomly initialised one cannot, and LoRA
on its frozen random weights never learns to within the demo's CPU budget (measured: 500 LoRA
steps on 2,000 attr_cls records still give official F1 ≈ 0.01; every answer repeats one name).
So `build_tiny_model(copy_steps=N)` first trains the whole model for N steps on drills built
from the corpus's entity words only: a list `实体：a，b，c`, then `答：`, then each listed word
on its own line with a random tag (`a：是`). The drills hold no dialogue, no attr_cls header
and none of its labels, so the zero-shot model still cannot do attr_cls; the LoRA rounds
teach the answer form, the labels and reading the dialogue, and copying is what they build on.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

# Tags between the copied word and the line end: the drill must carry "which word comes next"
# across a line's content, as attr_cls answers carry it across a label.
DRILL_TAGS = ["是", "否", "有", "无", "不确定", "阳性", "阴性", "其他"]
MAX_WORD_CHARS = 8


def entity_words(texts: Iterable[str]) -> list[str]:
    """Entity names of PromptCBLUE-style answers: the part before `：` of each line after the header.

    Longest first, so a regex alternation of them matches 干咳 before 咳.
    """
    words: set[str] = set()
    for text in texts:
        for line in text.split("\n")[1:]:
            parts = line.split("：")
            name = parts[0].strip()
            if len(parts) == 2 and 0 < len(name) <= MAX_WORD_CHARS:
                words.add(name)
    return sorted(words, key=lambda w: (-len(w), w))


def copy_drills(words: list[str], n: int, seed: int = 0) -> list[str]:
    """`n` drill texts: a list of 2-5 distinct words, then each word on its own line with a tag."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        xs = rng.sample(words, min(len(words), rng.randint(2, 5)))
        lines = "\n".join(x + "：" + rng.choice(DRILL_TAGS) for x in xs)
        out.append("实体：" + "，".join(xs) + "\n答：\n" + lines)
    return out


@contextmanager
def _progress(steps: int) -> Iterator[Callable[[float], None]]:
    """A bar on stderr (steps, loss, time left): the drills take minutes on a CPU."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from harness.progress import stderr_console

    with Progress(
        TextColumn("  copy drills {task.fields[loss]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=stderr_console(),  # shared: the bar shows under the tiny model's stages
    ) as bar:
        task = bar.add_task("copy drills", total=steps, loss="")
        yield lambda loss: bar.update(task, advance=1, loss=f"loss {loss:.3f}")


def pretrain_copy(
    model: Any,
    tokenizer: Any,
    words: list[str],
    steps: int,
    *,
    seed: int = 0,
    batch_size: int = 32,
    lr: float = 3e-3,
) -> dict[str, float]:
    """Train every weight of `model` in place for `steps` AdamW steps of causal LM on copy drills."""
    import torch

    from harness.training.data import PadCollator

    if len(words) < 2:
        from harness.errors import HarnessError

        raise HarnessError("copy_steps needs a corpus whose answers name at least 2 entities")
    end = tokenizer.convert_tokens_to_ids(tokenizer.pad_token)
    drills = copy_drills(words, steps * batch_size, seed)
    torch.manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    warmup = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * max(0.0, (steps - s) / steps)
    )
    collate = PadCollator(end)
    model.train()
    losses = []
    with _progress(steps) as advance:
        for step in range(steps):
            # Tokenized a batch at a time, inside the bar: all at once was ~20 s of silence.
            texts = drills[step * batch_size : (step + 1) * batch_size]
            ids = [[*row, end] for row in tokenizer(texts, add_special_tokens=False)["input_ids"]]
            batch = collate([{"input_ids": x, "labels": x} for x in ids])
            loss = model(**batch).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            losses.append(loss.item())
            advance(losses[-1])
    model.eval()
    tail = losses[-max(1, steps // 10) :]
    return {
        "steps": steps,
        "loss_first": losses[0],
        "loss_last": sum(tail) / len(tail),
        "ln_words": math.log(len(words)),
    }

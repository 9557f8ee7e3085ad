"""Records → token ids and labels for causal-LM LoRA training.

The prompt is `harness.prompts.build_prompt` (the builder generation uses), so training and
inference prompts are byte-identical. Loss falls on the answer and the end-of-turn token only:
every prompt token's label is -100. Over-long examples lose dialogue from the LEFT of the
input's middle (oldest turns first); the first line (the task statement) and the instruction
tail (entity list, options, "答：") are kept, and the answer is never cut.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.errors import HarnessError
from harness.prompts import build_prompt
from harness.records import Record

IGNORE_INDEX = -100
# The instruction tail of PromptCBLUE attr_cls inputs is at most 4 lines
# (临床发现实体 / 阴阳性选项 / 说明 / 答：); keeping 4 lines keeps it for every task we train.
TAIL_LINES = 4


@dataclass
class Encoded:
    sample_id: str
    input_ids: list[int]
    labels: list[int]
    truncated: bool


@dataclass
class EncodeStats:
    examples: int = 0
    truncated: int = 0
    skipped_overlong: list[str] = field(default_factory=list)  # answers alone longer than max_length
    tokens: int = 0
    answer_tokens: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "examples": self.examples,
            "truncated": self.truncated,
            "skipped_overlong": len(self.skipped_overlong),
            "skipped_ids": self.skipped_overlong[:20],
            "tokens": self.tokens,
            "answer_tokens": self.answer_tokens,
        }


def end_of_turn(tokenizer: Any) -> str:
    """The token that ends an assistant turn: <|im_end|> for Qwen chat models, else eos."""
    vocab = tokenizer.get_vocab()
    if "<|im_end|>" in vocab:
        return "<|im_end|>"
    if tokenizer.eos_token is None:
        raise HarnessError("the tokenizer has neither <|im_end|> nor an eos token to end the answer with")
    return tokenizer.eos_token


def _ids(tokenizer: Any, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def _shortened(record: Record, drop: int) -> Record:
    """The record with `drop` characters removed from the left of the input's middle."""
    lines = record.input.split("\n")
    if len(lines) <= TAIL_LINES + 1:
        head, middle, tail = "", record.input, ""
        # Too few lines to tell the dialogue from the instructions: cut from the left.
    else:
        head = lines[0] + "\n"
        middle = "\n".join(lines[1:-TAIL_LINES]) + "\n"
        tail = "\n".join(lines[-TAIL_LINES:])
    if drop < len(middle):
        # Whole turns go: cut at the next line start, so no turn is kept half-way.
        nl = middle.find("\n", max(drop - 1, 0))
        drop = nl + 1 if 0 <= nl < len(middle) - 1 else drop
    middle = middle[min(drop, len(middle)) :]
    return Record(
        record.sample_id,
        head + middle + tail,
        record.target,
        record.answer_choices,
        record.task_type,
        record.task_dataset,
    )


def _middle_len(record: Record) -> int:
    lines = record.input.split("\n")
    if len(lines) <= TAIL_LINES + 1:
        return len(record.input)
    return len("\n".join(lines[1:-TAIL_LINES])) + 1


def encode_record(
    tokenizer: Any,
    record: Record,
    max_length: int = 1024,
    system_prompt: str | None = None,
    eot: str | None = None,
) -> Encoded | None:
    """Token ids and labels for one record, or None when its answer alone exceeds max_length."""
    eot = eot or end_of_turn(tokenizer)
    answer = _ids(tokenizer, record.target + eot)
    budget = max_length - len(answer)
    if budget <= 0:
        return None
    prompt = _ids(tokenizer, build_prompt(tokenizer, record, system_prompt))
    truncated = False
    if len(prompt) > budget:
        truncated = True
        # Smallest number of dropped characters that fits: binary search (token counts grow
        # monotonically enough with text length for this to land within a token or two).
        lo, hi = 1, _middle_len(record)
        while lo < hi:
            mid = (lo + hi) // 2
            if (
                len(_ids(tokenizer, build_prompt(tokenizer, _shortened(record, mid), system_prompt)))
                <= budget
            ):
                hi = mid
            else:
                lo = mid + 1
        prompt = _ids(tokenizer, build_prompt(tokenizer, _shortened(record, lo), system_prompt))
        if len(prompt) > budget:
            # Even head + tail are too long: keep the last tokens of the prompt, which hold the
            # instruction tail and the assistant turn opener.
            prompt = prompt[-budget:]
    return Encoded(
        sample_id=record.sample_id,
        input_ids=prompt + answer,
        labels=[IGNORE_INDEX] * len(prompt) + answer,
        truncated=truncated,
    )


def encode_records(
    tokenizer: Any,
    records: Sequence[Record],
    max_length: int = 1024,
    system_prompt: str | None = None,
) -> tuple[list[dict[str, list[int]]], EncodeStats]:
    """Encode every record as {input_ids, labels}; the stats count truncated and skipped ones."""
    eot = end_of_turn(tokenizer)
    stats = EncodeStats()
    rows: list[dict[str, list[int]]] = []
    for rec in records:
        enc = encode_record(tokenizer, rec, max_length, system_prompt, eot)
        if enc is None:
            stats.skipped_overlong.append(rec.sample_id)
            continue
        stats.examples += 1
        stats.truncated += enc.truncated
        stats.tokens += len(enc.input_ids)
        stats.answer_tokens += sum(1 for x in enc.labels if x != IGNORE_INDEX)
        rows.append({"input_ids": enc.input_ids, "labels": enc.labels})
    return rows, stats


class PadCollator:
    """Right-pads a batch: pad id in input_ids, -100 in labels, 0 in the attention mask."""

    def __init__(self, pad_id: int):
        self.pad_id = pad_id

    def __call__(self, batch: list[dict[str, list[int]]]) -> dict[str, Any]:
        import torch

        width = max(len(row["input_ids"]) for row in batch)
        ids, labels, mask = [], [], []
        for row in batch:
            n = len(row["input_ids"])
            ids.append(row["input_ids"] + [self.pad_id] * (width - n))
            labels.append(row["labels"] + [IGNORE_INDEX] * (width - n))
            mask.append([1] * n + [0] * (width - n))
        return {
            "input_ids": torch.tensor(ids, dtype=torch.long),
            "labels": torch.tensor(labels, dtype=torch.long),
            "attention_mask": torch.tensor(mask, dtype=torch.long),
        }

"""Prompt masking, truncation of the dialogue (never the answer), padding."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.prompts import build_prompt
from harness.records import Record
from harness.training.data import IGNORE_INDEX, PadCollator, encode_record, encode_records


@pytest.fixture(scope="module")
def tok(tiny_model_dir: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_dir)


@pytest.fixture(scope="module")
def records() -> list[Record]:
    from harness.datasets.synthetic import synth_records

    return list(synth_records(30, seed=7, tasks=("attr_cls", "imcs_sr", "ner")))


def _ids(tok, text: str) -> list[int]:
    return tok(text, add_special_tokens=False)["input_ids"]


@pytest.mark.parametrize("system_prompt", [None, "你是一名医生。"])
def test_no_prompt_token_carries_a_label_and_every_answer_token_does(tok, records, system_prompt) -> None:
    eot = tok.convert_tokens_to_ids("<|im_end|>")
    for rec in records:
        enc = encode_record(tok, rec, max_length=4096, system_prompt=system_prompt)
        assert enc is not None and not enc.truncated
        prompt = _ids(tok, build_prompt(tok, rec, system_prompt))
        answer = _ids(tok, rec.target + "<|im_end|>")
        assert enc.input_ids == prompt + answer
        assert enc.labels[: len(prompt)] == [IGNORE_INDEX] * len(prompt)
        assert enc.labels[len(prompt) :] == answer  # the answer and the end-of-turn token
        assert enc.labels[-1] == eot


def test_truncation_cuts_the_dialogue_keeps_tail_and_answer(tok) -> None:
    turns = "\n".join(f"患者：第{i}句话，头痛发热咳嗽。" for i in range(200))
    tail = "临床发现实体：头痛，发热\n阴阳性选项：甲，乙\n说明：略\n答："
    rec = Record(
        "long",
        "医疗对话中临床发现实体的阴阳性判别：\n" + turns + "\n" + tail,
        "头痛：甲\n发热：乙",
        None,
        "attr_cls",
        "X",
    )
    full = encode_record(tok, rec, max_length=100_000)
    enc = encode_record(tok, rec, max_length=256)
    assert len(full.input_ids) > 256 >= len(enc.input_ids) > 200 and enc.truncated
    text = tok.decode(enc.input_ids)
    assert text.endswith(tail + "<|im_end|>\n<|im_start|>assistant\n头痛：甲\n发热：乙<|im_end|>")
    assert "医疗对话中临床发现实体的阴阳性判别：" in text  # the task line stays
    assert "第199句" in text and "第0句" not in text  # oldest turns go first
    kept = text.split("\n")[2:-8]  # between the task line and the instruction tail
    assert kept and all(
        re.fullmatch(r"患者：第\d+句话，头痛发热咳嗽。", line) for line in kept
    )  # whole turns
    answer = _ids(tok, rec.target + "<|im_end|>")
    assert [x for x in enc.labels if x != IGNORE_INDEX] == answer


def test_answer_longer_than_max_length_is_skipped_and_counted(tok, records) -> None:
    long_answer = Record("big", "问：\n答：", "很长的答案" * 200, None, "attr_cls", "X")
    limit = 96
    rows, stats = encode_records(tok, [*records[:6], long_answer], max_length=limit)

    def n(r: Record, part: str) -> int:
        return len(_ids(tok, build_prompt(tok, r) if part == "prompt" else r.target + "<|im_end|>"))

    fits = [r for r in records[:6] if n(r, "answer") < limit]
    assert stats.skipped_overlong == [r.sample_id for r in records[:6] if r not in fits] + ["big"]
    assert stats.examples == len(rows) == len(fits)
    assert stats.truncated == sum(n(r, "prompt") + n(r, "answer") > limit for r in fits) > 0
    assert all(len(r["input_ids"]) <= limit for r in rows)


def test_collator_pads_right_with_ignored_labels() -> None:
    batch = PadCollator(pad_id=0)(
        [{"input_ids": [5, 6, 7], "labels": [-100, 6, 7]}, {"input_ids": [9], "labels": [9]}]
    )
    assert batch["input_ids"].tolist() == [[5, 6, 7], [9, 0, 0]]
    assert batch["labels"].tolist() == [[-100, 6, 7], [9, -100, -100]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]

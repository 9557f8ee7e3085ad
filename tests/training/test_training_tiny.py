"""Tiny Qwen2 models: deterministic bytes, the chat template, the special tokens, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.errors import HarnessError
from harness.hashing import sha256_model_dir, sha256_tree
from harness.records import Record
from harness.training.tiny import build_tiny_model, count_parameters, iter_corpus


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from harness.datasets.synthetic import write_synth

    return write_synth(tmp_path_factory.mktemp("corpus") / "c.jsonl", n=40, seed=3)


def test_same_seed_same_bytes_other_seed_other_weights(small_corpus: Path, tmp_path: Path) -> None:
    a = build_tiny_model(small_corpus, tmp_path / "a", seed=0, hidden=64, heads=2, kv_heads=1)
    b = build_tiny_model(small_corpus, tmp_path / "b", seed=0, hidden=64, heads=2, kv_heads=1)
    c = build_tiny_model(small_corpus, tmp_path / "c", seed=1, hidden=64, heads=2, kv_heads=1)
    assert sha256_tree(a) == sha256_tree(b)
    assert sha256_tree(a, [".safetensors"]) != sha256_tree(c, [".safetensors"])
    assert sha256_tree(a, ["tokenizer.json"]) == sha256_tree(c, ["tokenizer.json"])


def test_tokenizer_template_and_config(tiny_model_dir: Path) -> None:
    from transformers import AutoConfig, AutoTokenizer

    from harness.prompts import build_prompt

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    cfg = AutoConfig.from_pretrained(tiny_model_dir)
    assert tok.eos_token == "<|im_end|>" and tok.pad_token == "<|endoftext|>"
    assert cfg.eos_token_id == tok.convert_tokens_to_ids("<|im_end|>")
    assert cfg.hidden_size // cfg.num_attention_heads >= 32 and cfg.tie_word_embeddings
    rec = Record("x", "患者：发热三天\n答：", "", None, "attr_cls", "CHIP-MDCFNPC")
    assert (
        build_prompt(tok, rec) == "<|im_start|>user\n患者：发热三天\n答：<|im_end|>\n<|im_start|>assistant\n"
    )
    assert build_prompt(tok, rec, "你是医生").startswith("<|im_start|>system\n你是医生<|im_end|>\n")
    # Special tokens are single ids; unseen characters still encode (byte-level) and round-trip.
    assert len(tok("<|im_start|>", add_special_tokens=False)["input_ids"]) == 1
    text = "龘𠀀 abc"
    assert tok.decode(tok(text, add_special_tokens=False)["input_ids"]) == text


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"hidden": 100, "heads": 4}, "head_dim"),
        ({"hidden": 128, "heads": 3}, "divide"),
        ({"vocab_size": 100}, "vocab_size"),
    ],
)
def test_bad_shapes_are_user_errors(small_corpus: Path, tmp_path: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(HarnessError, match=message):
        build_tiny_model(small_corpus, tmp_path / "m", **kwargs)


def test_corpus_reads_jsonl_fields_and_plain_text(tmp_path: Path) -> None:
    p = tmp_path / "c.txt"
    p.write_text('{"input": "问", "target": "答"}\nplain line\n\n{"other": 1}\n', encoding="utf-8")
    assert list(iter_corpus(p)) == ["问", "答", "plain line", '{"other": 1}']


def test_cli_models_tiny_json(small_corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "m"
    res = CliRunner().invoke(
        cli, ["models", "tiny", "--corpus", str(small_corpus), "--out", str(out), "--hidden", "64",
              "--heads", "2", "--kv-heads", "1", "--entity-tokens", "--copy-steps", "2", "--json"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    info = json.loads(res.stdout)
    assert info["path"] == str(out) and info["parameters"] == count_parameters(out) > 0
    assert info["sha256"] == sha256_model_dir(out)
    assert info["entity_tokens"] is True and info["copy_steps"] == 2
    bad = CliRunner().invoke(cli, ["models", "tiny", "--corpus", str(tmp_path / "nope"), "--out", str(out)])
    assert bad.exit_code == 2 and "corpus not found" in bad.output


def test_entity_words_are_answer_names_longest_first() -> None:
    from harness.training.tiny_pretrain import entity_words

    texts = ["头\n干咳：阳性\n咳：阴性\n说明：a：b\n", "问题\n没有冒号的行", "header\n喘息：其他"]
    assert entity_words(texts) == ["喘息", "干咳", "咳"]


def test_entity_tokens_spell_a_finding_alike_everywhere(small_corpus: Path, tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    plain = build_tiny_model(small_corpus, tmp_path / "p", hidden=64, heads=2, kv_heads=1)
    split = build_tiny_model(small_corpus, tmp_path / "s", hidden=64, heads=2, kv_heads=1, entity_tokens=True)
    words = [AutoTokenizer.from_pretrained(m) for m in (plain, split)]
    text = "医生：有乏力吗？\n患者：这两天拉肚子"
    pieces = [[t.decode([i]) for i in t(text, add_special_tokens=False)["input_ids"]] for t in words]
    assert pieces[1][2:5] == ["有", "乏力", "吗"]  # the finding is one token, never glued to 有…吗
    assert words[1].decode(words[1](text, add_special_tokens=False)["input_ids"]) == text


@pytest.mark.slow
def test_copy_steps_train_every_weight_and_keep_the_tokenizer(small_corpus: Path, tmp_path: Path) -> None:
    from safetensors.torch import load_file

    kw = {"hidden": 64, "heads": 2, "kv_heads": 1, "entity_tokens": True}
    a = build_tiny_model(small_corpus, tmp_path / "a", **kw)
    b = build_tiny_model(small_corpus, tmp_path / "b", copy_steps=3, **kw)
    assert sha256_tree(a, ["tokenizer.json"]) == sha256_tree(b, ["tokenizer.json"])
    wa, wb = (load_file(str(m / "model.safetensors")) for m in (a, b))
    changed = [k for k in wa if not (wa[k] == wb[k]).all()]
    assert "model.embed_tokens.weight" in changed and any("layers.1.mlp" in k for k in changed)


def test_copy_drills_list_then_copy_each_word_on_its_own_line() -> None:
    from harness.training.tiny_pretrain import copy_drills

    for drill in copy_drills(["发热", "咳嗽", "头痛", "腹泻", "乏力", "恶心"], 20, seed=1):
        head, answer = drill.split("\n答：\n")
        listed = head.removeprefix("实体：").split("，")
        assert 2 <= len(listed) <= 5 and len(set(listed)) == len(listed)
        assert [line.split("：")[0] for line in answer.split("\n")] == listed
    assert copy_drills(["a", "b", "c"], 5, seed=2) == copy_drills(["a", "b", "c"], 5, seed=2)

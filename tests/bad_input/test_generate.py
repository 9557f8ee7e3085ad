"""`harness generate` on malformed data, options, models, adapters, caches and outputs: a clear error.

Most cases fail before any model loads (a stand-in model folder is enough); the few that must
load weights (damaged or mismatched adapters, a damaged cache) use the tiny model fixture.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.records import ATTR_CLS_CHOICES
from tests.bad_input.cases import Case, check

RECORD = {
    "sample_id": "s0",
    "input": "患者：我拉肚子两天了。\n临床发现实体：腹泻",
    "target": "",
    "answer_choices": ATTR_CLS_CHOICES,
    "task_type": "attr_cls",
    "task_dataset": "CHIP-MDCFNPC",
}
TINY: dict[str, Path] = {}  # "model" → the session's tiny model (filled by the test when a case needs it)


def write(tmp: Path, name: str, content: str | bytes) -> None:
    path = tmp / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")


def setup(data: str | None = None, model: str = "fake", **extra: str | bytes) -> Callable[[Path], None]:
    """data.jsonl (one good record by default), a model folder (fake: config + empty weights; tiny:
    the real tiny model) and any other named files."""

    def run(tmp: Path) -> None:
        write(tmp, "data.jsonl", json.dumps(RECORD, ensure_ascii=False) + "\n" if data is None else data)
        if model == "tiny":
            shutil.copytree(TINY["model"], tmp / "model")
        else:
            write(tmp, "model/config.json", "{}")
            write(tmp, "model/model.safetensors", b"")
        for name, content in extra.items():
            write(tmp, name.replace("__", "/"), content)

    return run


def with_adapter(edit: Callable[[Path], None] | None = None, **kw: Any) -> Callable[[Path], None]:
    """The tiny model and a real LoRA adapter for it in `ad/`, then `edit(ad)` damages it."""

    def run(tmp: Path) -> None:
        setup(model="tiny", **kw)(tmp)
        make_adapter(tmp / "model", tmp / "ad")
        if edit is not None:
            edit(tmp / "ad")

    return run


def make_adapter(model: Path | None, out: Path, hidden: int = 0) -> None:
    """A random LoRA on `model`, or (hidden > 0) on a random Qwen2 of another width."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, Qwen2Config

    torch.manual_seed(0)
    if hidden:
        cfg = Qwen2Config(
            hidden_size=hidden,
            intermediate_size=2 * hidden,
            num_hidden_layers=2,
            num_attention_heads=2,
            num_key_value_heads=1,
            vocab_size=4096,
        )
        base = AutoModelForCausalLM.from_config(cfg)
    else:
        base = AutoModelForCausalLM.from_pretrained(model)
    lora = LoraConfig(
        r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False, task_type="CAUSAL_LM"
    )
    get_peft_model(base, lora).save_pretrained(out)


def edit_config(**changes: Any) -> Callable[[Path], None]:
    def run(ad: Path) -> None:
        path = ad / "adapter_config.json"
        cfg = json.loads(path.read_text())
        path.write_text(json.dumps({**cfg, **changes}))

    return run


def truncate_weights(ad: Path) -> None:
    path = ad / "adapter_model.safetensors"
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])


def truncated_model(tmp: Path) -> None:
    setup(model="tiny")(tmp)
    path = tmp / "model" / "model.safetensors"
    path.write_bytes(path.read_bytes()[:1000])


def other_shape(tmp: Path) -> None:
    setup(model="tiny")(tmp)
    make_adapter(None, tmp / "ad", hidden=64)  # the tiny model is 128 wide


GEN = ["generate", "--model", "{tmp}/model", "--data", "{tmp}/data.jsonl", "--out", "{tmp}/out/p.jsonl"]
RUN = [*GEN, "--cache", "{tmp}/cache.sqlite", "--quiet", "--max-new-tokens", "2", "--dtype", "float32"]


def cache_kept(tmp: Path, out: str) -> None:
    assert (tmp / "out" / "p.jsonl").is_file()
    assert any(p.name.startswith("cache.sqlite.damaged-") for p in tmp.iterdir())


CASES: list[Case] = [
    # data
    Case("empty-data", setup(data=""), GEN, 2, ["no records"]),
    Case("no-input-field", setup(data=json.dumps({k: v for k, v in RECORD.items() if k != "input"})), GEN, 2, ["input"]),
    Case("data-is-folder", lambda t: (t / "data.jsonl").mkdir(), GEN, 2, ["data.jsonl"]),
    # options
    Case("temperature-nan", setup(), [*GEN, "--temperature", "nan"], 2, ["not a number"]),
    Case("temperature-negative", setup(), [*GEN, "--temperature", "-0.5"], 2, ["--temperature"]),
    Case("top-p-zero", setup(), [*GEN, "--top-p", "0"], 2, ["--top-p"]),
    Case("top-p-above-one", setup(), [*GEN, "--top-p", "1.5"], 2, ["--top-p"]),
    Case("max-new-tokens-zero", setup(), [*GEN, "--max-new-tokens", "0"], 2, ["--max-new-tokens"]),
    Case("max-new-tokens-negative", setup(), [*GEN, "--max-new-tokens", "-3"], 2, ["--max-new-tokens"]),
    Case("batch-size-zero", setup(), [*GEN, "--batch-size", "0"], 2, ["--batch-size"]),
    # outputs
    Case("out-is-folder", setup(**{"out__p.jsonl__x": "taken"}), GEN, 2, ["is a directory"]),
    Case("out-of-a-system-is-folder", setup(**{"out__p.base.jsonl__x": "taken", "ad__x": "x"}), [*GEN, "--adapter", "{tmp}/ad", "--with-base"], 2, ["is a folder"]),
    Case("out-under-a-file", setup(out="a file"), GEN, 2, ["cannot create its folder"]),
    Case("out-is-the-data", setup(), [*GEN[:-1], "{tmp}/data.jsonl"], 2, ["is an input file"]),
    Case("cache-is-folder", setup(**{"c__x": "x"}), [*GEN, "--cache", "{tmp}/c"], 2, ["is a directory"]),
    Case("cache-under-a-file", setup(c="a file"), [*GEN, "--cache", "{tmp}/c/g.sqlite"], 2, ["cannot create"]),
    # models
    Case("model-folder-missing", setup(), [*GEN[:2], "{tmp}/nope", *GEN[3:], "--no-cache"], 2, ["model folder not found"]),
    Case("model-no-config", setup(**{"m__model.safetensors": b""}), [*GEN[:2], "{tmp}/m", *GEN[3:], "--no-cache"], 2, ["no config.json"]),
    Case("hub-id-offline", setup(), [*GEN[:2], "nobody/no-such-model-xyz", *GEN[3:], "--no-cache"], 2, ["HF_HUB_OFFLINE"]),
    Case("openai-completions-needs-local-tokenizer", setup(), [*GEN[:2], "org/served", *GEN[3:], "--no-cache", "--backend", "openai", "--base-url", "http://127.0.0.1:9/v1"], 2, ["--tokenizer"]),
    Case("openai-tokenizer-missing", setup(), [*GEN, "--no-cache", "--backend", "openai", "--base-url", "http://127.0.0.1:9/v1", "--tokenizer", "{tmp}/nope"], 2, ["no such folder"]),
    # adapters (fake model: they fail before any load)
    Case("adapter-config-bad-json", setup(**{"ad__adapter_config.json": "{\"r\": 8,"}), [*GEN, "--no-cache", "--adapter", "{tmp}/ad"], 2, ["adapter_config.json"]),
    Case("adapter-config-missing-keys", setup(**{"ad__adapter_config.json": "{\"r\": 8}"}), [*GEN, "--no-cache", "--adapter", "{tmp}/ad"], 2, ["missing peft_type"]),
    Case("adapter-config-not-object", setup(**{"ad__adapter_config.json": "[1]"}), [*GEN, "--no-cache", "--adapter", "{tmp}/ad"], 2, ["expected a JSON object"]),
    Case("adapter-no-weights", setup(**{"ad__adapter_config.json": json.dumps({"peft_type": "LORA", "r": 8, "target_modules": ["q_proj"]})}), [*GEN, "--no-cache", "--adapter", "{tmp}/ad"], 2, ["no adapter_model.safetensors"]),
    # adapters and caches on the tiny model
    Case("adapter-weights-truncated", with_adapter(truncate_weights), [*RUN, "--adapter", "{tmp}/ad"], 2, ["weights file is damaged"]),
    Case("adapter-other-base-shape", other_shape, [*RUN, "--adapter", "{tmp}/ad"], 2, ["another base model"]),
    Case("adapter-bogus-target-modules", with_adapter(edit_config(target_modules=["nope_proj"])), [*RUN, "--adapter", "{tmp}/ad"], 2, ["target_modules"]),
    Case("model-weights-truncated", truncated_model, RUN, 2, ["cannot load model"]),
    Case("cache-garbage", setup(model="tiny", **{"cache.sqlite": b"\x00not sqlite" * 500}), RUN, 0, ["damaged", "readable generation"], cache_kept),
    Case("cache-zero-length", setup(model="tiny", **{"cache.sqlite": b""}), RUN, 0, ["1 generated"]),
]  # fmt: skip

NEEDS_TINY = {c.id for c in CASES if c.argv[: len(RUN)] == RUN}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_generate_bad_input(case: Case, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    if case.id in NEEDS_TINY:
        TINY["model"] = request.getfixturevalue("tiny_model_dir")
    check(case, tmp_path)

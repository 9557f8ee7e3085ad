"""Bad input to `harness train`: a clear error (exit 2) naming what is wrong, never a traceback.

Most cases fail before a model loads. The model here is a folder with a small Qwen2 config.json
and a weights file that is not one: enough for the --model and target_modules checks, and the
point where a run that got past every check fails (no tokenizer files) is itself a clear error.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.datasets.synthetic import synth_rows
from harness.records import read_records
from tests.bad_input.cases import Case, check

QWEN2_CONFIG = {
    "model_type": "qwen2",
    "architectures": ["Qwen2ForCausalLM"],
    "hidden_size": 16,
    "intermediate_size": 32,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
    "vocab_size": 64,
}
RECORDS = list(synth_rows(12, 0, ["attr_cls"]))
BASE = ["train", "--model", "{tmp}/model", "--out", "{tmp}/runs", "--dtype", "fp32", "--no-progress"]


def lines(rows: list[Any]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def inputs(data: str | bytes | list[Any] = RECORDS, **extra: str | bytes) -> Callable[[Path], None]:
    """model/config.json, data.jsonl (rows, text or bytes) and any other named files."""

    def setup(tmp: Path) -> None:
        (tmp / "model").mkdir()
        (tmp / "model" / "config.json").write_text(json.dumps(QWEN2_CONFIG), encoding="utf-8")
        (tmp / "model" / "model.safetensors").write_bytes(b"not weights")
        for name, content in (("data.jsonl", data), *extra.items()):
            path = tmp / name
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content if isinstance(content, str) else lines(content), encoding="utf-8")

    return setup


def then(first: Callable[[Path], None], more: Callable[[Path], None]) -> Callable[[Path], None]:
    def setup(tmp: Path) -> None:
        first(tmp)
        more(tmp)

    return setup


def fifo(tmp: Path) -> None:
    os.mkfifo(tmp / "pipe")


def folder(name: str) -> Callable[[Path], None]:
    return lambda tmp: (tmp / name).mkdir()


def run_dir(tmp: Path) -> Path:
    """Where `harness train` BASE --data data.jsonl puts its run (the address train_lora computes)."""
    from harness.modelzoo.identity import model_identity
    from harness.training.identity import run_key
    from harness.training.lora import FORMAT_VERSION, TrainConfig

    train = read_records(tmp / "data.jsonl").records
    key = run_key(model_identity(str(tmp / "model")), train, None, TrainConfig(dtype="fp32"), FORMAT_VERSION)
    return tmp / "runs" / f"lora-{key[:16]}"


def damaged_checkpoint(tmp: Path) -> None:
    """A checkpoint whose trainer state is fine but whose adapter weights were cut short."""
    ckpt = run_dir(tmp) / "checkpoints" / "checkpoint-4"
    ckpt.mkdir(parents=True)
    (ckpt / "trainer_state.json").write_text(json.dumps({"global_step": 4}), encoding="utf-8")
    (ckpt / "adapter_model.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{")


def finished_run(adapter: dict[str, bytes], done: str | None = None) -> Callable[[Path], None]:
    """A finished run (DONE.json) whose adapter folder holds `adapter`; `done` replaces DONE.json."""

    def setup(tmp: Path) -> None:
        out = run_dir(tmp)
        (out / "adapter").mkdir(parents=True)
        for name, body in adapter.items():
            (out / "adapter" / name).write_bytes(body)
        record = {
            "out_dir": str(out),
            "adapter": str(out / "adapter"),
            "merged": None,
            "train_losses": [],
            "eval_losses": [],
            "steps": 4,
            "resumed_from": None,
            "seconds": 1.0,
            "key": "k",
        }
        (out / "DONE.json").write_text(done if done is not None else json.dumps(record), encoding="utf-8")

    return setup


ADAPTER_CONFIG = json.dumps({"peft_type": "LORA", "r": 8}).encode()
DATA = ["--data", "{tmp}/data.jsonl"]
TRAIN = [*BASE, *DATA]
NOT_ATTR = [{**r, "task_type": "ner", "task_dataset": "CMeEE-V2"} for r in RECORDS]

# fmt: off
CASES: list[Case] = [
    # --model
    Case("model-path-missing", inputs(), ["train", "--model", "{tmp}/nope", "--out", "{tmp}/r", *DATA], 2,
         ["--model {tmp}/nope: model folder not found"]),
    Case("model-relative-missing", inputs(), ["train", "--model", "./no/such", "--out", "{tmp}/r", *DATA], 2,
         ["./no/such: model folder not found"]),
    Case("model-hub-offline", inputs(), ["train", "--model", "nobody-here/no-such-model", "--out", "{tmp}/r", *DATA],
         2, ["not in the local cache", "HF_HUB_OFFLINE"]),
    Case("model-bad-hub-id", inputs(), ["train", "--model", "a b", "--out", "{tmp}/r", *DATA], 2,
         ["--model a b: no such folder here, and not a hub id"]),
    Case("model-is-a-file", inputs(), ["train", "--model", "{tmp}/data.jsonl", "--out", "{tmp}/r", *DATA], 2,
         ["is a file; expected a model folder or a hub id"]),
    Case("model-folder-without-config", then(inputs(), folder("empty")),
         ["train", "--model", "{tmp}/empty", "--out", "{tmp}/r", *DATA], 2, ["not a model folder (it has no config.json)"]),
    Case("model-folder-without-weights", then(inputs(), lambda tmp: (tmp / "model" / "model.safetensors").unlink()),
         TRAIN, 2, ["the folder has no weights"]),
    Case("model-without-tokenizer", inputs(), TRAIN, 2, ["the tokenizer of {tmp}/model turns text into no tokens"]),
    Case("target-modules-bogus", inputs(), [*TRAIN, "--target-modules", "q_proj,qq_proj"], 2,
         ["target_modules: qq_proj name(s) no layer", "its layers: ", "q_proj", "(or all-linear)"]),
    Case("target-modules-container", inputs(), [*TRAIN, "--target-modules", "mlp"], 2, ["mlp name(s) no layer"]),
    Case("target-modules-empty", inputs(), [*TRAIN, "--target-modules", ","], 2, ["--target-modules: ", "name at least one module"]),
    # training data: empty, filtered to nothing, bad records, bad files
    Case("data-empty", inputs(""), TRAIN, 2,
         ["recipe found no training records: read {tmp}/data.jsonl (0 records), and they hold no records"]),
    Case("data-blank-lines", inputs("\n\n  \n"), TRAIN, 2, ["read {tmp}/data.jsonl (0 records)"]),
    Case("data-two-files-empty", inputs("", **{"b.jsonl": ""}), [*TRAIN, "--data", "{tmp}/b.jsonl"], 2,
         ["read {tmp}/data.jsonl (0 records), {tmp}/b.jsonl (0 records)"]),
    Case("custom-filter-leaves-nothing", inputs(), [*TRAIN, "--recipe", "custom", "--task-type", "ner"], 2,
         ["recipe found no matching training records: read {tmp}/data.jsonl (12 records): attr_cls/CHIP-MDCFNPC ×12;",
          "custom's filter task_type=ner left none of them"]),
    Case("round2-no-chip", inputs(NOT_ATTR), [*TRAIN, "--recipe", "round2"], 2,
         ["recipe found no attr_cls/CHIP-MDCFNPC training records", "ner/CMeEE-V2 ×12", "round2's filter task_type=attr_cls, task_dataset=CHIP-MDCFNPC left none"]),
    Case("round2-no-imcs-dev", inputs(), [*TRAIN, "--recipe", "round2"], 2,
         ["recipe found no attr_cls/IMCS-V2-SR dev records", "task_dataset=IMCS-V2-SR left none"]),
    Case("round3-all-in-test", inputs(), [*TRAIN, "--recipe", "round3", "--test", "{tmp}/data.jsonl"], 2,
         ["recipe found no attr_cls/CHIP-MDCFNPC training records", "(kept 11), then dropping records that overlap dev or test, left none"]),
    Case("data-bad-record", inputs(lines(RECORDS[:2]) + '{"sample_id": 3}\n'), TRAIN, 2,
         ["{tmp}/data.jsonl:3: field sample_id: expected a string, got int 3"]),
    Case("data-broken-json", inputs(lines(RECORDS[:2]) + "{oops\n"), TRAIN, 2, ["{tmp}/data.jsonl:3: invalid JSON"]),
    Case("data-duplicate-id", inputs(RECORDS[:2] + RECORDS[:1]), TRAIN, 2,
         ["{tmp}/data.jsonl:3: field sample_id: duplicate id"]),
    Case("data-utf16", inputs(lines(RECORDS).encode("utf-16")), TRAIN, 2, ["{tmp}/data.jsonl:1: the file is UTF-16"]),
    Case("data-gbk", inputs(lines(RECORDS).encode("gbk")), TRAIN, 2, ["{tmp}/data.jsonl:1: not UTF-8", "GBK"]),
    Case("data-array-non-objects", inputs("[1, \"x\"]"), TRAIN, 2,
         ["{tmp}/data.jsonl:1: expected a JSON object, got int 1 (and 1 more)"]),
    Case("data-deep-array", inputs("[" * 5000 + "]" * 5000), TRAIN, 2, ["invalid JSON array: JSON nested too deeply"]),
    Case("data-deep-line", inputs('{"a":' + "[" * 5000 + "]" * 5000 + "}\n"), TRAIN, 2,
         ["{tmp}/data.jsonl:1: JSON nested too deeply"]),
    Case("data-fifo", then(inputs(), fifo), [*BASE, "--data", "{tmp}/pipe"], 2, ["not a regular file: {tmp}/pipe"]),
    Case("data-dev-null", inputs(), [*BASE, "--data", "/dev/null"], 2, ["not a regular file: /dev/null"]),
    Case("data-folder", inputs(), [*BASE, "--data", "{tmp}/model"], 2, ["is a directory"]),
    Case("data-missing", inputs(), [*BASE, "--data", "{tmp}/nope.jsonl"], 2, ["not found: {tmp}/nope.jsonl"]),
    Case("dev-bad-record", inputs(**{"dev.jsonl": "[1]"}), [*TRAIN, "--dev", "{tmp}/dev.jsonl"], 2,
         ["{tmp}/dev.jsonl:1: expected a JSON object"]),
    Case("test-empty-utf16", inputs(**{"t.jsonl": "".encode("utf-16")}), [*TRAIN, "--test", "{tmp}/t.jsonl"], 2,
         ["{tmp}/t.jsonl:1: the file is UTF-16"]),
    # --config
    Case("config-bad-yaml", inputs(**{"c.yaml": "lr: [\n"}), [*TRAIN, "--config", "{tmp}/c.yaml"], 2,
         ["{tmp}/c.yaml:2: invalid YAML"]),
    Case("config-duplicate-key", inputs(**{"c.yaml": "lr: 1e-4\nepochs: 1\nlr: 2e-4\n"}), [*TRAIN, "--config", "{tmp}/c.yaml"],
         2, ["duplicate key 'lr' (lines 1 and 3)"]),
    Case("config-duplicate-key-json", inputs(**{"c.json": '{"lr": 1, "lr": 2}'}), [*TRAIN, "--config", "{tmp}/c.json"],
         2, ["duplicate key 'lr'"]),
    Case("config-unknown-key", inputs(**{"c.yaml": "rank: 4\n"}), [*TRAIN, "--config", "{tmp}/c.yaml"], 2,
         ["{tmp}/c.yaml: rank: unknown key (valid keys: r, lora_alpha"]),
    Case("config-wrong-type", inputs(**{"c.yaml": "lr: fast\n"}), [*TRAIN, "--config", "{tmp}/c.yaml"], 2,
         ["{tmp}/c.yaml: lr: Input should be a valid number", "got 'fast'"]),
    Case("config-nan", inputs(**{"c.yaml": "lr: .nan\n"}), [*TRAIN, "--config", "{tmp}/c.yaml"], 2,
         ["{tmp}/c.yaml: lr: Input should be a finite number"]),
    Case("config-not-a-mapping", inputs(**{"c.yaml": "- lr\n- 1\n"}), [*TRAIN, "--config", "{tmp}/c.yaml"], 2,
         ["expected a mapping of TrainConfig fields (key: value), got list"]),
    Case("config-scalar", inputs(**{"c.yaml": "3\n"}), [*TRAIN, "--config", "{tmp}/c.yaml"], 2, ["got int"]),
    Case("config-folder", inputs(), [*TRAIN, "--config", "{tmp}/model"], 2, ["is a directory"]),
    Case("config-fifo", then(inputs(), fifo), [*TRAIN, "--config", "{tmp}/pipe"], 2, ["not a regular file"]),
    Case("config-missing", inputs(), [*TRAIN, "--config", "{tmp}/nope.yaml"], 2, ["training config not found"]),
    Case("config-utf16", inputs(**{"c.yaml": "lr: 1\n".encode("utf-16")}), [*TRAIN, "--config", "{tmp}/c.yaml"], 2,
         ["the file is UTF-16"]),
    Case("config-alias-bomb", inputs(**{"c.yaml": "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
         f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n" for p, c in zip("abcdefg", "bcdefgh", strict=True))}),
         [*TRAIN, "--config", "{tmp}/c.yaml"], 2, ["aliases expand to more than"]),
    Case("config-deep", inputs(**{"c.yaml": "a: " + "[" * 300 + "]" * 300 + "\n"}), [*TRAIN, "--config", "{tmp}/c.yaml"],
         2, ["{tmp}/c.yaml: invalid YAML: nested more than 200 levels deep"]),
    Case("config-flag-overrides-bad-file-value", inputs(**{"c.yaml": "epochs: 0\n"}),
         [*TRAIN, "--config", "{tmp}/c.yaml", "--epochs", "-1"], 2, ["--epochs: Input should be greater than 0, got -1.0"]),
    Case("config-empty-file-is-every-default", inputs(**{"c.yaml": ""}), [*TRAIN, "--config", "{tmp}/c.yaml"], 2,
         ["turns text into no tokens"]),
    # numeric flags
    *(Case(f"flag{flag}={value}", inputs(), [*TRAIN, flag, value], 2, [f"{flag}: {says}"])
      for flag, value, says in [
          ("--epochs", "0", "Input should be greater than 0"),
          ("--epochs", "inf", "Input should be a finite number"),
          ("--lr", "nan", "Input should be a finite number"),
          ("--lr", "-1e-4", "Input should be greater than 0"),
          ("--lr", "0", "Input should be greater than 0"),
          ("--max-length", "0", "Input should be greater than or equal to 16"),
          ("--batch-size", "0", "Input should be greater than or equal to 1"),
          ("--batch-size", "-2", "Input should be greater than or equal to 1"),
          ("--grad-accum", "0", "Input should be greater than or equal to 1"),
          ("--max-steps", "0", "Input should be greater than or equal to 1"),
          ("--save-steps", "0", "Input should be greater than or equal to 1"),
          ("--eval-steps", "0", "Input should be greater than or equal to 1"),
          ("--rank", "0", "Input should be greater than or equal to 1"),
          ("--dropout", "1", "Input should be less than 1"),
          ("--dropout", "nan", "Input should be a finite number"),
          ("--seed", "-1", "Input should be greater than or equal to 0"),
      ]),
    Case("recipe-unknown", inputs(), [*TRAIN, "--recipe", "round9"], 2, ["Invalid value for '--recipe'"]),
    Case("flag-not-a-number", inputs(), [*TRAIN, "--lr", "fast"], 2, ["Invalid value for '--lr'"]),
    Case("task-type-without-custom", inputs(), [*TRAIN, "--task-type", "ner"], 2, ["only apply to --recipe custom"]),
    Case("out-is-a-file", inputs(), [*TRAIN[:4], "{tmp}/data.jsonl", *TRAIN[5:]], 2, ["is a file"]),
    # run folders: damaged checkpoint (resume), damaged adapter (merge), damaged run record
    Case("resume-damaged-checkpoint", then(inputs(), damaged_checkpoint), TRAIN, 2,
         ["checkpoint-4: damaged (adapter_model.safetensors cannot be read", "delete", "to resume from an earlier checkpoint"]),
    Case("merge-adapter-weights-cut", then(inputs(), finished_run({"adapter_config.json": ADAPTER_CONFIG,
         "adapter_model.safetensors": b"\x08\x00"})), [*TRAIN, "--merge"], 2,
         ["adapter: damaged (adapter_model.safetensors cannot be read"]),
    Case("merge-adapter-weights-missing", then(inputs(), finished_run({"adapter_config.json": ADAPTER_CONFIG})),
         [*TRAIN, "--merge"], 2, ["adapter: damaged (adapter_model.safetensors is missing)"]),
    Case("merge-adapter-config-broken", then(inputs(), finished_run({"adapter_config.json": b"{"})),
         [*TRAIN, "--merge"], 2, ["adapter: damaged (", "adapter_config.json:1: invalid JSON"]),
    Case("done-record-broken", then(inputs(), finished_run({}, done="{")), TRAIN, 2,
         ["DONE.json: damaged run record", "to train this run again"]),
    Case("done-record-missing-fields", then(inputs(), finished_run({}, done="{}")), TRAIN, 2,
         ["DONE.json: damaged run record"]),
]
# fmt: on


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_train_bad_input(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # a hub id must fail fast, not try the network
    out = check(case, tmp_path)
    assert "Repo id must" not in out and "internal error" not in out

"""LoRA training on the tiny model: loss goes down, runs are content-addressed, merge, kill + resume."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from harness.cli import cli
from harness.modelzoo.identity import model_identity
from harness.records import Record, read_records, write_records
from harness.training.lora import TrainConfig, last_checkpoint, train_lora

FAST = {"target_modules": "all-linear", "lr": 5e-3, "batch_size": 8, "grad_accum": 1}


@pytest.fixture(scope="module")
def records(synth_path: Path) -> list[Record]:
    return read_records(synth_path).records


def test_config_defaults_are_the_study_recipe_and_unknown_keys_fail() -> None:
    c = TrainConfig()
    assert (c.r, c.lora_alpha, c.lora_dropout, c.epochs, c.lr) == (8, 16, 0.05, 3, 2e-4)
    assert (c.batch_size, c.grad_accum, c.weight_decay, c.max_length) == (2, 8, 0.01, 1024)
    assert c.target_modules == ["q_proj", "k_proj", "v_proj", "o_proj"] and c.bias == "none"
    assert TrainConfig(target_modules="q_proj, v_proj").target_modules == ["q_proj", "v_proj"]
    with pytest.raises(ValidationError, match="rank"):
        TrainConfig(rank=8)


@pytest.mark.slow
def test_two_epochs_all_linear_halve_the_training_loss(tiny_model_dir: Path, records, tmp_path: Path) -> None:
    assert len(records) == 300
    res = train_lora(
        str(tiny_model_dir), records, None, tmp_path, TrainConfig(epochs=2, **FAST), progress=False
    )
    losses = [x["loss"] for x in res.train_losses]
    assert res.steps == len(losses) == 2 * -(-300 // 8)
    assert sum(losses[-5:]) / 5 <= 0.5 * losses[0], losses
    saved = json.loads((res.adapter_dir / "losses.json").read_text(encoding="utf-8"))
    assert saved == {"train": res.train_losses, "eval": []}
    assert res.tokens_per_s and res.data["train"]["examples"] == 300


@pytest.mark.slow
def test_content_address_skip_and_merge(tiny_model_dir: Path, records, tmp_path: Path) -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    cfg = TrainConfig(max_steps=2, eval_steps=1, **FAST)
    train, dev = records[:16], records[16:20]
    first = train_lora(str(tiny_model_dir), train, dev, tmp_path, cfg, progress=False)
    assert not first.skipped and (first.out_dir / "DONE.json").is_file() and first.merged_dir is None
    assert [e["step"] for e in first.eval_losses] == [1, 2]
    again = train_lora(str(tiny_model_dir), train, dev, tmp_path, cfg, progress=False)
    assert again.skipped and again.out_dir == first.out_dir and again.train_losses == first.train_losses
    # Merging later reuses the same adapter (merge is not part of the address).
    merged = train_lora(
        str(tiny_model_dir), train, dev, tmp_path, cfg.model_copy(update={"merge": True}), progress=False
    )
    assert merged.out_dir == first.out_dir and merged.merged_dir == first.out_dir / "merged"
    ids = torch.tensor([[5, 6, 7, 8, 9]])
    want = PeftModel.from_pretrained(
        AutoModelForCausalLM.from_pretrained(tiny_model_dir), str(first.adapter_dir)
    )
    got = AutoModelForCausalLM.from_pretrained(merged.merged_dir)
    with torch.no_grad():
        assert torch.allclose(want.eval()(ids).logits, got.eval()(ids).logits, atol=1e-4)
    # Anything that changes what is trained changes the address.
    others = [
        train_lora(
            str(tiny_model_dir), train, dev, tmp_path, cfg.model_copy(update={"lr": 1e-3}), progress=False
        ),
        train_lora(str(tiny_model_dir), records[1:17], dev, tmp_path, cfg, progress=False),
        train_lora(str(tiny_model_dir), train, None, tmp_path, cfg, progress=False),
    ]
    assert len({first.out_dir, *(o.out_dir for o in others)}) == 4
    # A moved run folder is still found, and its paths point to where it is now.
    moved = tmp_path.parent / (tmp_path.name + "-moved")
    tmp_path.rename(moved)
    found = train_lora(str(tiny_model_dir), train, dev, moved, cfg, progress=False)
    assert found.skipped and found.adapter_dir == moved / first.out_dir.name / "adapter"
    assert found.merged_dir == moved / first.out_dir.name / "merged"


def test_model_identity_tracks_files_and_hub_revisions(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    (tmp_path / "model.safetensors").write_bytes(b"a")
    before = model_identity(str(tmp_path))
    (tmp_path / "notes.md").write_text("docs do not change the model", encoding="utf-8")
    assert model_identity(str(tmp_path)) == before
    (tmp_path / "model.safetensors").write_bytes(b"b")
    assert model_identity(str(tmp_path)) != before
    assert model_identity("Qwen/Qwen2.5-0.5B-Instruct@abc123") == "hub:Qwen/Qwen2.5-0.5B-Instruct@abc123"


@pytest.mark.slow
def test_killed_training_resumes_from_its_last_checkpoint(
    tiny_model_dir: Path, records, tmp_path: Path
) -> None:
    data = write_records(tmp_path / "train.jsonl", records[:40])
    out = tmp_path / "runs"
    args = ["train", "--model", str(tiny_model_dir), "--data", str(data), "--out", str(out),
            "--target-modules", "all-linear", "--lr", "5e-3", "--batch-size", "2", "--grad-accum", "1",
            "--max-steps", "60", "--save-steps", "3", "--no-progress", "--json"]  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-c", "from harness.cli import main; main()", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 240
        while not list(out.glob("*/checkpoints/checkpoint-*/trainer_state.json")):
            assert proc.poll() is None, "training ended before its first checkpoint"
            assert time.monotonic() < deadline, "no checkpoint within 240 s"
            time.sleep(0.02)
        assert proc.poll() is None, "training finished before it could be killed"
    finally:
        proc.kill()
        proc.wait()
    (run_dir,) = out.iterdir()
    assert not (run_dir / "DONE.json").exists()
    ckpt = last_checkpoint(run_dir / "checkpoints")
    assert ckpt is not None
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    out_json = json.loads(res.stdout)
    for key in ("adapter", "merged", "train_loss_first", "train_loss_last", "eval_loss_history", "steps",
                "resumed_from", "seconds", "contamination"):  # fmt: skip
        assert key in out_json
    assert out_json["resumed_from"] == str(ckpt) and out_json["steps"] == 60
    # The cost of the round: wall time, tokens/s and peak memory, in --json and in DONE.json.
    done = json.loads((run_dir / "DONE.json").read_text(encoding="utf-8"))
    for key in ("seconds", "tokens_per_s", "peak_rss_mib"):
        assert out_json[key] > 0 and done[key] == out_json[key], key
    import torch

    for key in ("cuda_max_allocated_mib", "cuda_max_reserved_mib"):
        assert (out_json[key] > 0) if torch.cuda.is_available() else (out_json[key] is None), key
    assert out_json["train_losses"][0]["step"] == 1  # the history before the kill survives
    assert (run_dir / "DONE.json").is_file() and out_json["out_dir"] == str(run_dir)
    # A finished run is never trained again.
    again = json.loads(CliRunner().invoke(cli, args).stdout)
    assert again["skipped"] is True and again["adapter"] == out_json["adapter"]


@pytest.mark.slow
def test_a_resumed_run_ends_bitwise_equal_to_an_uninterrupted_one(
    tiny_model_dir: Path, records, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed right after the step-4 checkpoint, in the second epoch, then resumed.

    With dropout, the length-grouped data order and gradient accumulation whose last step of
    an epoch is one batch short (10 records, 2 per batch, 2 batches a step: 3 steps an epoch),
    the resumed run's adapter and losses equal the uninterrupted run's, bit for bit.
    """
    import transformers
    from safetensors.torch import load_file

    cfg = TrainConfig(
        epochs=2, save_steps=2, target_modules="all-linear", lr=5e-3, batch_size=2, grad_accum=2
    )
    train = records[:10]
    whole = train_lora(str(tiny_model_dir), train, None, tmp_path / "whole", cfg, progress=False)

    class Killed(Exception):
        pass

    save = transformers.Trainer._save_checkpoint

    def save_then_die(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        save(self, *args, **kwargs)
        if self.state.global_step == 4:
            raise Killed

    with monkeypatch.context() as m:
        m.setattr(transformers.Trainer, "_save_checkpoint", save_then_die)
        with pytest.raises(Killed):
            train_lora(str(tiny_model_dir), train, None, tmp_path / "resumed", cfg, progress=False)
    resumed = train_lora(str(tiny_model_dir), train, None, tmp_path / "resumed", cfg, progress=False)
    assert resumed.key == whole.key and resumed.steps == whole.steps == 6
    a = load_file(whole.adapter_dir / "adapter_model.safetensors")
    b = load_file(resumed.adapter_dir / "adapter_model.safetensors")
    assert a.keys() == b.keys()
    assert max((a[k] - b[k]).abs().max().item() for k in a) == 0.0
    assert resumed.train_losses == whole.train_losses
    # The provenance says it was resumed, and from which step; the uninterrupted run says it was not.
    done = json.loads((resumed.out_dir / "DONE.json").read_text(encoding="utf-8"))
    assert done["resumed_from_step"] == 4 and done["resumes"] == [4]
    assert done["resumed_from"] == str(resumed.out_dir / "checkpoints" / "checkpoint-4")
    assert (whole.resumed_from, whole.resumed_from_step, whole.resumes) == (None, None, [])


def test_the_loss_on_trained_positions_equals_the_hf_loss(tiny_model_dir: Path) -> None:
    """Logits at trained positions only, row by row or batched: the HF loss's value."""
    import torch
    from transformers import AutoModelForCausalLM

    from harness.training.data import PadCollator
    from harness.training.trainer import trained_loss_sum

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    rows = [  # unequal lengths, so the batch is padded; 10 and 15 trained next tokens
        {"input_ids": list(range(5, 45)), "labels": [-100] * 30 + list(range(35, 45))},
        {"input_ids": list(range(7, 32)), "labels": [-100] * 10 + list(range(17, 32))},
    ]
    batch = PadCollator(0)(rows)
    with torch.no_grad():
        reference = model(**batch).loss.item()  # HF: mean over the 25 trained next tokens
        for by_row in (True, False):
            total = trained_loss_sum(
                model, *(batch[k] for k in ("input_ids", "labels", "attention_mask")), by_row=by_row
            )
            assert total.item() / 25 == pytest.approx(reference, rel=1e-5), by_row


def test_length_grouped_order_depends_only_on_seed_and_epoch() -> None:
    import torch

    from harness.training.trainer import SeededLengthGroupedSampler

    sampler = SeededLengthGroupedSampler(4, list(range(1, 41)), seed=3)
    sampler.set_epoch(1)
    first = list(sampler)
    torch.rand(1000)  # what dropout does to the global RNG between two epochs
    assert list(sampler) == first and sorted(first) == list(range(40))
    sampler.set_epoch(2)
    assert list(sampler) != first
    assert list(SeededLengthGroupedSampler(4, list(range(1, 41)), seed=4)) != list(
        SeededLengthGroupedSampler(4, list(range(1, 41)), seed=3)
    )


def test_helpers_are_importable_without_torch_side_effects() -> None:
    # `harness train --help` must stay fast: the command module imports no heavy library.
    code = "import sys, harness.commands.train, harness.commands.models, harness.training.lora; " \
           "print(any(m in sys.modules for m in ('torch', 'transformers', 'peft')))"  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_auto_dtype_on_cpu_depends_on_model_size(tiny_model_dir: Path, tmp_path: Path, monkeypatch) -> None:
    import torch
    from transformers import Qwen2Config

    from harness.modelzoo.identity import estimate_parameters, resolve_dtype

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    big = tmp_path / "qwen05b-config"
    Qwen2Config(vocab_size=151936, hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                num_attention_heads=14, num_key_value_heads=2).save_pretrained(big)  # fmt: skip
    assert 400e6 < estimate_parameters(str(big)) < 600e6
    native = torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported()
    assert resolve_dtype("auto", str(big)) == ("bfloat16" if native else "float32")
    assert resolve_dtype("auto", str(tiny_model_dir)) == "float32"
    assert resolve_dtype("auto", str(tmp_path / "missing")) == "float32"
    assert resolve_dtype("bf16", str(tiny_model_dir)) == "bfloat16"

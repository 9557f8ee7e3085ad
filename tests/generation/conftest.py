"""Fixtures for the generation tests: synthetic records, random LoRA adapters on the tiny model."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.records import Record, read_records


@pytest.fixture(scope="session")
def gen_records(synth_path: Path) -> list[Record]:
    """64 synthetic attr_cls records (the parity set)."""
    return read_records(synth_path).records[:64]


def _save_adapter(model_dir: Path, out: Path, *, seed: int, random_init: bool, r: int = 8) -> Path:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    base = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    # init_lora_weights=False: A and B both random, so the adapter visibly changes outputs;
    # the default init (B = 0) gives an adapter that loads but changes nothing.
    cfg = LoraConfig(
        r=r,
        lora_alpha=2 * r,
        target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
        init_lora_weights=not random_init,
        task_type="CAUSAL_LM",
    )
    get_peft_model(base, cfg).save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def adapters(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two random adapters (r=8 and r=16) that change outputs, and a zero one that does not."""
    root = tmp_path_factory.mktemp("adapters")
    return {
        "a1": _save_adapter(tiny_model_dir, root / "a1", seed=1, random_init=True),
        "a2": _save_adapter(tiny_model_dir, root / "a2", seed=2, random_init=True, r=16),
        "zero": _save_adapter(tiny_model_dir, root / "zero", seed=3, random_init=False),
    }

"""Shared fixtures: the real data beside the project (skipped when absent), synthetic data, tiny models."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("VLLM_NO_USAGE_STATS", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data, or a skip that says why (a user's machine will not have it)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not present at {SHARED_DATA} (only on the project's machines)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def synth_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 seeded synthetic attr_cls records (PromptCBLUE JSON lines)."""
    from harness.datasets.synthetic import write_synth

    path = tmp_path_factory.mktemp("synth") / "synth.jsonl"
    write_synth(path, n=300, seed=0)
    return path


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory, synth_path: Path) -> Path:
    """A small Qwen2-architecture model and BPE tokenizer trained on the synthetic corpus."""
    from harness.training.tiny import build_tiny_model

    return build_tiny_model(synth_path, tmp_path_factory.mktemp("tiny") / "model", seed=0)

"""What a model reference is, for training and generation alike: checked before any load, its
content identity, and the dtype it runs in.

One vocabulary for dtypes: torch's names (`float32`, `bfloat16`, `float16`). Configs also take
the short spellings (`fp32`, `bf16`, `fp16`) and store the long ones (`canonical_dtype`).
"""

from __future__ import annotations

import os
import typing
from pathlib import Path
from typing import Any, Literal

from harness.errors import HarnessError
from harness.hashing import sha256_file, sha256_model_dir

Dtype = Literal["auto", "float32", "bfloat16", "float16"]
DTYPES: tuple[str, ...] = typing.get_args(Dtype)
DTYPE_ALIASES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}

# Below this many parameters, CPU bf16 autocast costs more in casts than it saves in matmuls.
CPU_BF16_MIN_PARAMS = 50_000_000


def canonical_dtype(value: Any) -> Any:
    """A config validator: a short spelling becomes torch's name; anything else is left to the field."""
    return DTYPE_ALIASES.get(value, value) if isinstance(value, str) else value


def resolve_dtype(choice: str, model: str | None = None) -> str:
    """The torch dtype name `choice` stands for; "auto" → bfloat16 on a CUDA device that supports
    it, on CPU bfloat16 only for big models, else float32.

    Measured on this project's 2-core CPU (AMX): the 1.5M-parameter tiny model trains ~7x
    slower with bf16 autocast (1.7k vs 12.8k tokens/s), while a Qwen2.5-0.5B-shaped model
    trains ~3x faster in bf16 (35 vs 105 s per 2×1024-token step, 9.6 vs 13.2 GB peak RSS).
    So "auto" on a CPU with native bf16 picks bfloat16 from CPU_BF16_MIN_PARAMS parameters up.
    """
    if choice != "auto":
        return canonical_dtype(choice)
    import torch

    if torch.cuda.is_available():
        return "bfloat16" if torch.cuda.is_bf16_supported() else "float32"
    cpu = getattr(torch, "cpu", None)
    native = any(
        getattr(cpu, f, lambda: False)() for f in ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
    )
    size = estimate_parameters(model) if model and native else None
    return "bfloat16" if size is not None and size >= CPU_BF16_MIN_PARAMS else "float32"


def estimate_parameters(model: str) -> int | None:
    """Parameter count from the model's config (no weights loaded), or None when unknown."""
    try:
        from transformers import AutoConfig

        c = AutoConfig.from_pretrained(model, local_files_only=True)
        h, n, v = c.hidden_size, c.num_hidden_layers, c.vocab_size
        inter = getattr(c, "intermediate_size", 4 * h)
    except Exception:  # not a local or cached transformers model: stay on the safe side (fp32)
        return None
    return v * h + n * (4 * h * h + 3 * h * inter)


def model_identity(model: str, revision: str | None = None) -> str:
    """A model's content address: `tree:<sha256>` of a local folder's weights and config,
    `file:<sha256>` of a single file (GGUF), else `hub:<id>@<revision>`.

    A hub id may carry its revision (`id@rev`); without one, `revision`, else the snapshot
    commit of the local HF cache when there is one (two downloads of "main" never share an
    address), else "main".
    """
    path = Path(model)
    if path.is_dir():
        return "tree:" + sha256_model_dir(path)
    if path.is_file():
        return "file:" + sha256_file(path)
    repo, _, pinned = model.partition("@")
    return f"hub:{repo}@{pinned or revision or _cached_commit(repo) or 'main'}"


def _offline() -> bool:
    return any(
        os.environ.get(v, "").strip().upper() in {"1", "ON", "YES", "TRUE"}
        for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def _looks_like_path(name: str) -> bool:
    """A name no hub id can be: absolute, relative (./ ../ ~), more than one '/', or a '\\'."""
    return name.startswith(("/", ".", "~")) or name.count("/") > 1 or "\\" in name or name.endswith("/")


def check_base_model(base_model: str, what: str = "base model") -> None:
    """A clear error now, not a hub lookup later, for a base model that cannot be loaded.

    A local folder needs a config.json and weights; a name that can only be a path must exist; a hub id
    must be valid, and when HF_HUB_OFFLINE is set it must already be in the local cache.
    """
    p = Path(base_model).expanduser()
    if p.is_dir():
        if not (p / "config.json").is_file():
            raise HarnessError(f"{what} {base_model}: not a model folder (it has no config.json)")
        if not any(p.glob("*.safetensors")) and not any(p.glob("*.bin")):
            raise HarnessError(f"{what} {base_model}: the folder has no weights (*.safetensors or *.bin)")
        return
    if p.exists():
        raise HarnessError(f"{what} {base_model}: is a file; expected a model folder or a hub id")
    if not base_model.strip() or _looks_like_path(base_model):
        raise HarnessError(f"{what} {base_model}: model folder not found")
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    repo, _, revision = base_model.partition("@")
    try:
        validate_repo_id(repo)
    except HFValidationError:
        raise HarnessError(
            f"{what} {base_model}: no such folder here, and not a hub id (expected org/name or org/name@revision)"
        ) from None
    if _offline() and _cached_commit(repo, revision or None) is None:
        raise HarnessError(
            f"{what} {base_model}: no such folder here, and the hub model {repo} is not in the local "
            "cache; HF_HUB_OFFLINE is set, so it cannot be downloaded (download it once online, "
            "or pass a local folder)"
        )


def _cached_commit(repo: str, revision: str | None = None) -> str | None:
    try:
        from huggingface_hub import snapshot_download

        path = snapshot_download(repo, revision=revision, local_files_only=True)
    except Exception:  # not cached, offline, or not a hub id: fall back to "main"
        return None
    return Path(path).name

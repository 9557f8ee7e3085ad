"""LoRA training with peft and the HF Trainer: the study's recipe by default, resumable, content-addressed.

Layout of one run (under `out_root/<name>-<key16>/`):
    run.json          the inputs: base model identity, data hashes, config (written first)
    checkpoints/      Trainer checkpoints (resume point after a kill)
    adapter/          the final adapter, its tokenizer and losses.json
    merged/           merge_and_unload of base + adapter (only with `merge`)
    resumes.json      the checkpoint steps this run was resumed from (only after a kill)
    DONE.json         written last; a run that has it is never trained again

A resumed run ends with the same weights as an uninterrupted one (tests/training pin it
bitwise): the Trainer restores optimizer, scheduler and RNG states, and the data order of
every epoch depends only on the seed and the epoch (see `harness.training.trainer`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from harness.errors import HarnessError
from harness.hashing import sha256_json
from harness.jsonl import write_json
from harness.modelzoo.identity import canonical_dtype, check_base_model, model_identity, resolve_dtype
from harness.records import Record
from harness.safeio import read_json_file
from harness.training.identity import run_key

DEFAULT_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj"]
log = logging.getLogger(__name__)
# Bump when encoding or the trainer set-up changes what a run produces.
# 2: the length-grouped data order is drawn from (seed, epoch), not the global RNG.
# 3: the loss is computed on trained positions only, and on CPU row by row without padding
#    (same value, different float rounding: see `harness.training.trainer`).
FORMAT_VERSION = 3


class TrainConfig(BaseModel):
    """LoRA + Trainer settings; the defaults are the study's (Qwen2.5-0.5B-Instruct, 3 epochs, 2e-4)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    r: int = Field(8, ge=1)
    lora_alpha: int = Field(16, ge=1)
    lora_dropout: float = Field(0.05, ge=0, lt=1)
    target_modules: list[str] | Literal["all-linear"] = Field(default_factory=lambda: list(DEFAULT_TARGETS))
    bias: Literal["none", "all", "lora_only"] = "none"
    epochs: float = Field(3, gt=0)
    max_steps: int | None = Field(None, ge=1, description="stop after this many optimizer steps")
    lr: float = Field(2e-4, gt=0)
    batch_size: int = Field(2, ge=1)
    grad_accum: int = Field(8, ge=1)
    weight_decay: float = Field(0.01, ge=0)
    warmup_ratio: float = Field(0.0, ge=0, lt=1)
    lr_scheduler: Literal["linear", "cosine", "constant", "constant_with_warmup"] = "linear"
    max_length: int = Field(1024, ge=16)
    seed: int = Field(0, ge=0, lt=2**32)  # numpy's seed range
    dtype: Literal["auto", "bfloat16", "float32"] = Field(
        "auto", description="bf16 and fp32 are accepted too (harness.modelzoo.identity)"
    )
    eval_steps: int = Field(50, ge=1)
    save_steps: int = Field(50, ge=1)
    save_total_limit: int = Field(2, ge=1)
    logging_steps: int = Field(1, ge=1)
    group_by_length: bool = True
    system_prompt: str | None = None
    merge: bool = False  # not part of the content address: merging never changes the adapter

    _dtype = field_validator("dtype", mode="before")(canonical_dtype)

    @field_validator("target_modules", mode="before")
    @classmethod
    def _split_modules(cls, v: Any) -> Any:
        if isinstance(v, str) and v != "all-linear":
            return [m.strip() for m in v.split(",") if m.strip()]
        return v

    @field_validator("target_modules")
    @classmethod
    def _some_modules(cls, v: Any) -> Any:
        if isinstance(v, list) and not v:
            raise ValueError("name at least one module (e.g. q_proj,v_proj) or all-linear")
        return v


@dataclass
class TrainResult:
    out_dir: Path
    adapter_dir: Path
    merged_dir: Path | None
    train_losses: list[dict[str, float]]
    eval_losses: list[dict[str, float]]
    steps: int
    resumed_from: str | None  # the checkpoint the last resume started from
    seconds: float
    skipped: bool
    key: str
    dtype: str = "float32"
    data: dict[str, Any] = field(default_factory=dict)  # encode stats: examples, truncated, tokens…
    tokens_per_s: float | None = None  # input (non-padding) tokens per second of training
    peak_rss_mib: float | None = None  # peak resident memory of the process, up to the end of training
    cuda_max_allocated_mib: float | None = None  # on CUDA: peak memory held by tensors
    cuda_max_reserved_mib: float | None = None  # on CUDA: peak memory held by the allocator
    resumed_from_step: int | None = None
    resumes: list[int] = field(default_factory=list)  # every step this run was resumed from, in order

    @property
    def train_loss_first(self) -> float | None:
        return self.train_losses[0]["loss"] if self.train_losses else None

    @property
    def train_loss_last(self) -> float | None:
        return self.train_losses[-1]["loss"] if self.train_losses else None

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(
            out_dir=str(self.out_dir),
            adapter=str(self.adapter_dir),
            merged=str(self.merged_dir) if self.merged_dir else None,
            train_loss_first=self.train_loss_first,
            train_loss_last=self.train_loss_last,
            eval_loss_history=self.eval_losses,
        )
        del d["adapter_dir"], d["merged_dir"]
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any], *, skipped: bool) -> TrainResult:
        return cls(
            out_dir=Path(d["out_dir"]),
            adapter_dir=Path(d["adapter"]),
            merged_dir=Path(d["merged"]) if d.get("merged") else None,
            train_losses=d["train_losses"],
            eval_losses=d["eval_losses"],
            steps=d["steps"],
            resumed_from=d["resumed_from"],
            seconds=d["seconds"],
            skipped=skipped,
            key=d["key"],
            dtype=d.get("dtype", "float32"),
            data=d.get("data", {}),
            tokens_per_s=d.get("tokens_per_s"),
            peak_rss_mib=d.get("peak_rss_mib"),
            cuda_max_allocated_mib=d.get("cuda_max_allocated_mib"),
            cuda_max_reserved_mib=d.get("cuda_max_reserved_mib"),
            resumed_from_step=d.get("resumed_from_step"),
            resumes=d.get("resumes", []),
        )


def last_checkpoint(ckpt_root: Path) -> Path | None:
    """The newest checkpoint whose trainer_state.json exists (the Trainer writes it last)."""
    if not ckpt_root.is_dir():
        return None
    done = [p for p in ckpt_root.glob("checkpoint-*") if (p / "trainer_state.json").is_file()]
    return max(done, key=lambda p: int(p.name.split("-")[-1]), default=None)


def _histories(log_history: list[dict[str, Any]]) -> tuple[list[dict[str, float]], list[dict[str, float]]]:
    train = [{"step": h["step"], "loss": h["loss"]} for h in log_history if "loss" in h]
    evals = [{"step": h["step"], "loss": h["eval_loss"]} for h in log_history if "eval_loss" in h]
    return train, evals


def _optim() -> str:
    import torch

    # Fused AdamW exists for CUDA and (torch ≥ 2.4) CPU; otherwise the plain torch one.
    major, minor = (int(x) for x in torch.__version__.split(".")[:2])
    return "adamw_torch_fused" if torch.cuda.is_available() or (major, minor) >= (2, 4) else "adamw_torch"


def train_lora(
    base_model: str,
    train: list[Record],
    dev: list[Record] | None,
    out_root: Path,
    config: TrainConfig,
    *,
    progress: bool = True,
    name: str = "lora",
) -> TrainResult:
    """Train (or resume, or skip) one LoRA adapter; returns where it is and how training went."""
    if not train:
        raise HarnessError("no training records given (check the recipe's filters and the data files)")
    check_base_model(base_model)
    identity = model_identity(base_model)
    # "auto" resolves per machine (bf16 on a GPU, fp32 on CPU): address the dtype actually used.
    key = run_key(
        identity,
        train,
        dev,
        config.model_copy(update={"dtype": resolve_dtype(config.dtype, base_model)}),
        FORMAT_VERSION,
    )
    out_dir = Path(out_root) / f"{name}-{key[:16]}"
    done = _finished(out_dir, base_model, config)
    if done is not None:
        return done
    out_dir.mkdir(parents=True, exist_ok=True)
    with _run_lock(out_dir):
        # Another process may have finished this run while we waited for the lock.
        done = _finished(out_dir, base_model, config)
        if done is not None:
            return done
        check_target_modules(base_model, config.target_modules)
        return _train(base_model, train, dev, out_dir, config, key, identity, progress)


def _finished(out_dir: Path, base_model: str, config: TrainConfig) -> TrainResult | None:
    """The stored result of a finished run (paths rebased on where it is now), merging if asked."""
    done_file = out_dir / "DONE.json"
    if not done_file.is_file():
        return None
    try:
        result = TrainResult.from_json(read_json_file(done_file, "run record"), skipped=True)
    except (HarnessError, KeyError, TypeError, AttributeError) as e:
        raise HarnessError(
            f"{done_file}: damaged run record ({e}); delete {out_dir} to train this run again"
        ) from None
    result.out_dir, result.adapter_dir = out_dir, out_dir / "adapter"  # the folder may have moved
    merged = out_dir / "merged"
    result.merged_dir = merged if (merged / "config.json").is_file() else None
    if config.merge and result.merged_dir is None:
        result.merged_dir = merge_adapter(base_model, result.adapter_dir, merged, config.dtype)
        write_json(done_file, {**result.to_json(), "skipped": False})
    return result


@contextmanager
def _run_lock(out_dir: Path) -> Iterator[None]:
    """One trainer per run folder: a second process waits, then finds the run finished."""
    import fcntl

    with (out_dir / ".lock").open("w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.warning("another process is training %s; waiting for it", out_dir)
            fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _train(
    base_model: str,
    train: list[Record],
    dev: list[Record] | None,
    out_dir: Path,
    config: TrainConfig,
    key: str,
    identity: str,
    progress: bool,
) -> TrainResult:
    done_file = out_dir / "DONE.json"
    write_json(
        out_dir / "run.json",
        {
            "key": key,
            "base_model": identity,
            "train_sha256": sha256_json([r.to_json() for r in train]),
            "dev_sha256": sha256_json([r.to_json() for r in dev]) if dev else None,
            "n_train": len(train),
            "n_dev": len(dev or []),
            "config": config.model_dump(),
            "format_version": FORMAT_VERSION,
        },
    )
    from harness.training.trainer import run_trainer

    start = time.perf_counter()
    ckpt = last_checkpoint(out_dir / "checkpoints")
    resumes = _resume_history(out_dir)
    if ckpt is not None:
        resumes.append(check_checkpoint(ckpt))
        write_json(out_dir / "resumes.json", resumes)
    outcome = run_trainer(base_model, train, dev, out_dir, config, resume_from=ckpt, progress=progress)
    train_losses, eval_losses = _histories(outcome["log_history"])
    adapter_dir = out_dir / "adapter"
    write_json(adapter_dir / "losses.json", {"train": train_losses, "eval": eval_losses})
    merged_dir = (
        merge_adapter(base_model, adapter_dir, out_dir / "merged", config.dtype) if config.merge else None
    )
    seconds = time.perf_counter() - start
    result = TrainResult(
        out_dir=out_dir,
        adapter_dir=adapter_dir,
        merged_dir=merged_dir,
        train_losses=train_losses,
        eval_losses=eval_losses,
        steps=outcome["steps"],
        resumed_from=str(ckpt) if ckpt else None,
        seconds=round(seconds, 3),
        skipped=False,
        key=key,
        dtype=outcome["dtype"],
        data=outcome["data"],
        tokens_per_s=outcome["tokens_per_s"],
        peak_rss_mib=outcome["peak_rss_mib"],
        cuda_max_allocated_mib=outcome["cuda_max_allocated_mib"],
        cuda_max_reserved_mib=outcome["cuda_max_reserved_mib"],
        resumed_from_step=resumes[-1] if ckpt else None,
        resumes=resumes,
    )
    write_json(done_file, result.to_json())
    return result


def merge_adapter(base_model: str, adapter_dir: Path, merged_dir: Path, dtype: str = "auto") -> Path:
    """merge_and_unload from fresh on-disk copies, then save model + tokenizer.

    Callers must reload `merged_dir` from disk before generating: a model merged in memory
    generates several times slower (DEVELOPERS notes), so nothing here returns it.
    """
    check_adapter(adapter_dir)
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch_dtype = torch.bfloat16 if resolve_dtype(dtype, base_model) == "bfloat16" else torch.float32
    base = AutoModelForCausalLM.from_pretrained(base_model, dtype=torch_dtype)
    merged = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
    merged.save_pretrained(merged_dir, safe_serialization=True)
    AutoTokenizer.from_pretrained(str(adapter_dir)).save_pretrained(merged_dir)
    del merged, base
    return merged_dir


def _resume_history(out_dir: Path) -> list[int]:
    path = out_dir / "resumes.json"
    if not path.is_file():
        return []
    steps = read_json_file(path, "resume history")
    if not isinstance(steps, list) or not all(isinstance(x, int) and not isinstance(x, bool) for x in steps):
        raise HarnessError(f"{path}: damaged resume history (expected a list of steps); delete it")
    return steps


def _damaged(what: Path, why: str, fix: str) -> HarnessError:
    return HarnessError(f"{what}: damaged ({why}); {fix}")


def _check_safetensors(path: Path, folder: Path, fix: str) -> None:
    from safetensors import safe_open

    if not path.is_file():
        raise _damaged(folder, f"{path.name} is missing", fix)
    try:
        # Opening checks the header and that the data it describes is all there.
        with safe_open(str(path), framework="pt"):
            pass
    except Exception as e:  # safetensors raises its own error types for every kind of damage
        raise _damaged(folder, f"{path.name} cannot be read: {e}", fix) from None


def check_checkpoint(ckpt: Path) -> int:
    """The step of a Trainer checkpoint, after checking every file a resume loads is intact."""
    import zipfile

    fix = f"delete {ckpt} to resume from an earlier checkpoint (or its run folder to start over)"
    try:
        state = read_json_file(ckpt / "trainer_state.json", "trainer state")
    except HarnessError as e:
        raise _damaged(ckpt, str(e), fix) from None
    step = state.get("global_step") if isinstance(state, dict) else None
    if not isinstance(step, int) or isinstance(step, bool) or step < 1:
        raise _damaged(ckpt, "trainer_state.json has no positive global_step", fix)
    _check_safetensors(ckpt / "adapter_model.safetensors", ckpt, fix)
    for name in ("optimizer.pt", "scheduler.pt", "rng_state.pth"):
        path = ckpt / name
        # torch.save writes a zip archive: its CRCs catch a truncated or overwritten file.
        try:
            with zipfile.ZipFile(path) as z:
                bad = z.testzip()
        except FileNotFoundError:
            raise _damaged(ckpt, f"{name} is missing", fix) from None
        except (zipfile.BadZipFile, OSError) as e:
            raise _damaged(ckpt, f"{name} cannot be read: {e}", fix) from None
        if bad is not None:
            raise _damaged(ckpt, f"{name}: {bad} fails its checksum", fix)
    return step


def check_adapter(adapter_dir: Path) -> None:
    """A clear error when an adapter folder lacks its config or weights, or they are damaged."""
    fix = f"train it again (delete {adapter_dir.parent} if it is a run folder)"
    if not adapter_dir.is_dir():
        raise HarnessError(f"adapter folder not found: {adapter_dir}")
    try:
        config = read_json_file(adapter_dir / "adapter_config.json", "adapter config")
    except HarnessError as e:
        raise _damaged(adapter_dir, str(e), fix) from None
    if not isinstance(config, dict) or "peft_type" not in config:
        raise _damaged(adapter_dir, "adapter_config.json is not a peft adapter config", fix)
    _check_safetensors(adapter_dir / "adapter_model.safetensors", adapter_dir, fix)


# Layer types peft can wrap with LoRA (by class name, so no heavy import is needed to list them).
_LORA_LAYERS = {"Linear", "Embedding", "Conv1d", "Conv2d", "Conv3d", "Conv1D"}


def check_target_modules(base_model: str, targets: list[str] | str) -> None:
    """Every target module names a layer of the model, or a clear error listing the ones it has.

    peft only fails when no name matches at all; a typo next to a good name would silently
    train fewer layers, so each name is checked. The model is built on the meta device
    (no weights read).
    """
    if targets == "all-linear":
        return
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    try:
        config = AutoConfig.from_pretrained(base_model)
        with torch.device("meta"):
            model = AutoModelForCausalLM.from_config(config)
    except (OSError, ValueError) as e:
        raise HarnessError(f"cannot read the model config of {base_model}: {e}") from None
    names = [n for n, m in model.named_modules() if type(m).__name__ in _LORA_LAYERS]
    missing = [t for t in targets if not any(n == t or n.endswith("." + t) for n in names)]
    if missing:
        have = sorted({n.rsplit(".", 1)[-1] for n in names})
        raise HarnessError(
            f"target_modules: {', '.join(missing)} name(s) no layer of {base_model}; "
            f"its layers: {', '.join(have[:20])}{' …' if len(have) > 20 else ''} (or all-linear)"
        )

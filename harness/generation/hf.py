"""The transformers backend: batched `generate` with left padding, adapters through peft, unmerged.

The base model loads once; every adapter is loaded into one `PeftModel` under its own name and
selected with `set_adapter` per system, and the base system runs inside `disable_adapter()`.
A merged checkpoint is just another model folder (pass it as the model).

A record's greedy output must not depend on which records share its batch (the cache key does
not know them). Padding a prompt to its batch's longest one changes the attention's reduction
length and float rounding: the tiny model in bfloat16 gave 7 of 48 different texts batched
(16, padded to the longest) vs alone. Masks and positions were already right (RoPE is
shift-invariant; explicit position ids changed nothing). So each prompt is left-padded to a
width that depends on its own length only (the next multiple of PAD_MULTIPLE above it, so
every row has at least one pad and every batch takes the same masked attention path), and only
prompts of the same width share a batch: then every row computes the same numbers whatever
its batch mates (measured bitwise on CPU: 0 of 48 differ). It costs batches: 96 prompts of
61–114 tokens ran in 9 batches of up to 16 instead of 6, at the same median time on the tiny
model (2 loaded CPU cores, fp32, 40 new tokens). `hf.max_batch_tokens` can cap a batch further
(rows × width). dtype "auto" follows training's rule
(`harness.modelzoo.identity.resolve_dtype`): bf16 on CUDA, and on CPUs with native bf16 for
models from 50M parameters; else fp32.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field

from harness.errors import HarnessError
from harness.generation.backends import Backend, Completion, Options, register, truncate_at_stop
from harness.hashing import sha256_model_dir
from harness.modelzoo.identity import check_base_model, model_identity, resolve_dtype
from harness.prompts import build_prompt
from harness.records import Record

if TYPE_CHECKING:
    from harness.generation.config import GenerationConfig


class HFOptions(Options):
    """transformers backend options."""

    device: str | None = Field(None, description="torch device; default cuda when available, else cpu")
    trust_remote_code: bool = False
    revision: str | None = None
    max_batch_tokens: int | None = Field(
        None, ge=1, description="optional cap on a padded batch: rows × longest prompt, in tokens"
    )


def load_tokenizer(
    model: str, *, trust_remote_code: bool = False, revision: str | None = None, local_only: bool = False
) -> Any:
    """The model's tokenizer, left-padding; `local_only` never asks the hub."""
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(
            model, trust_remote_code=trust_remote_code, revision=revision, local_files_only=local_only
        )
    except Exception as e:  # transformers raises OSError, ValueError, KeyError… for a bad folder
        raise HarnessError(f"cannot load the tokenizer of {model}: {_first_line(e)}") from e
    tok.padding_side = "left"  # decoder-only batches pad on the left so generation continues the prompt
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    return tok


def encode(tokenizer: Any, prompt: str) -> list[int]:
    """Token ids of a rendered prompt: a chat template already holds its special tokens."""
    add_special = not getattr(tokenizer, "chat_template", None)
    return tokenizer(prompt, add_special_tokens=add_special)["input_ids"]


def eos_ids(tokenizer: Any, generation_config: Any | None) -> set[int]:
    ids = {tokenizer.eos_token_id} if tokenizer.eos_token_id is not None else set()
    extra = getattr(generation_config, "eos_token_id", None)
    if isinstance(extra, int):
        ids.add(extra)
    elif extra:
        ids.update(extra)
    return ids


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return f"{type(e).__name__}: {text.splitlines()[0] if text else ''}"


_ADAPTER_KEYS = ("peft_type", "r", "target_modules")


def check_adapter_dir(name: str, path: str) -> None:
    """A clear error now for an adapter folder peft would fail on later (or half-load)."""
    from harness.safeio import read_json_file

    where = f"adapter of system {name!r}"
    folder = Path(path)
    if not folder.is_dir():
        raise HarnessError(f"{where}: adapter folder not found: {path}")
    config = folder / "adapter_config.json"
    if not config.is_file():
        raise HarnessError(f"{where} is not a LoRA folder (no adapter_config.json): {path}")
    data = read_json_file(config, f"{where}: adapter_config.json")
    if not isinstance(data, dict):
        raise HarnessError(f"{config}: expected a JSON object, got {type(data).__name__}")
    missing = [k for k in _ADAPTER_KEYS if k not in data]
    if missing:
        raise HarnessError(
            f"{config}: missing {', '.join(missing)}; is it a peft LoRA adapter_config.json? "
            "Save the adapter again with peft's save_pretrained"
        )
    if not any((folder / f).is_file() for f in ("adapter_model.safetensors", "adapter_model.bin")):
        raise HarnessError(f"{where}: no adapter_model.safetensors (or .bin) in {path}")


# Prompts are left-padded to the next multiple of this above their length (see the module docstring).
PAD_MULTIPLE = 16
# generate() hands this many batches' worth of prompts at once (one cache commit), so that
# prompts of one width fill whole batches: 96 prompts took 9 batches, not 13 with one batch's worth.
HF_CHUNK_BATCHES = 4


def padded_width(n_tokens: int) -> int:
    """A prompt's padded length: a function of its own length only, with at least one pad."""
    return (n_tokens // PAD_MULTIPLE + 1) * PAD_MULTIPLE


def plan_batches(lengths: list[int], batch_size: int, budget: int | None = None) -> list[list[int]]:
    """Indices grouped by padded width (narrowest first, given order within), split into batches.

    A batch holds at most `batch_size` rows and, with `budget`, at most `budget` tokens
    (rows × width; always at least one row).
    """
    groups: dict[int, list[int]] = {}
    for i, n in enumerate(lengths):
        groups.setdefault(padded_width(n), []).append(i)
    batches: list[list[int]] = []
    for width in sorted(groups):
        rows = batch_size if budget is None else max(1, min(batch_size, budget // width))
        members = groups[width]
        batches += [members[i : i + rows] for i in range(0, len(members), rows)]
    return batches


def check_model(model: str, backend: str) -> None:
    """A clear error before any load for a model folder that is not one, or a hub id out of reach."""
    if backend == "vllm" and Path(model).is_file():
        return  # vLLM loads a single GGUF file
    check_base_model(model, "model")


def adapter_load_error(system: str, path: str, model: str, e: BaseException) -> str:
    """What went wrong loading an adapter, and the likely cause."""
    text = str(e)
    if "size mismatch" in text:
        why = "its weight shapes do not fit this model: was it trained on another base model?"
    elif "Target modules" in text or "target_modules" in text:
        why = "its target_modules are not layers of this model"
    elif "safetensors" in text.lower() or type(e).__name__ == "SafetensorError":
        why = "its weights file is damaged (truncated or not safetensors); save or copy it again"
    else:
        why = _first_line(e)
    return f"adapter of system {system!r} ({path}) does not load onto {model}: {why}"


class LocalBackend:
    """What the in-process backends share: adapter checks, the tokenizer and prompt rendering.

    The model itself loads on the first generate(): a run of cache hits never loads it.
    """

    def __init__(
        self,
        model: str,
        adapters: dict[str, str],
        config: GenerationConfig,
        *,
        chunk_size: int,
        trust_remote_code: bool,
        revision: str | None,
    ):
        check_model(model, config.backend)
        for system, path in adapters.items():
            check_adapter_dir(system, path)
        self.config = config
        self.model_name = model
        self.adapters = adapters
        self.chunk_size = chunk_size
        self.load_seconds = 0.0
        self.dtype = resolve_dtype(config.dtype, model)
        self.tokenizer = load_tokenizer(model, trust_remote_code=trust_remote_code, revision=revision)

    def render(self, record: Record, system_prompt: str | None) -> str:
        return build_prompt(self.tokenizer, record, system_prompt)


class HFBackend(LocalBackend):
    """transformers + peft; one model in memory serves the base and every adapter."""

    def __init__(self, model: str, adapters: dict[str, str], config: GenerationConfig):
        opts = config.hf
        super().__init__(
            model,
            adapters,
            config,
            chunk_size=config.batch_size * HF_CHUNK_BATCHES,
            trust_remote_code=opts.trust_remote_code,
            revision=opts.revision,
        )
        self.model: Any = None
        self._peft_names: dict[str, str] = {}

    def _load(self) -> None:
        import time

        import torch
        from transformers import AutoModelForCausalLM

        start = time.perf_counter()
        opts, model, adapters = self.config.hf, self.model_name, self.adapters
        self.device = opts.device or ("cuda" if torch.cuda.is_available() else "cpu")
        try:
            base = AutoModelForCausalLM.from_pretrained(
                model,
                dtype=getattr(torch, self.dtype),
                trust_remote_code=opts.trust_remote_code,
                revision=opts.revision,
            )
        except Exception as e:  # a truncated or mismatched checkpoint raises many types
            raise HarnessError(f"cannot load model {model}: {_first_line(e)}") from e
        base.to(self.device).eval()
        self.eos = eos_ids(self.tokenizer, base.generation_config)
        # peft adapter names must be plain identifiers; systems can be any string.
        self._peft_names = {system: f"adapter_{i}" for i, system in enumerate(adapters)}
        self.model: Any = base
        if adapters:
            from peft import PeftModel

            for system, path in adapters.items():
                name = self._peft_names[system]
                try:
                    if self.model is base:
                        self.model = PeftModel.from_pretrained(base, path, adapter_name=name)
                    else:
                        self.model.load_adapter(path, adapter_name=name)
                except Exception as e:  # bad weights, shapes or target modules: peft raises many types
                    raise HarnessError(adapter_load_error(system, path, model, e)) from e
            self.model.to(self.device).eval()
        self.load_seconds += time.perf_counter() - start

    def _context(self, system: str | None) -> contextlib.AbstractContextManager[Any]:
        if not self._peft_names:
            return contextlib.nullcontext()
        if system is None:
            return self.model.disable_adapter()
        self.model.set_adapter(self._peft_names[system])
        return contextlib.nullcontext()

    def generate(
        self, prompts: list[str], system: str | None, on_done: Callable[[int, int], None]
    ) -> list[Completion]:
        if self.model is None:
            self._load()
        ids = [encode(self.tokenizer, p) for p in prompts]
        results: list[Completion | None] = [None] * len(ids)
        batches = plan_batches([len(x) for x in ids], self.config.batch_size, self.config.hf.max_batch_tokens)
        for batch in batches:
            outs = self._generate_batch([ids[i] for i in batch], system)
            for i, c in zip(batch, outs, strict=True):
                results[i] = c
            on_done(len(batch), sum(c.n_tokens for c in outs))
        return [c for c in results if c is not None]

    def _generate_batch(self, ids: list[list[int]], system: str | None) -> list[Completion]:
        import torch

        cfg = self.config
        width = padded_width(len(ids[0]))  # plan_batches: one width per batch
        pad = self.tokenizer.pad_token_id
        input_ids = torch.tensor([[pad] * (width - len(x)) + x for x in ids], device=self.device)
        mask = torch.tensor([[0] * (width - len(x)) + [1] * len(x) for x in ids], device=self.device)
        kwargs: dict[str, Any] = {
            "max_new_tokens": cfg.max_new_tokens,
            "pad_token_id": self.tokenizer.pad_token_id,
            "eos_token_id": sorted(self.eos),
        }
        if cfg.temperature > 0:
            torch.manual_seed(cfg.seed)
            kwargs.update(do_sample=True, temperature=cfg.temperature, top_p=cfg.top_p)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if cfg.stop:
            kwargs.update(stop_strings=list(cfg.stop), tokenizer=self.tokenizer)
        with torch.inference_mode(), self._context(system):
            out = self.model.generate(input_ids=input_ids, attention_mask=mask, **kwargs)
        results = []
        for row in out[:, input_ids.shape[1] :].tolist():
            n = next((i + 1 for i, t in enumerate(row) if t in self.eos), len(row))
            text = self.tokenizer.decode(row[:n], skip_special_tokens=True)
            results.append(Completion(truncate_at_stop(text, cfg.stop), n))
        return results

    def close(self) -> None:
        self.model = None


def adapter_folder_identity(adapter: str) -> str:
    """A LoRA folder's content hash (the in-process backends load adapters from folders only)."""
    if not Path(adapter).is_dir():
        raise HarnessError(f"adapter folder not found: {adapter}")
    return "tree:" + sha256_model_dir(adapter)


register(
    Backend(
        name="hf",
        options=HFOptions,
        engine=HFBackend,
        model_identity=lambda model, config: model_identity(model, config.hf.revision),
        adapter_identity=adapter_folder_identity,
    )
)

"""The transformers backend: batched `generate` with left padding, adapters through peft, unmerged.

The base model loads once; every adapter is loaded into one `PeftModel` under its own name and
selected with `set_adapter` per system, and the base system runs inside `disable_adapter()`.
A merged checkpoint is just another model folder (pass it as the model). `generate` hands this
backend prompts sorted by length, up to `batch_size` at a time; `hf.max_batch_tokens` can cap
a padded batch further (rows × longest prompt). It is off by default: on the 0.5B-shaped model
over 12 test-A prompts (2 shared CPU cores) caps of 4096 and 8192 tokens were slower (2.9 and
3.5 tok/s) than one batch of 12 (4.1 tok/s). dtype "auto" is bf16 on CUDA and on
CPUs with native bf16 (AVX512-BF16/AMX; ~4x faster than fp32 there), else fp32; parity checks
should ask for float32.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.generation.base import Completion, GenerationConfig, truncate_at_stop
from harness.prompts import build_prompt
from harness.records import Record


@lru_cache(maxsize=1)
def cpu_has_bf16() -> bool:
    """Native bf16 matmuls on this CPU (otherwise bf16 is emulated and slower than fp32)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return bool(re.search(r"\b(avx512_bf16|amx_bf16)\b", flags))


def resolve_dtype(dtype: str, device: str) -> str:
    """The concrete dtype name for "auto" on this device."""
    if dtype != "auto":
        return dtype
    if device.startswith("cuda"):
        import torch

        return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    return "bfloat16" if cpu_has_bf16() else "float32"


def load_tokenizer(model: str, *, trust_remote_code: bool = False, revision: str | None = None) -> Any:
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(model, trust_remote_code=trust_remote_code, revision=revision)
    except (OSError, ValueError) as e:
        raise HarnessError(f"cannot load the tokenizer of {model}: {e}") from e
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


def check_adapter_dir(name: str, path: str) -> None:
    if not (Path(path) / "adapter_config.json").is_file():
        raise HarnessError(
            f"adapter of system {name!r} is not a LoRA folder (no adapter_config.json): {path}"
        )


def token_budget_batches(lengths: list[int], budget: int) -> list[list[int]]:
    """Split indices (in order) into batches whose padded size, rows × longest row, fits `budget`.

    A padded batch costs its longest prompt times its rows, so one long prompt among short ones
    wastes most of the batch; a batch always holds at least one prompt.
    """
    batches: list[list[int]] = []
    current: list[int] = []
    longest = 0
    for i, n in enumerate(lengths):
        if current and max(longest, n) * (len(current) + 1) > budget:
            batches.append(current)
            current, longest = [], 0
        current.append(i)
        longest = max(longest, n)
    if current:
        batches.append(current)
    return batches


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
        for system, path in adapters.items():
            check_adapter_dir(system, path)
        self.config = config
        self.model_name = model
        self.adapters = adapters
        self.chunk_size = chunk_size
        self.load_seconds = 0.0
        self.tokenizer = load_tokenizer(model, trust_remote_code=trust_remote_code, revision=revision)

    def render(self, record: Record, system_prompt: str | None) -> str:
        return build_prompt(self.tokenizer, record, system_prompt)


class HFBackend(LocalBackend):
    """transformers + peft; one model in memory serves the base and every adapter."""

    name = "hf"

    def __init__(self, model: str, adapters: dict[str, str], config: GenerationConfig):
        opts = config.hf
        super().__init__(
            model,
            adapters,
            config,
            chunk_size=config.batch_size,
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
        self.dtype = resolve_dtype(self.config.dtype, self.device)
        try:
            base = AutoModelForCausalLM.from_pretrained(
                model,
                dtype=getattr(torch, self.dtype),
                trust_remote_code=opts.trust_remote_code,
                revision=opts.revision,
            )
        except (OSError, ValueError) as e:
            raise HarnessError(f"cannot load model {model}: {e}") from e
        base.to(self.device).eval()
        self.eos = eos_ids(self.tokenizer, base.generation_config)
        # peft adapter names must be plain identifiers; systems can be any string.
        self._peft_names = {system: f"adapter_{i}" for i, system in enumerate(adapters)}
        self.model: Any = base
        if adapters:
            from peft import PeftModel

            first, *rest = adapters.items()
            self.model = PeftModel.from_pretrained(base, first[1], adapter_name=self._peft_names[first[0]])
            for system, path in rest:
                self.model.load_adapter(path, adapter_name=self._peft_names[system])
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
        budget = self.config.hf.max_batch_tokens
        batches = token_budget_batches([len(x) for x in ids], budget) if budget else [list(range(len(ids)))]
        for batch in batches:
            outs = self._generate_batch([ids[i] for i in batch], system)
            for i, c in zip(batch, outs, strict=True):
                results[i] = c
            on_done(len(batch), sum(c.n_tokens for c in outs))
        return [c for c in results if c is not None]

    def _generate_batch(self, ids: list[list[int]], system: str | None) -> list[Completion]:
        import torch

        cfg = self.config
        batch = self.tokenizer.pad({"input_ids": ids}, return_tensors="pt")
        input_ids = batch["input_ids"].to(self.device)
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
            out = self.model.generate(
                input_ids=input_ids, attention_mask=batch["attention_mask"].to(self.device), **kwargs
            )
        results = []
        for row in out[:, input_ids.shape[1] :].tolist():
            n = next((i + 1 for i, t in enumerate(row) if t in self.eos), len(row))
            text = self.tokenizer.decode(row[:n], skip_special_tokens=True)
            results.append(Completion(truncate_at_stop(text, cfg.stop), n))
        return results

    def close(self) -> None:
        self.model = None

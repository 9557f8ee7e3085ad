"""Generation: `generate` (cache, resume, rows) over one registered backend.

`generate(model, records, systems, config, cache_path=…)` builds every prompt with the prompt
builder shared with training (`harness.prompts.build_prompt`), looks each one up in the SQLite
cache, hands only the missing prompts to one backend engine that serves every system (adapters
are never merged), commits each finished chunk to the cache, and returns one prediction row per
(system, record) in the form docs/design.md describes. Backends load their libraries only when
used, so importing this module never imports torch, transformers or vllm.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.generation.backends import Engine, get_backend
from harness.generation.config import GenerationConfig
from harness.generation.identity import cache_key
from harness.hashing import sha256_text
from harness.memory import peak_memory, reset_peak_memory
from harness.records import Record


@dataclass
class GenerateResult:
    """Prediction rows per system (in record order), run statistics and warnings."""

    rows: dict[str, list[dict[str, Any]]]
    stats: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    def predictions(self, system: str) -> dict[str, str]:
        """sample_id → generated text for one system (what the scorer takes)."""
        return {r["sample_id"]: r["text"] for r in self.rows[system]}

    def all_rows(self) -> Iterator[dict[str, Any]]:
        for rows in self.rows.values():
            yield from rows


def _chunks(items: list[Any], n: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


def generate(
    model: str,
    records: list[Record],
    systems: dict[str, str | None],
    config: GenerationConfig | None = None,
    *,
    cache_path: Path | None = None,
    progress: bool = True,
) -> GenerateResult:
    """Generate for every (system, record), reusing cached generations; see the module docstring.

    `systems` maps a system name to an adapter (a LoRA folder; for the openai backend a served
    model name or folder) or None for the base model. `cache_path=None` disables the cache.
    """
    from harness.generation.cache import GenerationCache
    from harness.generation.progress import GenerationProgress

    config = config or GenerationConfig()
    if not systems:
        raise HarnessError("no systems to generate for")
    if not records:
        raise HarnessError("no records to generate for")
    started = time.perf_counter()
    adapters = {name: a for name, a in systems.items() if a is not None}
    spec = get_backend(config.backend)
    model_id = spec.model_identity(model, config)
    adapter_ids = {name: spec.adapter_identity(a) for name, a in adapters.items()}
    decoding = config.decoding()
    backend_key = cache_backend(config)

    backend: Engine | None = None
    reset_peak_memory()  # this call's peak (engine, KV cache), not an earlier step's
    cache = GenerationCache(cache_path) if cache_path is not None else None
    stats: dict[str, Any] = {"backend": config.backend, "generated": 0, "cache_hits": 0, "new_tokens": 0}
    warnings: list[str] = [cache.notice] if cache is not None and cache.notice else []
    try:
        backend = spec.engine(model, adapters, config)
        stats["dtype"] = backend.dtype
        prompts = [backend.render(r, config.system_prompt) for r in records]
        keys = {
            name: [
                cache_key(model_id, adapter_ids.get(name), decoding, p, backend_key, backend.dtype)
                for p in prompts
            ]
            for name in systems
        }
        texts: dict[str, list[str | None]] = {}
        for name in systems:
            hits = cache.get_many(keys[name]) if cache is not None else {}
            texts[name] = [hits.get(k) for k in keys[name]]
            stats["cache_hits"] += sum(t is not None for t in texts[name])
        # One generation per distinct missing prompt (records may repeat an input), shortest
        # first: batches pad little (hf) and results arrive early.
        missing: dict[str, list[int]] = {}
        for n, ts in texts.items():
            first: dict[str, int] = {}
            for i, t in enumerate(ts):
                if t is None:
                    first.setdefault(keys[n][i], i)
            missing[n] = sorted(first.values(), key=lambda i: len(prompts[i]))
        total_missing = sum(len(v) for v in missing.values())
        gen_start = time.perf_counter()
        by_system: dict[str, dict[str, Any]] = {}
        with GenerationProgress(total_missing, enabled=progress) as bar:
            for name, idx in missing.items():
                sys_start, sys_load, sys_tokens = (
                    time.perf_counter(),
                    backend.load_seconds,
                    stats["new_tokens"],
                )
                for chunk in _chunks(idx, backend.chunk_size):
                    outs = backend.generate(
                        [prompts[i] for i in chunk], adapter_or_none(name, systems), bar.advance
                    )
                    for i, out in zip(chunk, outs, strict=True):
                        texts[name][i] = out.text
                        stats["new_tokens"] += out.n_tokens
                    if cache is not None:  # commit chunk by chunk: a kill loses at most the chunk in flight
                        cache.put_many(
                            (keys[name][i], out.text, out.n_tokens, config.backend)
                            for i, out in zip(chunk, outs, strict=True)
                        )
                    stats["generated"] += len(chunk)
                # a lazily loaded engine or adapter counts as loading, not generating
                sys_seconds = time.perf_counter() - sys_start - (backend.load_seconds - sys_load)
                sys_new = stats["new_tokens"] - sys_tokens
                by_system[name] = {
                    "generated": len(idx),
                    "new_tokens": sys_new,
                    "seconds": round(sys_seconds, 3),
                    "tokens_per_s": round(sys_new / sys_seconds, 2) if idx and sys_seconds > 0 else 0.0,
                }
                # a prompt repeated within this system's records gets its first occurrence's text
                done = {keys[name][i]: texts[name][i] for i in idx}
                texts[name] = [
                    t if t is not None else done[k] for t, k in zip(texts[name], keys[name], strict=True)
                ]
        gen_seconds = time.perf_counter() - gen_start - backend.load_seconds
        stats["load_seconds"] = round(backend.load_seconds, 3)
        # Adapters served from the cache were checked when they were generated.
        if config.check_adapters and any(missing[n] for n in adapters):
            warnings += _check_adapters(backend, prompts, systems, texts)
    finally:
        if backend is not None:
            backend.close()
        if cache is not None:
            cache.close()
    stats["generate_seconds"] = round(max(gen_seconds, 0.0), 3)
    stats["tokens_per_s"] = round(stats["new_tokens"] / gen_seconds, 2) if gen_seconds > 0 else 0.0
    stats["seconds"] = round(time.perf_counter() - started, 3)
    stats["systems"] = list(systems)
    stats["by_system"] = by_system
    stats.update(peak_memory())
    stats["samples"] = len(records)
    rows = {
        name: [
            {
                "sample_id": rec.sample_id,
                "text": texts[name][i],
                "system": name,
                "model": model,
                "adapter": systems[name],
                "backend": config.backend,
                "dtype": stats["dtype"],
                "decoding": decoding,
                "prompt_sha256": sha256_text(prompts[i]),
            }
            for i, rec in enumerate(records)
        ]
        for name in systems
    }
    return GenerateResult(rows=rows, stats=stats, warnings=warnings)


def cache_backend(config: GenerationConfig) -> str | None:
    """The backend's part of the cache key: None (shared) only for greedy decoding with share_cache.

    Greedy outputs of two correct backends agree (up to numerics); sampled ones never do.
    """
    return None if config.share_cache and config.temperature == 0 else config.backend


def adapter_or_none(name: str, systems: dict[str, str | None]) -> str | None:
    """The system name when it has an adapter (backends key adapters by system name), else None."""
    return name if systems[name] is not None else None


_CHECK_PROMPTS = 8


def _check_adapters(
    backend: Engine,
    prompts: list[str],
    systems: dict[str, str | None],
    texts: dict[str, list[str | None]],
) -> list[str]:
    """Catch the silent failure (an adapter that loads but changes nothing): compare with the base.

    Uses the base system's outputs when one is generated anyway, else generates the base on a
    few prompts. Returns one loud warning per adapter whose outputs all equal the base's.
    """
    n = min(_CHECK_PROMPTS, len(prompts))
    base_name = next((s for s, a in systems.items() if a is None), None)
    if base_name is not None:
        base = texts[base_name][:n]
    else:
        base = [c.text for c in backend.generate(prompts[:n], None, lambda *_: None)]
    warnings = []
    for name, adapter in systems.items():
        if adapter is not None and texts[name][:n] == base:
            warnings.append(
                f"adapter of system {name!r} ({adapter}) changed nothing: its first {n} outputs equal "
                "the base model's. It may not have loaded (wrong target modules, zero weights, or a "
                "backend that ignored it)."
            )
    return warnings

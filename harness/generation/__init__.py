"""Generation backends (hf, vllm, openai) behind one `generate`, with a SQLite cache.

Importing this package loads no backend: torch, transformers and vllm load on first use.
"""

from harness.generation.base import (
    BACKENDS,
    Completion,
    GenerateResult,
    GenerationConfig,
    HFOptions,
    OpenAIOptions,
    VLLMOptions,
    generate,
)

__all__ = [
    "BACKENDS",
    "Completion",
    "GenerateResult",
    "GenerationConfig",
    "HFOptions",
    "OpenAIOptions",
    "VLLMOptions",
    "generate",
]

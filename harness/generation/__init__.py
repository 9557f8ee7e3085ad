"""Generation backends (hf, vllm, openai) behind one `generate`, with a SQLite cache.

Importing this package registers the built-in backends and loads none of their libraries:
torch, transformers, vllm and httpx load on first use.
"""

from harness.generation.backends import BACKENDS, Completion
from harness.generation.base import GenerateResult, generate
from harness.generation.config import GenerationConfig

__all__ = ["BACKENDS", "Completion", "GenerateResult", "GenerationConfig", "generate"]

"""`GenerationConfig`: the backend, the decoding, the batching, the cache policy, and one options
block per registered backend (`hf`, `vllm`, `openai`, … as `harness.generation.backends` has them).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, create_model, field_validator

# The built-in backends; importing each module registers it (and loads none of its libraries).
from harness.generation import hf, openai, vllm  # noqa: F401
from harness.generation.backends import BACKENDS, Options
from harness.modelzoo.identity import Dtype, canonical_dtype


class Settings(Options):
    """The backend-independent settings; GenerationConfig adds each backend's options block."""

    backend: str = Field("hf", description="a registered backend: " + ", ".join(BACKENDS))
    max_new_tokens: int = Field(256, ge=1)
    stop: list[str] = Field(default_factory=list)
    seed: int = 0
    temperature: float = Field(0.0, ge=0, allow_inf_nan=False, description="0 = greedy (the default)")
    top_p: float = Field(1.0, gt=0, le=1, allow_inf_nan=False)
    batch_size: int = Field(
        16, ge=1, description="hf: prompts per generate() call; a cache commit holds 4 batches' worth"
    )
    dtype: Dtype = Field("auto", description="torch's names; fp32, bf16 and fp16 are accepted too")
    system_prompt: str | None = None
    share_cache: bool = Field(False, description="let backends share cached greedy generations")
    check_adapters: bool = Field(True, description="warn when an adapter's outputs equal the base's")

    _dtype = field_validator("dtype", mode="before")(canonical_dtype)

    @field_validator("backend")
    @classmethod
    def _registered(cls, value: str) -> str:
        if value not in BACKENDS:
            raise ValueError(f"unknown backend {value!r}; valid: {', '.join(BACKENDS)}")
        return value

    def decoding(self) -> dict[str, Any]:
        """The decoding parameters: part of every cache key and every prediction row."""
        return {
            "max_new_tokens": self.max_new_tokens,
            "stop": list(self.stop),
            "seed": self.seed,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "greedy": self.temperature == 0,
        }


GenerationConfig = create_model(  # type: ignore[call-overload]
    "GenerationConfig",
    __base__=Settings,
    __module__=__name__,
    __doc__="How to generate: the `Settings`, and one `<backend>: {…}` options block per registered backend.",
    **{name: (b.options, Field(default_factory=b.options)) for name, b in BACKENDS.items()},
)

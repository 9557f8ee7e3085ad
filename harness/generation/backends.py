"""The backend registry: what a generation backend is, and the backends registered so far.

A backend is one module that defines its options (a pydantic model: the block
`generation.<name>` of a suite), its engine class, and its identities, and calls `register`
once at import. `harness.generation.config` imports the built-in backend modules and builds
`GenerationConfig` from this registry, so `--backend`'s choices, the config's `backend` values
and its option blocks all come from here. A backend module imports its heavy libraries (torch,
transformers, vllm, httpx) inside the engine, never at module level: registering loads none.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel, ConfigDict

from harness.errors import HarnessError
from harness.records import Record

if TYPE_CHECKING:
    from harness.generation.config import GenerationConfig


class Options(BaseModel):
    """Base of a backend's options: unknown keys are errors that name the valid ones."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Completion:
    """One finished generation."""

    text: str
    n_tokens: int


class Engine(Protocol):
    """A backend loaded once for one model and every adapter it will serve."""

    chunk_size: int
    load_seconds: float  # time spent loading the engine (lazily, on the first generate call)
    dtype: str | None  # the resolved torch dtype name; None when a server decides (openai)

    def render(self, record: Record, system_prompt: str | None) -> str:
        """The prompt text for one record (the shared prompt builder)."""
        ...

    def generate(
        self, prompts: list[str], system: str | None, on_done: Callable[[int, int], None]
    ) -> list[Completion]:
        """Complete `prompts` for `system` (None = base model); call on_done(prompts, tokens)."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Backend:
    """One registered backend.

    `engine(model, adapters, config)` opens it for a model and its adapters (system → adapter).
    `model_identity(model, config)` and `adapter_identity(adapter)` are what the generation
    cache keys a model and an adapter by: a content hash for a local folder or file, else
    whatever names the same weights on this backend (a hub revision, a served model name).
    """

    name: str
    options: type[Options]
    engine: Callable[[str, dict[str, str], GenerationConfig], Engine]
    model_identity: Callable[[str, GenerationConfig], str]
    adapter_identity: Callable[[str], str]


BACKENDS: dict[str, Backend] = {}


def register(backend: Backend) -> Backend:
    """Add a backend under its name (called once by the backend's own module)."""
    if backend.name in BACKENDS:
        raise HarnessError(f"backend {backend.name!r} is registered twice")
    BACKENDS[backend.name] = backend
    return backend


def get_backend(name: str) -> Backend:
    backend = BACKENDS.get(name)
    if backend is None:
        raise HarnessError(f"unknown backend {name!r} (valid: {', '.join(BACKENDS)})")
    return backend


def truncate_at_stop(text: str, stop: list[str]) -> str:
    """Cut `text` before the first stop string (vLLM's and the OpenAI API's convention)."""
    cut = min((i for s in stop if s and (i := text.find(s)) >= 0), default=-1)
    return text if cut < 0 else text[:cut]

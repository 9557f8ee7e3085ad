"""The OpenAI-compatible backend: any `/v1/completions` or `/v1/chat/completions` server.

This is how harness scales past one machine: `vllm serve MODEL --tensor-parallel-size N
--enable-lora --lora-modules r1=/adapters/r1 …` on a GPU node, then
`harness generate --backend openai --base-url http://node:8000/v1 --adapter r1=r1`.
An adapter here is the served model name (`--lora-modules NAME=PATH` serves NAME); when it is
a local folder, the served name is the system name and the folder's hash keys the cache.

With `api="completions"` (default) the prompt is rendered locally with the model's chat
template (the prompt builder shared with training), so it needs the model's tokenizer from a
local folder: `openai.tokenizer` (`--tokenizer`), else the model when it is a local folder. It
is never fetched from the hub (the server has the model; this machine may be offline). With
`api="chat"` the server applies its own template, no tokenizer is needed, and the prompt we
hash is the JSON of the messages. The server's dtype is unknown here: `dtype` is what the user
declared (`--dtype`, as given to `vllm serve`), else None. Requests run concurrently (bounded by
`openai.concurrency`), each with a timeout, retried with exponential backoff on connection
errors, timeouts, 408/409/429 and 5xx; any other HTTP error fails the run with the server's
message. `openai.return_token_ids` (a vLLM extension) asks for the generated token ids and
decodes them locally exactly as the hf and vllm backends do; other servers return text only.
The key comes from the environment variable `openai.api_key_env` when it is set.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from harness.errors import HarnessError
from harness.generation.backends import Backend, Completion, Options, register, truncate_at_stop
from harness.hashing import sha256_model_dir
from harness.modelzoo.identity import model_identity
from harness.prompts import build_prompt, chat_messages
from harness.records import Record

if TYPE_CHECKING:
    from harness.generation.config import GenerationConfig

_RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}


class OpenAIOptions(Options):
    """OpenAI-compatible server options (`vllm serve`, TGI, a hosted API…)."""

    base_url: str | None = Field(None, description="e.g. http://127.0.0.1:8000/v1")
    api: Literal["completions", "chat"] = "completions"
    api_key_env: str = Field("OPENAI_API_KEY", description="environment variable holding the key")
    served_model: str | None = Field(None, description="the base model's served name (default: --model)")
    concurrency: int = Field(8, ge=1)
    timeout_s: float = Field(120.0, gt=0)
    max_retries: int = Field(4, ge=0)
    backoff_s: float = Field(0.5, ge=0, description="first retry delay; doubles each retry")
    return_token_ids: bool = Field(
        False, description="vLLM servers: fetch token ids and decode locally, as the hf/vllm backends do"
    )
    tokenizer: str | None = Field(
        None,
        description="api=completions: a local folder with the model's tokenizer and chat template "
        "(default: --model when it is a local folder); never fetched from the hub",
    )


class OpenAIBackend:
    """Concurrent requests to one OpenAI-compatible server; adapters are served model names."""

    def __init__(self, model: str, adapters: dict[str, str], config: GenerationConfig):
        opts = config.openai
        if not opts.base_url:
            raise HarnessError("the openai backend needs a server: --base-url http://HOST:PORT/v1")
        self.config = config
        self.base_url = opts.base_url.rstrip("/")
        self.base_model = opts.served_model or model
        # A folder adapter is served under its system name (vllm serve --lora-modules NAME=PATH).
        self.served = {system: system if Path(a).is_dir() else a for system, a in adapters.items()}
        self.chunk_size = max(opts.concurrency * 4, config.batch_size)
        self.load_seconds = 0.0
        self.dtype = None if config.dtype == "auto" else config.dtype
        self.tokenizer: Any = None
        folder = opts.tokenizer or (model if Path(model).is_dir() else None)
        if folder is not None and not Path(folder).is_dir():
            raise HarnessError(f"--tokenizer {folder}: no such folder (give the model's local folder)")
        if opts.api == "completions" and folder is None:
            raise HarnessError(
                f"--api completions renders prompts here with the model's chat template, and {model} is "
                "not a local folder: pass --tokenizer FOLDER (a local copy of the model's tokenizer), "
                "or use --api chat (the server applies its own template)"
            )
        if folder is not None:
            from harness.generation.hf import load_tokenizer

            self.tokenizer = load_tokenizer(folder, local_only=True)

    def render(self, record: Record, system_prompt: str | None) -> str:
        # chat: the server applies its template to these messages, even when a local tokenizer
        # is at hand (it then only decodes); completions: the text, templated here.
        if self.config.openai.api == "chat":
            return json.dumps(chat_messages(record, system_prompt), ensure_ascii=False)
        return build_prompt(self.tokenizer, record, system_prompt)

    def _body(self, prompt: str, served: str) -> dict[str, Any]:
        cfg = self.config
        body: dict[str, Any] = {
            "model": served,
            "max_tokens": cfg.max_new_tokens,
            "temperature": cfg.temperature,
            "top_p": cfg.top_p,
            "seed": cfg.seed,
        }
        if cfg.stop:
            body["stop"] = list(cfg.stop)
        if cfg.openai.return_token_ids:
            body["return_token_ids"] = True
        if cfg.openai.api == "chat":
            body["messages"] = json.loads(prompt)
        else:
            body["prompt"] = prompt
        return body

    async def _one(self, client: Any, sem: asyncio.Semaphore, prompt: str, served: str) -> Completion:
        import httpx

        opts = self.config.openai
        path = "/chat/completions" if opts.api == "chat" else "/completions"
        delay = opts.backoff_s
        for attempt in range(opts.max_retries + 1):
            last = attempt == opts.max_retries
            try:
                async with sem:
                    resp = await client.post(self.base_url + path, json=self._body(prompt, served))
            except (httpx.TransportError, httpx.TimeoutException) as e:
                if last:
                    raise HarnessError(f"{self.base_url}{path}: {type(e).__name__}: {e}") from e
            else:
                if resp.status_code == 200:
                    try:
                        return self._parse(resp.json())
                    except (ValueError, KeyError, IndexError, TypeError) as e:
                        raise HarnessError(
                            f"{self.base_url}{path} answered 200 without a completion "
                            f"({type(e).__name__}: {e}): {resp.text[:300]}"
                        ) from e
                if resp.status_code not in _RETRY_STATUS or last:
                    raise HarnessError(
                        f"{self.base_url}{path} answered {resp.status_code} for model {served!r}: "
                        f"{resp.text[:300]}"
                    )
            await asyncio.sleep(delay * (1 + random.random() / 4))  # jitter: retries don't sync up
            delay *= 2
        raise AssertionError("unreachable")

    def _parse(self, data: dict[str, Any]) -> Completion:
        choice = data["choices"][0]
        text = choice["message"]["content"] if "message" in choice else choice["text"]
        tokens = (data.get("usage") or {}).get("completion_tokens") or 0
        ids = choice.get("token_ids")
        if ids is not None and self.tokenizer is not None:
            # Same decoding as the local backends (see vllm.py): identical tokens, identical text.
            text = self.tokenizer.decode(ids, skip_special_tokens=True)
        return Completion(truncate_at_stop(text or "", self.config.stop), int(tokens))

    async def _run(
        self, prompts: list[str], served: str, on_done: Callable[[int, int], None]
    ) -> list[Completion]:
        import httpx

        opts = self.config.openai
        key = os.environ.get(opts.api_key_env)
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        sem = asyncio.Semaphore(opts.concurrency)
        limits = httpx.Limits(max_connections=opts.concurrency)
        async with httpx.AsyncClient(timeout=opts.timeout_s, headers=headers, limits=limits) as client:

            async def tracked(p: str) -> Completion:
                c = await self._one(client, sem, p, served)
                on_done(1, c.n_tokens)
                return c

            return list(await asyncio.gather(*(tracked(p) for p in prompts)))

    def generate(
        self, prompts: list[str], system: str | None, on_done: Callable[[int, int], None]
    ) -> list[Completion]:
        served = self.served[system] if system is not None else self.base_model
        return asyncio.run(self._run(prompts, served, on_done))

    def close(self) -> None:
        pass


def served_model_identity(model: str, config: GenerationConfig) -> str:
    """A local folder or file by its content; otherwise the server and the name it serves."""
    if Path(model).exists():
        return model_identity(model)
    return f"openai:{config.openai.base_url}|{config.openai.served_model or model}"


def served_adapter_identity(adapter: str) -> str:
    """A LoRA folder's content hash; a served name is its own identity."""
    if Path(adapter).is_dir():
        return "tree:" + sha256_model_dir(adapter)
    return f"served:{adapter}"


register(
    Backend(
        name="openai",
        options=OpenAIOptions,
        engine=OpenAIBackend,
        model_identity=served_model_identity,
        adapter_identity=served_adapter_identity,
    )
)

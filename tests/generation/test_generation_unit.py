"""Fast tests of the generation layer: config, cache keys, the SQLite cache, helpers, CLI errors."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from harness.cli import cli
from harness.commands.generate import output_paths, parse_adapters
from harness.errors import HarnessError
from harness.generation import BACKENDS, GenerationConfig
from harness.generation.backends import truncate_at_stop
from harness.generation.base import cache_backend
from harness.generation.cache import GenerationCache
from harness.generation.identity import cache_key
from harness.suite import format_errors


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"max_tokens": 5},
            "generation.max_tokens: unknown key; valid: backend, max_new_tokens, stop, seed, temperature, "
            "top_p, batch_size, dtype, system_prompt, share_cache, check_adapters, hf, openai, vllm",
        ),
        (
            {"vllm": {"tensor_parallel": 2}},
            "generation.vllm.tensor_parallel: unknown key; valid: tensor_parallel_size, "
            "gpu_memory_utilization, cpu_kvcache_gib, max_model_len, enforce_eager, chunk_size, "
            "trust_remote_code, revision",
        ),
        ({"backend": "tgi"}, "generation.backend: unknown backend 'tgi'; valid: hf, openai, vllm"),
    ],
)
def test_config_rejects_unknown_keys_and_names_the_valid_ones(settings: dict, message: str) -> None:
    """What a suite's `generation:` block says back (suite.format_errors), one line per problem."""
    with pytest.raises(ValidationError) as e:
        GenerationConfig(**settings)
    assert format_errors(e.value, prefix="generation", root=GenerationConfig) == [message]


def test_every_registered_backend_has_its_options_block() -> None:
    config = GenerationConfig()
    for name, backend in BACKENDS.items():
        assert isinstance(getattr(config, name), backend.options)
        assert GenerationConfig(backend=name).backend == name


def test_config_defaults_are_greedy() -> None:
    d = GenerationConfig().decoding()
    assert d["greedy"] is True and d["temperature"] == 0
    assert GenerationConfig(temperature=0.7).decoding()["greedy"] is False


@pytest.mark.parametrize(
    ("text", "stop", "expected"),
    [
        ("头痛：阳性\n\n### next", ["###"], "头痛：阳性\n\n"),
        ("a STOP b END c", ["END", "STOP"], "a "),  # the earliest stop wins, whatever its order
        ("no stop here", ["###"], "no stop here"),
        ("x", [], "x"),
        ("x", [""], "x"),  # an empty stop string never cuts everything
    ],
)
def test_truncate_at_stop(text: str, stop: list[str], expected: str) -> None:
    assert truncate_at_stop(text, stop) == expected


BASE = ("tree:m", None, {"max_new_tokens": 8}, "prompt", "hf")


@pytest.mark.parametrize(
    "changed",
    [
        ("tree:other", None, {"max_new_tokens": 8}, "prompt", "hf"),
        ("tree:m", "tree:a", {"max_new_tokens": 8}, "prompt", "hf"),
        ("tree:m", None, {"max_new_tokens": 9}, "prompt", "hf"),
        ("tree:m", None, {"max_new_tokens": 8}, "prompt ", "hf"),
        ("tree:m", None, {"max_new_tokens": 8}, "prompt", "vllm"),
        ("tree:m", None, {"max_new_tokens": 8}, "prompt", None),
    ],
)
def test_every_part_of_the_key_matters(changed: tuple) -> None:
    assert cache_key(*changed) != cache_key(*BASE)


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        ({}, "vllm"),
        ({"share_cache": True}, None),
        ({"share_cache": True, "temperature": 0.7}, "vllm"),  # sampled outputs are never shared
    ],
)
def test_cache_is_shared_across_backends_only_for_greedy(kw: dict, expected: str | None) -> None:
    assert cache_backend(GenerationConfig(backend="vllm", **kw)) == expected


@pytest.mark.parametrize("backend", ["hf", "vllm", "openai"])
def test_model_identity_hashes_weights_and_config(tmp_path: Path, backend: str) -> None:
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "model.safetensors").write_bytes(b"1")
    (tmp_path / "README.md").write_text("docs do not change outputs")
    cfg = GenerationConfig(backend=backend)
    identity = BACKENDS[backend].model_identity
    first = identity(str(tmp_path), cfg)
    assert first.startswith("tree:")
    (tmp_path / "README.md").write_text("edited")
    assert identity(str(tmp_path), cfg) == first
    (tmp_path / "model.safetensors").write_bytes(b"2")
    second = identity(str(tmp_path), cfg)
    assert second != first
    (tmp_path / "config.json").write_text('{"hidden_size": 8}')
    assert identity(str(tmp_path), cfg) not in {first, second}


@pytest.mark.parametrize(
    ("backend", "options", "model", "expected"),
    [
        ("hf", {}, "Qwen/Qwen2.5-0.5B-Instruct@abc123", "hub:Qwen/Qwen2.5-0.5B-Instruct@abc123"),
        ("hf", {"hf": {"revision": "v1"}}, "org/no-such-model-xyz", "hub:org/no-such-model-xyz@v1"),
        ("vllm", {"vllm": {"revision": "v2"}}, "org/no-such-model-xyz", "hub:org/no-such-model-xyz@v2"),
        ("hf", {}, "org/no-such-model-xyz", "hub:org/no-such-model-xyz@main"),  # not in the HF cache
        ("openai", {"openai": {"base_url": "http://h/v1"}}, "m", "openai:http://h/v1|m"),
        (
            "openai",
            {"openai": {"base_url": "http://h/v1", "served_model": "s"}},
            "org/m",
            "openai:http://h/v1|s",
        ),
    ],
)
def test_model_identity_of_a_name(backend: str, options: dict, model: str, expected: str) -> None:
    cfg = GenerationConfig(backend=backend, **options)
    assert BACKENDS[backend].model_identity(model, cfg) == expected


def test_adapter_identity(tmp_path: Path) -> None:
    (tmp_path / "adapter_config.json").write_text('{"r": 8}')
    for backend in ("hf", "vllm", "openai"):
        assert BACKENDS[backend].adapter_identity(str(tmp_path)).startswith("tree:")
    assert BACKENDS["openai"].adapter_identity("r1-lora") == "served:r1-lora"
    for backend in ("hf", "vllm"):
        with pytest.raises(HarnessError, match="adapter folder not found"):
            BACKENDS[backend].adapter_identity(str(tmp_path / "missing"))


def test_cache_roundtrip_wal_and_second_connection(tmp_path: Path) -> None:
    path = tmp_path / "c" / "gen.sqlite"
    cache = GenerationCache(path)
    assert cache.get_many(["k1"]) == {}
    cache.put_many([("k1", "头痛：阳性", 3, "hf"), ("k2", "", 0, "hf")])
    other = GenerationCache(path)  # a second process sees committed rows at once
    assert other.get_many(["k1", "k2", "k3", "k1"]) == {"k1": "头痛：阳性", "k2": ""}
    assert len(other) == 2
    cache.close()
    other.close()
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_cache_lookup_beyond_sqlite_parameter_limit(tmp_path: Path) -> None:
    cache = GenerationCache(tmp_path / "gen.sqlite")
    cache.put_many((f"k{i}", str(i), 1, "hf") for i in range(1200))
    found = cache.get_many([f"k{i}" for i in range(1300)])
    assert len(found) == 1200 and found["k1199"] == "1199"


def test_max_lora_rank_reads_adapter_configs(tmp_path: Path) -> None:
    from harness.generation.vllm import max_lora_rank

    for name, cfg in {"a": {"r": 8}, "b": {"r": 12}, "c": {"r": 4, "rank_pattern": {"q_proj": 16}}}.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "adapter_config.json").write_text(json.dumps(cfg))
    assert max_lora_rank([str(tmp_path / "a")]) == 8
    assert max_lora_rank([str(tmp_path / "a"), str(tmp_path / "b")]) == 16  # 12 → vLLM's next rank
    assert max_lora_rank([str(tmp_path / "c")]) == 16
    with pytest.raises(HarnessError, match=r"adapter_config\.json"):
        max_lora_rank([str(tmp_path)])


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (("r1=/x/a",), {"r1": "/x/a"}),
        (("/x/round2/",), {"round2": "/x/round2/"}),
        (("a=served-a", "b=/p/b"), {"a": "served-a", "b": "/p/b"}),
    ],
)
def test_parse_adapters(values: tuple[str, ...], expected: dict[str, str]) -> None:
    assert parse_adapters(values) == expected


@pytest.mark.parametrize("values", [("a=x", "a=y"), ("base=x",), ("=x",), ("a=",)])
def test_parse_adapters_rejects(values: tuple[str, ...]) -> None:
    with pytest.raises(HarnessError):
        parse_adapters(values)


def test_output_paths() -> None:
    assert output_paths(Path("o/p.jsonl"), ["base"]) == {"base": Path("o/p.jsonl")}
    assert output_paths(Path("o/p.jsonl"), ["base", "r1"]) == {
        "base": Path("o/p.base.jsonl"),
        "r1": Path("o/p.r1.jsonl"),
    }


def test_importing_generation_loads_no_backend() -> None:
    code = (
        "import sys, harness.generation, harness.commands.generate; "
        "print([m for m in ('torch', 'transformers', 'vllm', 'httpx') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--backend", "openai"], "needs --base-url"),
        (["--adapter", "a=x", "--adapter", "a=y"], "used twice"),
        (["--adapter", "r1=/no/such/adapter"], "adapter folder not found"),
    ],
)
def test_cli_errors_are_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    data = tmp_path / "d.jsonl"
    rec = {"sample_id": "s1", "input": "x", "target": "", "answer_choices": None}
    data.write_text(json.dumps({**rec, "task_type": "attr_cls", "task_dataset": "CHIP-MDCFNPC"}) + "\n")
    result = CliRunner().invoke(
        cli,
        [
            "generate",
            "--model",
            str(tmp_path),
            "--data",
            str(data),
            "--out",
            str(tmp_path / "p.jsonl"),
            *args,
        ],
    )
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("lengths", "batch_size", "budget", "expected"),
    [
        ([10, 3, 12, 15], 16, None, [[0, 1, 2, 3]]),  # one width (16): one batch
        ([10, 16, 3, 40], 16, None, [[0, 2], [1], [3]]),  # 16 tokens need width 32: never padded to 16
        ([1, 2, 3, 4, 5], 2, None, [[0, 1], [2, 3], [4]]),
        ([10, 10, 10, 10], 16, 48, [[0, 1, 2], [3]]),  # 3 rows × width 16 fit 48 tokens
        ([500], 16, 100, [[0]]),  # over budget alone: still one batch of one
        ([], 16, None, []),
    ],
)
def test_plan_batches(
    lengths: list[int], batch_size: int, budget: int | None, expected: list[list[int]]
) -> None:
    from harness.generation.hf import plan_batches

    assert plan_batches(lengths, batch_size, budget) == expected


def test_padded_width_depends_on_the_prompt_alone_and_always_pads() -> None:
    from harness.generation.hf import PAD_MULTIPLE, padded_width

    assert [padded_width(n) for n in (0, 1, PAD_MULTIPLE - 1, PAD_MULTIPLE)] == [
        PAD_MULTIPLE,
        PAD_MULTIPLE,
        PAD_MULTIPLE,
        2 * PAD_MULTIPLE,
    ]


@pytest.mark.parametrize(
    ("given", "stored"), [("bf16", "bfloat16"), ("fp32", "float32"), ("fp16", "float16")]
)
def test_dtype_short_spellings_become_torch_names(given: str, stored: str) -> None:
    from harness.modelzoo.identity import resolve_dtype
    from harness.training.lora import TrainConfig

    assert GenerationConfig(dtype=given).dtype == stored
    assert resolve_dtype(given, "m") == stored
    if stored != "float16":  # training runs in bf16 or fp32 only
        assert TrainConfig(dtype=given).dtype == stored


def _damage(path: Path, how: str) -> None:
    raw = path.read_bytes()
    if how == "truncated":
        path.write_bytes(raw[: len(raw) // 2])
    elif how == "garbage-header":
        path.write_bytes(b"\x00garbage" * 20 + raw[200:])
    elif how == "garbage-pages":
        path.write_bytes(raw[:8192] + b"\xff" * (len(raw) - 8192))


@pytest.mark.parametrize("how", ["truncated", "garbage-header", "garbage-pages"])
def test_damaged_cache_is_moved_aside_and_readable_rows_kept(tmp_path: Path, how: str) -> None:
    path = tmp_path / "gen.sqlite"
    cache = GenerationCache(path)
    keys = [f"{i:064x}" for i in range(3000)]
    cache.put_many((k, "x" * 50, 1, "hf") for k in keys)
    cache.close()
    sqlite3.connect(path).execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
    _damage(path, how)
    again = GenerationCache(path)
    assert again.notice is not None and "damaged" in again.notice
    aside = [p for p in tmp_path.glob("gen.sqlite.damaged-*") if not p.name.endswith(("-wal", "-shm"))]
    assert len(aside) == 1 and str(aside[0]) in again.notice
    kept = again.get_many(keys)
    assert len(kept) < len(keys) and all(v == "x" * 50 for v in kept.values())
    assert f"kept its {len(kept)} readable" in again.notice
    again.put_many([("new", "y", 1, "hf")])  # the fresh cache works
    again.close()


def test_zero_length_cache_file_is_an_empty_cache(tmp_path: Path) -> None:
    path = tmp_path / "gen.sqlite"
    path.write_bytes(b"")
    cache = GenerationCache(path)
    assert cache.notice is None and len(cache) == 0
    cache.close()


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda p: p.mkdir(parents=True), "is a folder"),
        (lambda p: p.parent.write_text("a file, not a folder"), "cannot create"),
    ],
)
def test_cache_that_cannot_be_opened_is_a_clear_error(tmp_path: Path, make, says: str) -> None:
    path = tmp_path / "sub" / "gen.sqlite"
    make(path)
    with pytest.raises(HarnessError, match=says):
        GenerationCache(path)


def test_openai_backend_never_asks_the_hub_for_a_tokenizer(tmp_path: Path) -> None:
    from harness.generation.openai import OpenAIBackend

    chat = GenerationConfig(backend="openai", openai={"base_url": "http://h/v1", "api": "chat"})
    assert OpenAIBackend("org/served-model", {}, chat).tokenizer is None  # the server's template
    completions = GenerationConfig(backend="openai", openai={"base_url": "http://h/v1"})
    with pytest.raises(HarnessError, match="--tokenizer"):
        OpenAIBackend("org/served-model", {}, completions)

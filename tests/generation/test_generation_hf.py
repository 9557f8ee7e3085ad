"""The transformers backend on the tiny model: adapters unmerged, batching, the cache, the guard."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.generation import GenerationConfig, generate
from harness.records import Record

pytestmark = pytest.mark.slow

ROW_KEYS = {
    "sample_id",
    "text",
    "system",
    "model",
    "adapter",
    "backend",
    "dtype",
    "decoding",
    "prompt_sha256",
}


def _cfg(**kw) -> GenerationConfig:
    return GenerationConfig(**{"backend": "hf", "dtype": "float32", "max_new_tokens": 12, **kw})


def test_adapters_change_outputs_and_rerun_is_all_cache_hits(
    tiny_model_dir: Path, gen_records: list[Record], adapters: dict[str, Path], tmp_path: Path
) -> None:
    records = gen_records[:16]
    systems = {"base": None, "a1": str(adapters["a1"]), "a2": str(adapters["a2"])}
    cache = tmp_path / "gen.sqlite"
    first = generate(
        str(tiny_model_dir), records, systems, _cfg(batch_size=8), cache_path=cache, progress=False
    )
    assert first.stats["generated"] == 48 and first.stats["cache_hits"] == 0
    assert first.stats["new_tokens"] > 0 and first.stats["tokens_per_s"] > 0
    per_system = first.stats["by_system"]
    assert set(per_system) == set(systems) and all(s["generated"] == 16 for s in per_system.values())
    assert sum(s["new_tokens"] for s in per_system.values()) == first.stats["new_tokens"]
    assert all(s["tokens_per_s"] > 0 for s in per_system.values()) and first.stats["peak_rss_mib"] > 0
    assert first.warnings == []
    base, a1, a2 = (first.predictions(s) for s in systems)
    assert base != a1 and base != a2 and a1 != a2  # each adapter is really applied
    row = first.rows["a1"][0]
    assert set(row) >= ROW_KEYS
    assert row["adapter"] == str(adapters["a1"]) and row["backend"] == "hf" and row["system"] == "a1"
    assert row["dtype"] == first.stats["dtype"] == "float32"
    assert [r["sample_id"] for r in first.rows["base"]] == [r.sample_id for r in records]

    again = generate(
        str(tiny_model_dir), records, systems, _cfg(batch_size=8), cache_path=cache, progress=False
    )
    assert again.stats["generated"] == 0 and again.stats["cache_hits"] == 48
    assert again.stats["load_seconds"] == 0  # nothing to generate: the model never loads
    assert again.rows == first.rows

    longer = generate(
        str(tiny_model_dir),
        records,
        {"base": None},
        _cfg(max_new_tokens=13),
        cache_path=cache,
        progress=False,
    )
    assert longer.stats["generated"] == 16  # other decoding parameters, other keys


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_greedy_output_does_not_depend_on_batch_mates(
    tiny_model_dir: Path, gen_records: list[Record], adapters: dict[str, Path], dtype: str
) -> None:
    # bfloat16 is where padding to the batch's longest prompt flipped texts (7 of 48 on a tiny model).
    records = gen_records[:24]
    systems = {"base": None, "a1": str(adapters["a1"])}
    cfg = _cfg(dtype=dtype, batch_size=16, check_adapters=False)
    together = generate(str(tiny_model_dir), records, systems, cfg, cache_path=None, progress=False)
    alone = generate(
        str(tiny_model_dir),
        records,
        systems,
        _cfg(dtype=dtype, batch_size=1),
        cache_path=None,
        progress=False,
    )
    mixed = generate(  # other batch mates: every third record, then the rest
        str(tiny_model_dir), records[::3] + records[1::3], systems, cfg, cache_path=None, progress=False
    )
    for system in systems:
        batched, single, other = (r.predictions(system) for r in (together, alone, mixed))
        assert batched == single
        assert {k: batched[k] for k in other} == other


def test_zero_adapter_is_flagged_loudly(
    tiny_model_dir: Path, gen_records: list[Record], adapters: dict[str, Path]
) -> None:
    systems = {"zero": str(adapters["zero"])}
    result = generate(str(tiny_model_dir), gen_records[:8], systems, _cfg(), cache_path=None, progress=False)
    assert len(result.warnings) == 1 and "changed nothing" in result.warnings[0]


def test_stop_strings_cut_the_text(tiny_model_dir: Path, gen_records: list[Record]) -> None:
    records = gen_records[:4]
    plain = generate(str(tiny_model_dir), records, {"base": None}, _cfg(), cache_path=None, progress=False)
    text = plain.rows["base"][0]["text"]
    stop = text[len(text) // 2 :][:2] if len(text) >= 4 else None
    if not stop or not stop.strip():
        pytest.skip("the random model's first output is too short or blank to pick a stop string from")
    cut = generate(
        str(tiny_model_dir), records, {"base": None}, _cfg(stop=[stop]), cache_path=None, progress=False
    )
    assert stop not in cut.rows["base"][0]["text"]
    assert text.startswith(cut.rows["base"][0]["text"])


def test_repeated_inputs_are_generated_once(
    tiny_model_dir: Path, gen_records: list[Record], adapters: dict[str, Path]
) -> None:
    from dataclasses import replace

    a, b = gen_records[:2]
    records = [a, replace(b, sample_id="copy-of-" + a.sample_id, input=a.input), b]
    # two systems: every system's repeats get their text, not only the last system's
    systems = {"base": None, "a1": str(adapters["a1"])}
    result = generate(str(tiny_model_dir), records, systems, _cfg(), cache_path=None, progress=False)
    assert result.stats["generated"] == 4
    for name in systems:
        preds = result.predictions(name)
        assert isinstance(preds["copy-of-" + a.sample_id], str), name
        assert preds[a.sample_id] == preds["copy-of-" + a.sample_id] and len(preds) == 3

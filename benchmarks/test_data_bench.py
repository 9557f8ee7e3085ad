"""Data-layer benchmarks: `pytest benchmarks/test_data_bench.py --benchmark-only`.

Synthetic generation must scale to 1M records in about a minute; the 100k-record run here
extrapolates (set HARNESS_BENCH_SYNTH_N=1000000 for the full size).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.datasets.chip2021 import convert_chip2021
from harness.datasets.inspection import inspect_file
from harness.datasets.synthetic import write_synth

SYNTH_N = int(os.environ.get("HARNESS_BENCH_SYNTH_N", "100000"))
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def test_bench_write_synth(benchmark, tmp_path: Path) -> None:
    out = tmp_path / "synth.jsonl"
    benchmark.pedantic(write_synth, args=(out, SYNTH_N, 0, ("attr_cls",)), rounds=1, iterations=1)
    benchmark.extra_info["records"] = SYNTH_N
    benchmark.extra_info["records_per_s"] = round(SYNTH_N / benchmark.stats.stats.mean)
    assert sum(1 for _ in out.open(encoding="utf-8")) == SYNTH_N


def test_bench_inspect_synth(benchmark, tmp_path: Path) -> None:
    path = write_synth(tmp_path / "s.jsonl", 20_000, 0, ("attr_cls", "imcs_sr", "ner"))
    report = benchmark.pedantic(inspect_file, args=(path,), rounds=1, iterations=1)
    assert report.records == 20_000


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"real data not present at {SHARED}")
@pytest.mark.parametrize("max_chars", [None, 600])
def test_bench_convert_chip2021_real(benchmark, max_chars: int | None) -> None:
    raw = SHARED / "chip2021-mdcfnpc" / "dialogs-val600.jsonl"
    result = benchmark(convert_chip2021, raw, max_chars=max_chars)
    assert result.stats["dialogs"] == 600

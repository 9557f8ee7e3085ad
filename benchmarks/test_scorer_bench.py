"""Scorer throughput: the full protocol vs a plain pure-Python official rule, on the same samples.

Run: pytest benchmarks/test_scorer_bench.py --benchmark-only --benchmark-timer=time.process_time -s
(SCORER_BENCH_N sets the sample count; default 100,000; CPU time is steadier than wall time on a
shared machine.) The full-protocol test prints samples/s of both and the ratio of their
per-sample times (the goal: full protocol ≤ 4× the plain rule).
"""

from __future__ import annotations

import os

import pytest

from harness.records import Record

N = int(os.environ.get("SCORER_BENCH_N", "100000"))


@pytest.fixture(scope="module")
def dataset() -> tuple[list[Record], dict[str, str]]:
    from harness.datasets.synthetic import synth_predictions, synth_records

    records = list(synth_records(N, seed=0))
    return records, synth_predictions(records, seed=1)


def plain_official(records: list[Record], preds: dict[str, str]) -> dict[str, float]:
    """The official rule written plainly (no harness code): the baseline."""
    tp = fp = fn = 0
    for r in records:
        choices = r.answer_choices or []
        sets = []
        for text in (r.target, preds.get(r.sample_id, "")):
            pairs = set()
            for line in text.split("\n")[1:]:
                parts = line.split("：")
                if len(parts) == 2:
                    label = parts[1] if parts[1] in choices else "不标注"
                    pairs.add((parts[0].strip(), label))
            sets.append(pairs)
        both = len(sets[0] & sets[1])
        tp, fp, fn = tp + both, fp + len(sets[1]) - both, fn + len(sets[0]) - both
    p = tp / (tp + fp) if tp else 0.0
    r_ = tp / (tp + fn) if tp else 0.0
    return {"precision": p, "recall": r_, "f1": 2 * p * r_ / (p + r_) if tp else 0.0, "tp": tp}


_TIMES: dict[str, float] = {}


def score_and_collect(records: list[Record], preds: dict[str, str], cfg: object) -> object:
    """score() keeps the cyclic GC off while it runs; the young-generation collection its
    surviving objects cost afterwards is timed here too, so the comparison stays fair."""
    import gc

    from harness.scoring.pipeline import score

    result = score(records, preds, cfg)  # type: ignore[arg-type]
    gc.collect(0)
    return result


@pytest.mark.parametrize("size", ["half", "full"])
def test_plain_official(benchmark, dataset, size: str) -> None:
    records, preds = dataset
    records = records[: N // 2] if size == "half" else records
    out = benchmark.pedantic(plain_official, args=(records, preds), rounds=3, iterations=1)
    _TIMES[f"plain-{size}"] = benchmark.stats.stats.min
    assert out["tp"] > 0


@pytest.mark.parametrize("size", ["half", "full"])
def test_full_protocol(benchmark, dataset, size: str) -> None:
    import jieba

    from harness.scoring.pipeline import ScoringConfig, score

    records, preds = dataset
    records = records[: N // 2] if size == "half" else records
    cfg = ScoringConfig(bootstrap_resamples=1000)
    jieba.initialize()  # a one-time start-up cost (~1 s), not a per-sample one
    score(records[:200], preds, cfg)  # warm imports (sklearn) and the synonym table
    result = benchmark.pedantic(score_and_collect, args=(records, preds, cfg), rounds=3, iterations=1)
    _TIMES[f"full-{size}"] = benchmark.stats.stats.min
    # the same official numbers as the plain rule
    plain = plain_official(records, preds)
    assert result.summary["official"]["tp"] == plain["tp"]
    assert result.summary["official"]["f1"] == pytest.approx(plain["f1"])
    if size == "full" and len(_TIMES) == 4:
        _report()


def _report() -> None:
    t = _TIMES
    half = N - N // 2
    plain_m = (t["plain-full"] - t["plain-half"]) / half
    full_m = (t["full-full"] - t["full-half"]) / half
    print(
        f"\nscorer on {N} samples: plain official {N / t['plain-full']:,.0f} samples/s ({t['plain-full']:.2f}s), "
        f"full protocol {N / t['full-full']:,.0f} samples/s ({t['full-full']:.2f}s), "
        f"ratio of totals {t['full-full'] / t['plain-full']:.2f}x; marginal per sample "
        f"(from {N // 2} to {N}): plain {plain_m * 1e6:.2f}us, full {full_m * 1e6:.2f}us, "
        f"ratio {full_m / plain_m:.2f}x"
    )

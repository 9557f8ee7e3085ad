"""Bootstrap CIs and the paired tests (paired bootstrap, McNemar)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.errors import HarnessError
from harness.records import ATTR_CLS_CHOICES, ATTR_CLS_HEADER, LONG_LABELS, Record
from harness.scoring import metrics as M
from harness.scoring import stats
from harness.scoring.pipeline import ScoringConfig, score
from harness.scoring.stats import bootstrap_ci, mcnemar, paired_bootstrap, resampled_sums

POS, NEG = LONG_LABELS["阳性"], LONG_LABELS["阴性"]


def _records(n: int) -> list[Record]:
    return [
        Record(
            f"s{i}",
            "对话",
            f"{ATTR_CLS_HEADER}\n腹泻：{POS}\n发热：{NEG}",
            list(ATTR_CLS_CHOICES),
            "attr_cls",
            "CHIP-MDCFNPC",
        )
        for i in range(n)
    ]


def test_resampled_sums_equal_index_resampling_in_distribution() -> None:
    rng = np.random.default_rng(1)
    counts = rng.integers(0, 4, size=(300, M.N_COLUMNS))
    grouped = resampled_sums(counts, 4000, seed=0)
    idx = rng.integers(0, 300, size=(4000, 300))
    direct = counts[idx].sum(axis=1)
    # same mean and spread as drawing 300 row indices with replacement
    assert np.allclose(grouped.mean(0), direct.mean(0), rtol=0.02)
    assert np.allclose(grouped.std(0), direct.std(0), rtol=0.1)


def _mixed_counts() -> np.ndarray:
    """Rows that repeat often (drawn by the multinomial) and rarely (by uniform index draws)."""
    rng = np.random.default_rng(5)
    distinct = rng.integers(0, 6, size=(60, M.N_COLUMNS))
    mult = np.concatenate([np.full(10, 40), np.arange(1, 51) % stats._RARE + 1])
    return np.repeat(distinct, mult, axis=0)


@pytest.mark.parametrize("block_cells", [1 << 17, 7])  # one block per level, and many small ones
def test_exact_bootstrap_has_the_multinomial_moments(monkeypatch, block_cells: int) -> None:
    monkeypatch.setattr(stats, "_BLOCK_CELLS", block_cells)
    counts = _mixed_counts().astype(np.float64)
    n = len(counts)
    sums = resampled_sums(counts, 4000, seed=0)
    mean_row = counts.mean(0)
    cov_row = np.cov(counts.T, bias=True)
    # sums of n rows drawn with replacement: mean n·μ, covariance n·Σ
    assert np.allclose(sums.mean(0), n * mean_row, rtol=0.01)
    assert np.allclose(np.cov(sums.T), n * cov_row, rtol=0.12, atol=0.12 * n * cov_row.diagonal().mean())
    assert (sums.sum(1) == sums.sum(1).round()).all()  # whole rows only


def test_group_rows_falls_back_when_hashes_collide(monkeypatch) -> None:
    counts = _mixed_counts()
    rows, mult = stats._group_rows(counts)
    want_rows, want_mult = np.unique(counts, axis=0, return_counts=True)
    order = np.lexsort(rows.T[::-1])
    assert (rows[order] == want_rows).all() and (mult[order] == want_mult).all()
    monkeypatch.setattr(stats, "_ROW_HASH", np.zeros_like(stats._ROW_HASH))  # every row collides
    rows, mult = stats._group_rows(counts)
    assert (rows == want_rows).all() and (mult == want_mult).all()


def test_exact_bootstrap_ignores_the_order_of_samples() -> None:
    counts = _mixed_counts()
    shuffled = counts[np.random.default_rng(9).permutation(len(counts))]
    assert (resampled_sums(counts, 50, seed=3) == resampled_sums(shuffled, 50, seed=3)).all()


def test_bootstrap_is_seeded_and_brackets_the_point() -> None:
    rng = np.random.default_rng(2)
    counts = np.zeros((200, M.N_COLUMNS), dtype=np.int64)
    counts[:, M.OFF_TP] = rng.integers(0, 5, 200)
    counts[:, M.OFF_FP] = rng.integers(0, 2, 200)
    counts[:, M.OFF_FN] = rng.integers(0, 2, 200)
    a = bootstrap_ci(counts, ["official_f1"], resamples=1000, seed=7)
    b = bootstrap_ci(counts, ["official_f1"], resamples=1000, seed=7)
    c = bootstrap_ci(counts, ["official_f1"], resamples=1000, seed=8)
    assert a == b and a != c
    point = float(M.METRICS["official_f1"](counts.sum(0)))
    lo, hi = a["official_f1"]
    assert lo < point < hi
    assert bootstrap_ci(counts, resamples=0) == {}


def test_paired_bootstrap_on_shared_samples() -> None:
    records = _records(40)
    good = {r.sample_id: r.target for r in records}
    bad = {sid: (t if int(sid[1:]) % 2 else f"{ATTR_CLS_HEADER}\n腹泻：{NEG}") for sid, t in good.items()}
    cfg = ScoringConfig(bootstrap_resamples=0)
    a, b = score(records, bad, cfg), score(records[:30], good, cfg)  # b scored fewer samples
    out = paired_bootstrap(a, b, "canonical_f1", resamples=500, seed=0)
    assert out["samples"] == 30
    assert out["diff"] > 0 and out["ci"][0] > 0 and out["p_value"] < 0.05
    same = paired_bootstrap(b, b, "accuracy", resamples=200)
    assert same["diff"] == 0 and same["ci"] == [0.0, 0.0]
    with pytest.raises(HarnessError, match="unknown metric"):
        paired_bootstrap(a, b, "bleu")


@pytest.mark.parametrize(
    ("b01", "b10", "p", "exact"),
    [
        (0, 0, 1.0, True),
        (0, 5, 0.0625, True),  # 2 * 0.5**5
        (3, 3, 1.0, True),
        (1, 10, 2 * sum(math.comb(11, i) for i in range(2)) / 2**11, True),
        (10, 30, math.erfc(math.sqrt((19**2 / 40) / 2)), False),
    ],
)
def test_mcnemar(b01: int, b10: int, p: float, exact: bool) -> None:
    a = [False] * b01 + [True] * b10 + [True] * 7
    b = [True] * b01 + [False] * b10 + [True] * 7
    out = mcnemar(a, b)
    assert (out["b01"], out["b10"], out["exact"]) == (b01, b10, exact)
    assert out["p_value"] == pytest.approx(p)


def test_mcnemar_on_score_results() -> None:
    records = _records(10)
    cfg = ScoringConfig(bootstrap_resamples=0)
    a = score(records, {r.sample_id: r.target for r in records}, cfg)
    b = score(records, {r.sample_id: "" for r in records}, cfg)
    out = mcnemar(a.item_correct, b.item_correct)
    assert (out["b01"], out["b10"]) == (0, 20)
    fewer = score(records[:4], {r.sample_id: "" for r in records[:4]}, cfg)
    paired = mcnemar(a, fewer)  # ScoreResults pair up on their shared samples
    assert (paired["b01"], paired["b10"], paired["n"]) == (0, 8, 8)
    with pytest.raises(HarnessError, match="paired"):
        mcnemar([True], [True, False])

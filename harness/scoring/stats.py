"""Bootstrap confidence intervals and paired tests between two systems on the same samples.

The bootstrap resamples samples (not items) with replacement and recomputes each metric from
resampled column sums of the per-sample count matrix (metrics.COLUMNS). Samples with equal
count rows are grouped first: drawing n samples uniformly is then exactly a multinomial over
the distinct rows, which costs O(resamples × distinct rows) instead of O(resamples × n).

The multinomial is drawn in two exact steps, because numpy's draws one binomial per category
(~100 ns each) and most distinct rows are rare: first over the frequent rows plus one pooled
category per "level" (the rare rows that occur equally often, c times each); then each level's
total is spread over its rows by uniform index draws (~5 ns each, c per row on average). Given
a level's total, its rows' counts are a uniform multinomial: the two steps are the same
distribution as one multinomial.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
from threadpoolctl import threadpool_limits

from harness.errors import HarnessError
from harness.scoring.metrics import METRICS


class HasCounts(Protocol):
    sample_ids: list[str]
    counts: np.ndarray  # (samples, N_COLUMNS)


# Rows that occur at most this often are drawn by uniform index draws within their level.
_RARE = 16
# bincount blocks of at most this many (resample, row) cells stay in the CPU cache
_BLOCK_CELLS = 1 << 17
# resamples × distinct rows from which the bootstrap shows a bar (about 1 s of work)
_BAR_CELLS = 20_000_000
# fixed odd 64-bit multipliers: a row hash that groups equal rows (checked exactly, see _group_rows)
_ROW_HASH = np.random.default_rng(0x5EED).integers(1, 2**63, size=64, dtype=np.uint64) | np.uint64(1)


def _group_rows(ints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of an int matrix and how often each occurs, in an order fixed by content.

    Sorting one 64-bit hash per row is several times faster than a lexsort over every column;
    the grouping is then checked row by row and falls back to the lexsort on a hash collision.
    """
    n, k = ints.shape
    if k <= len(_ROW_HASH):
        with np.errstate(over="ignore"):
            h = (ints.astype(np.uint64) * _ROW_HASH[:k]).sum(axis=1)
        order = np.argsort(h, kind="stable")
        hs = h[order]
        new = np.ones(n, dtype=bool)
        new[1:] = hs[1:] != hs[:-1]
        srt = ints[order]
        starts = np.flatnonzero(new)
        if (srt == srt[starts][np.cumsum(new) - 1]).all():
            return srt[starts], np.diff(np.append(starts, n))
    order = np.lexsort(ints.T[::-1])
    srt = ints[order]
    new = np.ones(n, dtype=bool)
    new[1:] = (srt[1:] != srt[:-1]).any(axis=1)
    starts = np.flatnonzero(new)
    return srt[starts], np.diff(np.append(starts, n))


def _multinomial_sums(
    rows: np.ndarray, mult: np.ndarray, resamples: int, rng: np.random.Generator
) -> np.ndarray:
    """Column sums of `resamples` draws of n = mult.sum() rows, row i with probability mult[i] / n."""
    n = int(mult.sum())
    rare = mult <= _RARE
    levels, level_rows = np.unique(mult[rare], return_counts=True)
    top = rng.multinomial(n, np.concatenate([mult[~rare], levels * level_rows]) / n, size=resamples)
    n_frequent = int((~rare).sum())
    rows = rows.astype(np.float64)  # BLAS matmuls; the sums stay exact integers (far below 2**53)
    sums = top[:, :n_frequent] @ rows[~rare]
    rare_rows, rare_mult = rows[rare], mult[rare]
    from harness.progress import bar

    # the rare rows' draws are the slow part (seconds past ~10^5 distinct rows): a bar of the
    # resample blocks, drawn only when there are many; it never touches the random stream
    blocks = sum(math.ceil(resamples / max(1, _BLOCK_CELLS // int(m))) for m in level_rows)
    with bar("bootstrap", blocks if resamples * len(mult) >= _BAR_CELLS else 0) as advance:
        for li, c in enumerate(levels.tolist()):
            lrows = rare_rows[rare_mult == c]
            m = len(lrows)
            block = max(1, _BLOCK_CELLS // m)
            for r0 in range(0, resamples, block):
                totals = top[r0 : r0 + block, n_frequent + li]
                which = np.repeat(np.arange(len(totals)), totals) * m + rng.integers(
                    0, m, size=int(totals.sum())
                )
                hist = np.bincount(which, minlength=len(totals) * m).reshape(len(totals), m)
                sums[r0 : r0 + block] += hist @ lrows
                advance(1)
    return sums


def resampled_sums(counts: np.ndarray, resamples: int, seed: int) -> np.ndarray:
    """Column sums of `resamples` bootstrap resamples (n rows drawn with replacement) of the n
    rows of `counts`: shape (resamples, k)."""
    ints = np.asarray(counts).astype(np.int64, copy=False)
    n = ints.shape[0]
    rng = np.random.default_rng(seed)
    if n == 0:
        return np.zeros((resamples, ints.shape[1]))
    rows, mult = _group_rows(ints)
    # small matmuls: a second BLAS thread costs more CPU (it spins between calls) than it saves
    with threadpool_limits(1, user_api="blas"):
        return _multinomial_sums(rows, mult, resamples, rng)


def bootstrap_ci(
    counts: np.ndarray,
    metrics: Sequence[str] = tuple(METRICS),
    *,
    resamples: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, list[float]]:
    """Percentile bootstrap intervals {metric: [lo, hi]} for metrics computed from column sums."""
    if resamples <= 0:
        return {}
    sums = resampled_sums(counts, resamples, seed)
    alpha = (1 - level) / 2
    out: dict[str, list[float]] = {}
    for name in metrics:
        values = METRICS[name](sums)
        lo, hi = np.quantile(values, [alpha, 1 - alpha])
        out[name] = [float(lo), float(hi)]
    return out


def _shared(a: HasCounts, b: HasCounts) -> tuple[np.ndarray, np.ndarray, int]:
    pos_b = {sid: i for i, sid in enumerate(b.sample_ids)}
    ia = [i for i, sid in enumerate(a.sample_ids) if sid in pos_b]
    if not ia:
        raise HarnessError("the two systems share no sample ids: nothing to compare")
    ib = [pos_b[a.sample_ids[i]] for i in ia]
    return np.asarray(a.counts)[ia], np.asarray(b.counts)[ib], len(ia)


def paired_bootstrap(
    a: HasCounts,
    b: HasCounts,
    metric: str = "canonical_f1",
    *,
    resamples: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, Any]:
    """Paired bootstrap of metric(b) − metric(a) on the samples both systems scored.

    `a`, `b`: ScoreResults (anything with `.sample_ids` and a `.counts` matrix). Both systems
    are resampled with the same sample indices. Returns {metric, a, b, diff, ci: [lo, hi],
    p_value (two-sided: twice the smaller share of resampled differences on either side of
    0, capped at 1), samples, resamples}.
    """
    if metric not in METRICS:
        raise HarnessError(f"unknown metric {metric!r}; valid: {', '.join(METRICS)}")
    ca, cb, n = _shared(a, b)
    k = ca.shape[1]
    f = METRICS[metric]
    point_a, point_b = float(f(ca.sum(0))), float(f(cb.sum(0)))
    sums = resampled_sums(np.hstack([ca, cb]), resamples, seed)
    diffs = f(sums[:, k:]) - f(sums[:, :k])
    alpha = (1 - level) / 2
    lo, hi = np.quantile(diffs, [alpha, 1 - alpha])
    p = min(1.0, 2 * min(float((diffs <= 0).mean()), float((diffs >= 0).mean())))
    return {
        "metric": metric,
        "a": point_a,
        "b": point_b,
        "diff": point_b - point_a,
        "ci": [float(lo), float(hi)],
        "p_value": p,
        "samples": n,
        "resamples": resamples,
    }


def paired_items(a: Any, b: Any) -> tuple[np.ndarray, np.ndarray]:
    """Per-gold-item correctness of two ScoreResults on the samples both scored, in one order."""
    ca, cb = a.correct_by_sample(), b.correct_by_sample()
    x: list[bool] = []
    y: list[bool] = []
    for sid, items in ca.items():
        other = cb.get(sid)
        if other is None:
            continue
        if len(other) != len(items):
            raise HarnessError(
                f"sample {sid!r} has {len(items)} gold items in one result and {len(other)} in the other"
            )
        x += items
        y += other
    if not x and not any(sid in cb for sid in ca):
        raise HarnessError("the two systems share no sample ids: nothing to compare")
    return np.asarray(x, dtype=bool), np.asarray(y, dtype=bool)


def mcnemar(a_correct: Any, b_correct: Any) -> dict[str, Any]:
    """McNemar's test on paired binary outcomes (same items, same order).

    `a_correct`, `b_correct`: per-item (or per-sample) correctness of systems a and b as bool
    sequences, or two ScoreResults (paired per gold item on their shared samples, see
    `paired_items`). b01 = a wrong and b right,
    b10 = a right and b wrong. Exact two-sided binomial p when b01 + b10 < 25, else the
    chi-square with continuity correction. Returns {b01, b10, n, statistic, p_value, exact}.
    """
    if hasattr(a_correct, "correct_by_sample"):
        x, y = paired_items(a_correct, b_correct)
    else:
        x, y = np.asarray(a_correct, dtype=bool), np.asarray(b_correct, dtype=bool)
    if x.shape != y.shape:
        raise HarnessError(f"mcnemar needs paired outcomes: got {x.shape[0]} and {y.shape[0]} items")
    b01 = int((~x & y).sum())
    b10 = int((x & ~y).sum())
    d = b01 + b10
    if d == 0:
        return {"b01": 0, "b10": 0, "n": int(x.size), "statistic": 0.0, "p_value": 1.0, "exact": True}
    if d < 25:
        k = min(b01, b10)
        tail = sum(math.comb(d, i) for i in range(k + 1)) / 2**d
        return {
            "b01": b01,
            "b10": b10,
            "n": int(x.size),
            "statistic": float(k),
            "p_value": min(1.0, 2 * tail),
            "exact": True,
        }
    stat = (abs(b01 - b10) - 1) ** 2 / d
    p = math.erfc(math.sqrt(stat / 2))  # chi-square, 1 degree of freedom
    return {"b01": b01, "b10": b10, "n": int(x.size), "statistic": float(stat), "p_value": p, "exact": False}

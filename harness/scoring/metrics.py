"""Metrics from per-sample counts: official and canonical micro P/R/F1, and the classification protocol.

Every sample contributes one row of COLUMNS counts; every metric is a function of column
sums, so the bootstrap (stats.py) recomputes any metric on resampled sums, vectorized.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness.scoring.labels import ALL_LABELS, CANONICAL_LABELS

# per-sample count columns
OFF_TP, OFF_FP, OFF_FN = 0, 1, 2
CAN_TP, CAN_FP, CAN_FN = 3, 4, 5
ITEMS, CORRECT = 6, 7
LABEL_BASE = 8  # then tp, fp, fn for each of CANONICAL_LABELS
N_COLUMNS = LABEL_BASE + 3 * len(CANONICAL_LABELS)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    return np.divide(num, den, out=np.zeros(np.broadcast(num, den).shape), where=den > 0)


def f1_from(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    """Micro F1 = 2TP / (2TP + FP + FN); 0 when TP is 0 (as the official rule says)."""
    return _ratio(2 * np.asarray(tp), 2 * np.asarray(tp) + fp + fn)


def prf(tp: int, fp: int, fn: int) -> dict[str, Any]:
    """The official summary block: precision, recall, f1 (all 0 when TP is 0) and the counts."""
    tp, fp, fn = int(tp), int(fp), int(fn)
    p = tp / (tp + fp) if tp else 0.0
    r = tp / (tp + fn) if tp else 0.0
    f = 2 * p * r / (p + r) if tp else 0.0
    return {"precision": p, "recall": r, "f1": f, "tp": int(tp), "fp": int(fp), "fn": int(fn)}


def macro_f1_from(sums: np.ndarray) -> np.ndarray:
    """Macro F1 over the canonical labels present (in gold or predictions) in each row of sums."""
    lab = sums[..., LABEL_BASE:].reshape(*sums.shape[:-1], len(CANONICAL_LABELS), 3)
    tp, fp, fn = lab[..., 0], lab[..., 1], lab[..., 2]
    present = (tp + fp + fn) > 0
    f1 = f1_from(tp, fp, fn)
    return _ratio((f1 * present).sum(axis=-1), present.sum(axis=-1))


def micro_f1_from(sums: np.ndarray) -> np.ndarray:
    lab = sums[..., LABEL_BASE:].reshape(*sums.shape[:-1], len(CANONICAL_LABELS), 3)
    return f1_from(lab[..., 0].sum(-1), lab[..., 1].sum(-1), lab[..., 2].sum(-1))


# metric name -> function of column sums (any leading shape); the CI and paired-test metrics
METRICS = {
    "official_f1": lambda s: f1_from(s[..., OFF_TP], s[..., OFF_FP], s[..., OFF_FN]),
    "official_precision": lambda s: _ratio(s[..., OFF_TP], s[..., OFF_TP] + s[..., OFF_FP]),
    "official_recall": lambda s: _ratio(s[..., OFF_TP], s[..., OFF_TP] + s[..., OFF_FN]),
    "canonical_f1": lambda s: f1_from(s[..., CAN_TP], s[..., CAN_FP], s[..., CAN_FN]),
    "accuracy": lambda s: _ratio(s[..., CORRECT], s[..., ITEMS]),
    "macro_f1": macro_f1_from,
    "micro_f1": micro_f1_from,
}


def classification(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, Any]:
    """The revised protocol on aligned items (label indices into ALL_LABELS; `none` = no prediction)."""
    n_all = len(ALL_LABELS)
    codes = np.asarray(y_true, dtype=np.int64) * n_all + np.asarray(y_pred, dtype=np.int64)
    return classification_from_codes(np.bincount(codes, minlength=n_all * n_all))


def classification_from_codes(
    pair_counts: np.ndarray, labels: tuple[str, ...] = ALL_LABELS
) -> dict[str, Any]:
    """The revised protocol from counts of (true, predicted) label pairs (index true * len(labels) + predicted).

    `labels` ends with `none` (no prediction); attr_cls uses ALL_LABELS, a ner task its types.

    scikit-learn computes it, on the distinct pairs weighted by their counts (the same numbers
    as on every item, in constant time): per-label P/R/F1 over the four canonical labels (a
    `none` prediction is a miss, never a class of its own); macro F1 averages the labels
    present in gold or predictions; the confusion matrix is over the labels plus `none`.
    """
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    names = labels
    n_all, n_lab = len(names), len(names) - 1
    labels, canon = list(range(n_all)), list(range(n_lab))
    nz = np.flatnonzero(pair_counts)
    n = int(pair_counts.sum())
    if n == 0:
        conf = np.zeros((n_all, n_all), dtype=np.int64)
        p = r = f = np.zeros(n_lab)
    else:
        yt, yp, w = nz // n_all, nz % n_all, pair_counts[nz]
        conf = confusion_matrix(yt, yp, labels=labels, sample_weight=w).astype(np.int64)
        p, r, f, _ = precision_recall_fscore_support(yt, yp, labels=canon, sample_weight=w, zero_division=0)
    predicted = conf[:, :n_lab].sum(axis=0)
    support = conf.sum(axis=1)[:n_lab]
    present = (support > 0) | (predicted > 0)
    tp = np.diag(conf)[:n_lab]
    micro_den = 2 * tp.sum() + (predicted - tp).sum() + (support - tp).sum()
    return {
        "accuracy": float(np.trace(conf) / n) if n else 0.0,
        "macro_f1": float(np.asarray(f)[present].mean()) if present.any() else 0.0,
        "micro_f1": float(2 * tp.sum() / micro_den) if micro_den else 0.0,
        "labels": list(names),
        "confusion": conf.tolist(),
        "per_label": {
            name: {
                "precision": float(p[i]),
                "recall": float(r[i]),
                "f1": float(f[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(names[:n_lab])
        },
        "items": n,
    }

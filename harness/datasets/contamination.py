"""Contamination between train, dev and test: shared ids, identical inputs, near-duplicates, wrong tasks.

Near-duplicates are found with MinHash + LSH over character 5-gram shingles (numpy; thousands of
records in about a second), then confirmed with the exact Jaccard similarity of the shingle sets.
Boilerplate lines (the task template, the label options, "答：") repeat across a whole data set
and would make every pair of short inputs look alike, so lines found in many records are left
out of the shingles; the exact-input check still uses the whole input.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from harness.hashing import sha256_text
from harness.records import Record

Severity = Literal["error", "warning"]
_PUNCT_WS = re.compile(r"[\s\W_]+", re.UNICODE)


@dataclass
class Finding:
    """One kind of problem between two splits (or within one), with the samples involved."""

    kind: Literal["id_overlap", "exact_duplicate", "near_duplicate", "task_mismatch"]
    splits: tuple[str, str]
    sample_ids: list[str]  # ids in the second split (the one being evaluated on)
    detail: str
    severity: Severity
    count: int = 0
    pairs: list[tuple[str, str]] = field(default_factory=list)  # (first-split id, second-split id), capped

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["splits"] = list(self.splits)
        d["pairs"] = [list(p) for p in self.pairs]
        return d


def normalize_text(text: str) -> str:
    """NFKC, lower case, no white space or punctuation: what an 'identical input' means."""
    return _PUNCT_WS.sub("", unicodedata.normalize("NFKC", text).lower())


def _severity(a: str, b: str) -> Severity:
    # Test contamination inflates the reported score itself; dev contamination misleads model selection.
    return "error" if "test" in (a, b) else "warning"


def _finding(kind: str, a: str, b: str, pairs: list[tuple[str, str]], what: str) -> Finding:
    ids = sorted({q for _, q in pairs})
    return Finding(
        kind=kind,  # type: ignore[arg-type]
        splits=(a, b),
        sample_ids=ids[:200],
        detail=f"{len(ids)} {b} record(s) {what} {a}",
        severity=_severity(a, b),
        count=len(ids),
        pairs=pairs[:50],
    )


def _boilerplate(records: Sequence[Record]) -> set[str]:
    counts = Counter(line for r in records for line in set(r.input.split("\n")))
    floor = max(3, len(records) // 100)
    return {line for line, n in counts.items() if n >= floor}


def _shingles(text: str, boiler: set[str], n: int) -> set[int]:
    body = normalize_text("\n".join(x for x in text.split("\n") if x not in boiler))
    if len(body) < n:
        return set()
    return {zlib.crc32(body[i : i + n].encode("utf-8")) for i in range(len(body) - n + 1)}


def _minhash(shingle_sets: list[set[int]], perms: int, seed: int):  # -> np.ndarray (docs × perms)
    import numpy as np

    rng = np.random.default_rng(seed)
    prime = np.uint64((1 << 61) - 1)
    a = rng.integers(1, 1 << 31, size=perms, dtype=np.uint64)
    b = rng.integers(0, 1 << 31, size=perms, dtype=np.uint64)
    sig = np.full((len(shingle_sets), perms), np.iinfo(np.uint64).max, dtype=np.uint64)
    for i, s in enumerate(shingle_sets):
        if s:
            x = np.fromiter(s, dtype=np.uint64, count=len(s))[:, None]
            # crc32 < 2^32 and a, b < 2^31, so a*x + b < 2^63: no overflow before the modulus.
            sig[i] = ((a * x + b) % prime).min(axis=0)
    return sig


def near_duplicate_pairs(
    first: Sequence[Record],
    second: Sequence[Record],
    *,
    threshold: float = 0.7,
    ngram: int = 5,
    bands: int = 16,
    rows: int = 4,
    boilerplate: set[str] | None = None,
) -> list[tuple[str, str, float]]:
    """(first id, second id, Jaccard) for input pairs whose shingle Jaccard is ≥ threshold."""
    if not first or not second:
        return []
    boiler = boilerplate if boilerplate is not None else _boilerplate([*first, *second])
    sets = [_shingles(r.input, boiler, ngram) for r in (*first, *second)]
    sig = _minhash(sets, bands * rows, seed=0)
    n1 = len(first)
    buckets: dict[tuple[int, bytes], list[int]] = defaultdict(list)
    for i in range(len(sets)):
        if not sets[i]:
            continue
        for band in range(bands):
            buckets[(band, sig[i, band * rows : (band + 1) * rows].tobytes())].append(i)
    candidates: set[tuple[int, int]] = set()
    for members in buckets.values():
        left = [i for i in members if i < n1]
        right = [j for j in members if j >= n1]
        candidates.update((i, j) for i in left for j in right)
    out = []
    for i, j in sorted(candidates):
        inter = len(sets[i] & sets[j])
        jac = inter / (len(sets[i]) + len(sets[j]) - inter)
        if jac >= threshold:
            out.append((first[i].sample_id, second[j - n1].sample_id, round(jac, 4)))
    return out


def _system_tasks(
    train: Sequence[Record], task_type: str | None, task_dataset: str | None
) -> set[tuple[str, str]]:
    seen = {(r.task_type, r.task_dataset) for r in train}
    if task_type is not None:
        seen = {t for t in seen if t[0] == task_type}
    if task_dataset is not None:
        seen = {t for t in seen if t[1] == task_dataset}
    if not seen and task_type is not None and task_dataset is not None:
        seen = {(task_type, task_dataset)}
    return seen


def detect_contamination(
    train: Sequence[Record],
    dev: Sequence[Record] | None,
    test: Sequence[Record] | None,
    task_type: str | None = None,
    task_dataset: str | None = None,
    *,
    near_threshold: float = 0.7,
) -> list[Finding]:
    """Every overlap between the splits, and dev/test records of another task than the system's.

    The system's task is (task_type, task_dataset) as given, filled in from the training records
    (round 1 trains on many tasks, so each of them counts). A task is the PAIR: IMCS-V2-SR and
    CHIP-MDCFNPC are both `attr_cls` with different labels, which is the study's Round 2 mistake.
    """
    splits = {"train": list(train), "dev": list(dev or []), "test": list(test or [])}
    findings: list[Finding] = []
    everything = [r for recs in splits.values() for r in recs]
    boiler = _boilerplate(everything)
    for a, b in (("train", "dev"), ("train", "test"), ("dev", "test")):
        first, second = splits[a], splits[b]
        if not first or not second:
            continue
        ids_a = {r.sample_id for r in first}
        pairs = [(r.sample_id, r.sample_id) for r in second if r.sample_id in ids_a]
        if pairs:
            findings.append(_finding("id_overlap", a, b, pairs, "share a sample_id with"))
        by_hash: dict[str, str] = {}
        for r in first:
            by_hash.setdefault(sha256_text(normalize_text(r.input)), r.sample_id)
        exact = [
            (by_hash[h], r.sample_id)
            for r in second
            if (h := sha256_text(normalize_text(r.input))) in by_hash
        ]
        if exact:
            findings.append(
                _finding("exact_duplicate", a, b, exact, "have the same normalized input as records in")
            )
        exact_set = set(exact)
        near = [
            (p, q)
            for p, q, _ in near_duplicate_pairs(first, second, threshold=near_threshold, boilerplate=boiler)
            if (p, q) not in exact_set
        ]
        if near:
            findings.append(
                _finding(
                    "near_duplicate",
                    a,
                    b,
                    near,
                    f"are near-duplicates (5-gram Jaccard ≥ {near_threshold}) of",
                )
            )
    tasks = _system_tasks(splits["train"], task_type, task_dataset)
    if tasks:
        wanted = ", ".join(f"{t}/{d}" for t, d in sorted(tasks))
        for b in ("dev", "test"):
            off = [r for r in splits[b] if (r.task_type, r.task_dataset) not in tasks]
            if off:
                kinds = Counter(f"{r.task_type}/{r.task_dataset}" for r in off)
                f = _finding("task_mismatch", "train", b, [("", r.sample_id) for r in off], "")
                f.detail = (
                    f"{f.count} {b} record(s) are of another task "
                    f"({', '.join(f'{k} ×{n}' for k, n in kinds.most_common())}) than the system's ({wanted})"
                )
                f.pairs = []
                findings.append(f)
    return findings

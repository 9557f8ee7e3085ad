"""Aligners: pair each gold entity with at most one predicted entity (exact → synonym → fuzzy).

Items are small tuples (reader.Item: normalized name, canonical key, label, …) so that aligning
100k samples stays a tight loop; fuzzy scores come from rapidfuzz (one `cdist` call per
sample's leftovers) with jieba word-level matching, and are cached across samples.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from operator import itemgetter
from typing import NamedTuple

from harness.scoring.reader import Item

EXACT = "exact"
SYNONYM = "synonym"
FUZZY = "fuzzy"
UNMATCHED = "none"


class Alignment(NamedTuple):
    """`pred_of[g]` = index of the prediction aligned to gold item g, or -1; `how[g]` says how."""

    pred_of: list[int]
    how: list[str]
    score: list[float]
    extra: list[int]  # prediction indices aligned to no gold item


class FuzzyMatcher:
    """Similarity 0–100 of two normalized names: rapidfuzz ratio, or on jieba words when enabled.

    Word level catches reorderings and inserted words (肚子疼 / 肚子很疼, 头晕乏力 / 乏力头晕)
    that a character ratio scores low. It counts only below the threshold, and only for pairs
    whose word score can reach the threshold (`_words_may_reach`): below the threshold a score
    only says "no", so the others keep their character ratio and are never segmented (jieba
    loads a dictionary of about 0.5 s on first use). Scores are cached by pair.
    """

    def __init__(self, threshold: float = 85.0, use_jieba: bool = True) -> None:
        self.threshold = threshold
        self.use_jieba = use_jieba
        self._cache: dict[tuple[str, str], float] = {}
        self._words: dict[str, str] = {}
        self._chars: dict[str, Counter[str]] = {}

    def _segment(self, name: str) -> str:
        w = self._words.get(name)
        if w is None:
            import logging

            import jieba

            jieba.setLogLevel(logging.WARNING)  # its start-up chatter is not ours to print
            w = self._words[name] = " ".join(jieba.lcut(name))
        return w

    def _char_counts(self, name: str) -> Counter[str]:
        c = self._chars.get(name)
        if c is None:
            c = self._chars[name] = Counter(name)
        return c

    def _words_may_reach(self, gold: str, pred: str) -> bool:
        """Whether the word-level score can reach the threshold.

        token_sort_ratio compares the two names' characters, reordered, plus one space between
        words: 200·LCS / (length of both). The LCS is at most the shared characters (as
        multisets) plus the spaces of the name with fewer words, and the bound grows with the
        spaces, so with s = (shorter name's length − 1) spaces each the score is at most
        200·(shared + s) / (|gold| + |pred| + 2s).
        """
        if not gold or not pred:
            return True
        a, b = self._char_counts(gold), self._char_counts(pred)
        if len(a) > len(b):
            a, b = b, a
        shared = sum(min(k, b[c]) for c, k in a.items())
        spaces = min(len(gold), len(pred)) - 1
        # a hair of slack: rapidfuzz's float may round above the exact fraction
        return 200 * (shared + spaces) >= (self.threshold - 1e-9) * (len(gold) + len(pred) + 2 * spaces)

    def _with_words(self, gold: str, pred: str, char_score: float) -> float:
        """The pair's score from its character ratio (the same rule on every path, so a pair
        scores the same whichever path meets it first)."""
        if not self.use_jieba or char_score >= self.threshold or not self._words_may_reach(gold, pred):
            return char_score
        from rapidfuzz import fuzz

        return max(char_score, fuzz.token_sort_ratio(self._segment(gold), self._segment(pred)))

    def score(self, gold: str, pred: str) -> float:
        hit = self._cache.get((gold, pred))
        if hit is None:
            from rapidfuzz import fuzz

            hit = self._cache[(gold, pred)] = self._with_words(gold, pred, fuzz.ratio(gold, pred))
        return hit

    def matrix(self, golds: list[str], preds: list[str]) -> list[list[float]]:
        """Scores of every gold × pred name: one rapidfuzz `cdist` call for big leftovers, cached."""
        if len(golds) * len(preds) <= 16:  # a cdist call costs more than a few direct calls
            return [[self.score(g, p) for p in preds] for g in golds]
        todo_g = sorted({g for g in golds for p in preds if (g, p) not in self._cache})
        if todo_g:
            import numpy as np
            from rapidfuzz import fuzz, process

            todo_p = sorted(set(preds))
            # float64 like the single-pair scorer (cdist defaults to float32)
            scores = process.cdist(todo_g, todo_p, scorer=fuzz.ratio, dtype=np.float64).tolist()
            for g, row in zip(todo_g, scores, strict=True):
                for p, s in zip(todo_p, row, strict=True):
                    self._cache[(g, p)] = self._with_words(g, p, s)
        return [[self._cache[(g, p)] for p in preds] for g in golds]


# (how, key) passes; itemgetter keys (Item fields: norm 0, key 1, label 2) keep the lookups in C
_PASSES = (
    (EXACT, itemgetter(0, 2)),
    (EXACT, itemgetter(0)),
    (SYNONYM, itemgetter(1, 2)),
    (SYNONYM, itemgetter(1)),
)


def align_greedy(gold: list[Item], pred: list[Item], fuzzy: FuzzyMatcher | None) -> Alignment:
    """Exact name first, then the same canonical name, then the best fuzzy score above the threshold.

    Within the exact and synonym steps a gold item first takes a prediction with its own label
    (so a gold entity listed twice with two labels, or a prediction that repeats an entity,
    aligns like the official sets match), then the earliest unused one; fuzzy pairs are taken
    best score first.
    """
    n = len(gold)
    pred_of = [-1] * n
    how = [UNMATCHED] * n
    score = [0.0] * n
    used = [False] * len(pred)
    left = list(range(n))
    passes = _PASSES
    first = _PASSES[0][1]
    # (name, label) -> its first prediction (built backwards, so the first occurrence wins)
    index = dict(zip(map(first, reversed(pred)), range(len(pred) - 1, -1, -1), strict=True))
    if len(index) == len(pred) or len(set(map(first, gold))) == n:
        # distinct (name, label) pairs predicted (the usual case), or distinct ones in gold (so no
        # two gold items compete for one key): the first pass is plain lookups
        left = []
        for i, k in enumerate(map(first, gold)):
            j = index.get(k)
            if j is None or used[j]:
                left.append(i)
            else:
                used[j] = True
                pred_of[i], how[i], score[i] = j, EXACT, 100.0
        passes = _PASSES[1:]
    for name, key in passes:
        if not left or all(used):
            break
        slots: dict[object, list[int]] = {}
        for j, p in enumerate(pred):
            if not used[j]:
                slots.setdefault(key(p), []).append(j)
        still: list[int] = []
        for i in left:
            js = slots.get(key(gold[i]))
            while js and used[js[0]]:
                js.pop(0)
            if js:
                j = js.pop(0)
                used[j] = True
                pred_of[i], how[i], score[i] = j, name, 100.0
            else:
                still.append(i)
        left = still
    rest = [j for j in range(len(pred)) if not used[j]]
    if left and rest and fuzzy is not None:
        m = fuzzy.matrix([gold[i].key for i in left], [pred[j].key for j in rest])
        cands = sorted(
            ((m[a][b], a, b) for a in range(len(left)) for b in range(len(rest))),
            key=lambda t: (-t[0], t[1], t[2]),
        )
        for s, a, b in cands:
            if s < fuzzy.threshold:
                break
            i, j = left[a], rest[b]
            if pred_of[i] == -1 and not used[j]:
                used[j] = True
                pred_of[i], how[i], score[i] = j, FUZZY, s
    return Alignment(pred_of, how, score, [j for j in range(len(pred)) if not used[j]])


def align_exact(gold: list[Item], pred: list[Item], fuzzy: FuzzyMatcher | None) -> Alignment:
    """Exact normalized names only (no synonyms, no fuzzy): the strictest aligner."""
    del fuzzy
    # distinct impossible keys switch the synonym passes off
    return align_greedy([g._replace(key="\0g") for g in gold], [p._replace(key="\0p") for p in pred], None)


def identity(n: int) -> Alignment:
    """The alignment of a prediction whose entities are the gold's, in the same order."""
    return Alignment(list(range(n)), [EXACT] * n, [100.0] * n, [])


Aligner = Callable[[list[Item], list[Item], "FuzzyMatcher | None"], Alignment]
ALIGNERS: dict[str, Aligner] = {"greedy": align_greedy, "exact": align_exact}

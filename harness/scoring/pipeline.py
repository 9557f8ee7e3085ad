"""The pluggable scorer: parsers → canonicalizer → aligner → metrics → taggers → bootstrap CIs.

`score(records, predictions, config)` returns a `ScoreResult`: `.summary` (the DESIGN.md
object), `.traces` (per-sample dicts, built on first access), and the per-sample count matrix
and per-item correctness that the paired tests (stats.py) use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from harness.records import Record
from harness.scoring import metrics as M
from harness.scoring.align import ALIGNERS, Alignment, FuzzyMatcher, Item
from harness.scoring.failures import TAGGERS, SampleView, listed_entities
from harness.scoring.labels import CANONICAL_LABELS, LABEL_INDEX, NONE
from harness.scoring.official import official_pairs
from harness.scoring.parse import PARSERS, Parsed
from harness.scoring.synonyms import SynonymTable, load_synonyms, normalize_entity

CANONICALIZERS: dict[str, Callable[[SynonymTable], Callable[[str], str]]] = {
    "synonyms": lambda table: table.canonical,
    "identity": lambda table: lambda name: name,
}


def _one_of(kind: str, valid: Iterable[str], value: str) -> str:
    valid = list(valid)
    if value not in valid:
        raise ValueError(f"unknown {kind} {value!r}; valid: {', '.join(valid)}")
    return value


class ScoringConfig(BaseModel):
    """A suite's `scoring:` block. Every stage is picked by name from its registry."""

    model_config = ConfigDict(extra="forbid")

    synonyms: list[Path] | None = Field(
        default=None, description="synonym dictionary dirs or files; None = the project's synonyms/"
    )
    fuzzy_threshold: float = Field(default=85.0, ge=0, le=100, description="rapidfuzz score (0-100) to align")
    use_jieba: bool = Field(default=True, description="also compare jieba word sequences when fuzzy matching")
    fuzzy: bool = Field(default=True, description="fuzzy alignment at all (after exact and synonym)")
    parser: str = Field(default="lenient", description="parser for the canonical/classification numbers")
    canonicalizer: str = Field(default="synonyms", description="entity canonicalizer")
    aligner: str = Field(default="greedy", description="gold/prediction aligner")
    taggers: list[str] | None = Field(default=None, description="failure taggers; None = all")
    bootstrap_resamples: int = Field(default=1000, ge=0, description="0 turns the CIs off")
    ci_level: float = Field(default=0.95, gt=0, lt=1)
    ci_metrics: list[str] = Field(
        default_factory=lambda: ["official_f1", "canonical_f1", "accuracy", "macro_f1", "micro_f1"]
    )
    seed: int = 0

    @field_validator("parser")
    @classmethod
    def _parser(cls, v: str) -> str:
        return _one_of("parser", PARSERS, v)

    @field_validator("canonicalizer")
    @classmethod
    def _canon(cls, v: str) -> str:
        return _one_of("canonicalizer", CANONICALIZERS, v)

    @field_validator("aligner")
    @classmethod
    def _aligner(cls, v: str) -> str:
        return _one_of("aligner", ALIGNERS, v)

    @field_validator("taggers")
    @classmethod
    def _taggers(cls, v: list[str] | None) -> list[str] | None:
        return [_one_of("tagger", TAGGERS, t) for t in v] if v is not None else None

    @field_validator("ci_metrics")
    @classmethod
    def _ci_metrics(cls, v: list[str]) -> list[str]:
        return [_one_of("CI metric", M.METRICS, m) for m in v]


def is_scorable(record: Record) -> bool:
    """attr_cls records with answer choices are scored; other tasks are skipped and counted."""
    return record.task_type == "attr_cls" and bool(record.answer_choices)


@dataclass
class _Sample:
    record: Record
    pred_text: str
    gold: Parsed
    pred: Parsed
    gold_items: list[Item]
    pred_items: list[Item]
    alignment: Alignment
    gold_official: set[tuple[str, str]]
    pred_official: set[tuple[str, str]]
    tags: dict[str, list[int]]


@dataclass
class ScoreResult:
    """The scores of one system: summary, per-sample traces and the inputs of the paired tests."""

    summary: dict[str, Any]
    sample_ids: list[str]
    counts: np.ndarray  # (samples, metrics.N_COLUMNS) per-sample counts; see metrics.py
    item_correct: np.ndarray  # bool per gold item (samples in order, items in gold order)
    item_sample: np.ndarray  # sample index of each item
    _samples: list[_Sample] = field(default_factory=list, repr=False)
    _tag_sources: dict[str, str] = field(default_factory=dict, repr=False)

    @cached_property
    def traces(self) -> list[dict[str, Any]]:
        """Per-sample JSON-able traces (built on first access)."""
        return [_trace(s, self.counts[i], self._tag_sources) for i, s in enumerate(self._samples)]

    def correct_by_sample(self) -> dict[str, list[bool]]:
        """sample_id → per-gold-item correctness, for pairing items across two results."""
        out: dict[str, list[bool]] = {sid: [] for sid in self.sample_ids}
        for s, ok in zip(self.item_sample.tolist(), self.item_correct.tolist(), strict=True):
            out[self.sample_ids[s]].append(ok)
        return out


def _pairs_json(pairs: Iterable[tuple[str, str]]) -> list[list[str]]:
    return [list(p) for p in sorted(pairs)]


def _trace(s: _Sample, row: np.ndarray, sources: dict[str, str]) -> dict[str, Any]:
    rec, al = s.record, s.alignment
    rows = []
    for i, g in enumerate(s.gold_items):
        j = al.pred_of[i]
        p = s.pred_items[j] if j >= 0 else None
        rows.append(
            {
                "gold_entity": g.name,
                "gold_label": g.label,
                "pred_entity": p.name if p else None,
                "pred_label": p.label if p else NONE,
                "how": al.how[i],
                "score": al.score[i],
                "correct": bool(p is not None and p.label == g.label),
            }
        )
    for j in al.extra:
        p = s.pred_items[j]
        rows.append(
            {
                "gold_entity": None,
                "gold_label": None,
                "pred_entity": p.name,
                "pred_label": p.label,
                "how": "extra",
                "score": 0.0,
                "correct": False,
            }
        )
    tags = []
    for name, lines in s.tags.items():
        text = s.gold.lines if sources.get(name) == "gold" else s.pred.lines
        tags.append(
            {
                "tag": name,
                "source": sources.get(name, "pred"),
                "lines": [text[i] for i in lines if i < len(text)],
            }
        )
    c = row.astype(int).tolist()
    return {
        "sample_id": rec.sample_id,
        "task_dataset": rec.task_dataset,
        "prediction": s.pred_text,
        "gold_pairs": {
            "official": _pairs_json(s.gold_official),
            "canonical": _pairs_json({(g.key, g.label) for g in s.gold_items}),
        },
        "pred_pairs": {
            "official": _pairs_json(s.pred_official),
            "canonical": _pairs_json({(p.key, p.label) for p in s.pred_items}),
        },
        "alignment": rows,
        "tags": tags,
        "parse": {"gold": s.gold.diagnostics(), "pred": s.pred.diagnostics()},
        "official": {"tp": c[M.OFF_TP], "fp": c[M.OFF_FP], "fn": c[M.OFF_FN]},
        "canonical": {"tp": c[M.CAN_TP], "fp": c[M.CAN_FP], "fn": c[M.CAN_FN]},
        "classification": {"items": c[M.ITEMS], "correct": c[M.CORRECT]},
    }


def _items(parsed: Parsed, name_of: Callable[[str], tuple[str, str]], dedupe: bool) -> list[Item]:
    out: list[Item] = []
    seen: set[tuple[str, str]] = set()
    for p in parsed.pairs:
        norm, key = name_of(p.entity)
        if dedupe:
            if (norm, p.label) in seen:
                continue
            seen.add((norm, p.label))
        out.append(Item(norm, key, p.label, p.line, p.entity))
    return out


def score(
    records: list[Record],
    predictions: dict[str, str],
    config: ScoringConfig | None = None,
) -> ScoreResult:
    """Score `predictions` (sample_id → generated text) against the attr_cls gold `records`.

    Records of other task types are skipped (counted in `summary["skipped"]`); a record with
    no prediction is scored as an empty prediction (counted in `summary["unpredicted"]`).
    Prediction ids without a record are ignored here (`read_predictions` rejects them).
    """
    cfg = config or ScoringConfig()
    table = load_synonyms(cfg.synonyms)
    canon = CANONICALIZERS[cfg.canonicalizer](table)
    parse = PARSERS[cfg.parser]
    align = ALIGNERS[cfg.aligner]
    fuzzy = FuzzyMatcher(cfg.fuzzy_threshold, cfg.use_jieba) if cfg.fuzzy else None
    taggers = [TAGGERS[n] for n in (cfg.taggers if cfg.taggers is not None else TAGGERS)]
    names: dict[str, tuple[str, str]] = {}

    def name_of(raw: str) -> tuple[str, str]:
        hit = names.get(raw)
        if hit is None:
            norm = normalize_entity(raw)
            hit = names[raw] = (norm, canon(norm))
        return hit

    n_labels = len(CANONICAL_LABELS)
    none_idx = LABEL_INDEX[NONE]
    rows: list[list[int]] = []
    y_true: list[int] = []
    y_pred: list[int] = []
    item_sample: list[int] = []
    samples: list[_Sample] = []
    skipped: dict[str, int] = {}
    unpredicted = 0
    tag_counts = {t.name: 0 for t in taggers}
    for rec in records:
        if not is_scorable(rec):
            skipped[rec.task_dataset] = skipped.get(rec.task_dataset, 0) + 1
            continue
        text = predictions.get(rec.sample_id)
        if text is None:
            unpredicted += 1
            text = ""
        choices = rec.answer_choices
        g_off = official_pairs(rec.target, choices)
        p_off = official_pairs(text, choices)
        tp = len(g_off & p_off)
        gold, pred = parse(rec.target, choices), parse(text, choices)
        g_items, p_items = _items(gold, name_of, True), _items(pred, name_of, False)
        al = align(g_items, p_items, fuzzy)
        row = [tp, len(p_off) - tp, len(g_off) - tp, 0, 0, 0, len(g_items), 0] + [0] * (3 * n_labels)
        alias: dict[str, str] = {}
        sid = len(samples)
        for i, g in enumerate(g_items):
            t = LABEL_INDEX[g.label]
            j = al.pred_of[i]
            if j >= 0:
                p = p_items[j]
                alias[p.norm] = g.norm
                pl = LABEL_INDEX[p.label]
            else:
                pl = none_idx
            y_true.append(t)
            y_pred.append(pl)
            item_sample.append(sid)
            if pl == t:
                row[M.CORRECT] += 1
                row[M.LABEL_BASE + 3 * t] += 1
            else:
                row[M.LABEL_BASE + 3 * t + 2] += 1
                if pl != none_idx:
                    row[M.LABEL_BASE + 3 * pl + 1] += 1
        # Synonyms and fuzzy scores decide the alignment; the sets then name every entity by
        # its gold name, so two gold entities that share a canonical name stay two.
        g_set = {(g.norm, g.label) for g in g_items}
        p_set = {(alias.get(p.norm, p.norm), p.label) for p in p_items}
        ctp = len(g_set & p_set)
        row[M.CAN_TP], row[M.CAN_FP], row[M.CAN_FN] = ctp, len(p_set) - ctp, len(g_set) - ctp
        listed = listed_entities(rec.input)
        view = SampleView(
            rec,
            text,
            gold,
            pred,
            g_items,
            p_items,
            al,
            frozenset(name_of(e)[1] for e in listed) if listed else None,
            "" if listed else normalize_entity(rec.input),
        )
        tags: dict[str, list[int]] = {}
        for t in taggers:
            lines = t.fn(view)
            if lines:
                tags[t.name] = lines
                tag_counts[t.name] += 1
        rows.append(row)
        samples.append(_Sample(rec, text, gold, pred, g_items, p_items, al, g_off, p_off, tags))

    counts = np.asarray(rows, dtype=np.int64).reshape(len(rows), M.N_COLUMNS)
    yt, yp = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    totals = counts.sum(axis=0)
    from harness.scoring.stats import bootstrap_ci

    cls = M.classification(yt, yp)
    cls["extra"] = sum(len(s.alignment.extra) for s in samples)
    summary: dict[str, Any] = {
        "official": M.prf(totals[M.OFF_TP], totals[M.OFF_FP], totals[M.OFF_FN]),
        "canonical": M.prf(totals[M.CAN_TP], totals[M.CAN_FP], totals[M.CAN_FN]),
        "classification": cls,
        "failures": tag_counts,
        "samples": len(samples),
        "ci": bootstrap_ci(
            counts, cfg.ci_metrics, resamples=cfg.bootstrap_resamples, seed=cfg.seed, level=cfg.ci_level
        ),
        "skipped": skipped,
        "unpredicted": unpredicted,
        "protocol": {
            "parser": cfg.parser,
            "canonicalizer": cfg.canonicalizer,
            "aligner": cfg.aligner,
            "fuzzy_threshold": cfg.fuzzy_threshold if cfg.fuzzy else None,
            "use_jieba": cfg.use_jieba,
            "synonyms": {"canonicals": len(table), "digest": table.digest},
            "bootstrap_resamples": cfg.bootstrap_resamples,
            "ci_level": cfg.ci_level,
            "seed": cfg.seed,
        },
    }
    return ScoreResult(
        summary=summary,
        sample_ids=[s.record.sample_id for s in samples],
        counts=counts,
        item_correct=yt == yp,
        item_sample=np.asarray(item_sample, dtype=np.int64),
        _samples=samples,
        _tag_sources={t.name: t.source for t in taggers},
    )
